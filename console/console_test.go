package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix, Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path        string
		status      int
		contentType string
		contains    string
	}{
		{"/console/", 200, "text/html", `src="app.js"`},
		{"/console/app.js", 200, "text/javascript", "x-amz-chime-bearer"}, // the SDK is bundled
		{"/console/style.css", 200, "text/css", "@media"},
		{"/console/nope.js", 404, "", ""},
		{"/console", 200, "text/html", "Belfry console"}, // the mux redirects to /console/
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
		})
	}
}
