package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAPIFirst: the API's writes skip the mux; GETs, HEADs and Belfry's
// extensions under /_belfry/ go through it.
func TestAPIFirst(t *testing.T) {
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Served-By", name) })
	}
	h := apiFirst{api: tag("api"), mux: tag("mux")}
	tests := []struct{ method, path, want string }{
		{"POST", "/channels/arn%3Aaws%3Achime/messages", "api"},
		{"PUT", "/channels/arn%3Aaws%3Achime", "api"},
		{"DELETE", "/channels/arn%3Aaws%3Achime/memberships/x", "api"},
		{"OPTIONS", "/channels", "api"},
		{"GET", "/channels/arn%3Aaws%3Achime/messages", "mux"},
		{"GET", "/healthz", "mux"},
		{"HEAD", "/metrics", "mux"},
		{"POST", "/_belfry/credentials", "mux"},
		{"OPTIONS", "/_belfry/credentials", "mux"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if got := w.Header().Get("Served-By"); got != tt.want {
			t.Errorf("%s %s went to %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}
