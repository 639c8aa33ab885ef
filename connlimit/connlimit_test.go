package connlimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"direct client, header ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"via proxy", "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"spoofed left part ignored", "10.1.2.3:5000", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
		{"two trusted hops", "192.0.2.1:5000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"malformed hop", "10.1.2.3:5000", "nonsense", "10.1.2.3"},
		{"no header", "10.1.2.3:5000", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ClientAddr(r, trusted); got != netip.MustParseAddr(tt.want) {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("bad prefix accepted")
	}
}

func TestPerClientAndConcurrent(t *testing.T) {
	trusted, _ := ParsePrefixes("10.0.0.0/8")
	release := make(chan struct{})
	var entered sync.WaitGroup
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { entered.Done(); <-release })
	refused := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }
	for name, h := range map[string]http.Handler{
		"per client": PerClient(slow, 2, trusted, refused),
		"concurrent": Concurrent(slow, 2, refused),
	} {
		t.Run(name, func(t *testing.T) {
			release = make(chan struct{})
			req := func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.RemoteAddr = "10.0.0.1:1"
				r.Header.Set("X-Forwarded-For", "198.51.100.7")
				return r
			}
			entered.Add(2)
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); h.ServeHTTP(httptest.NewRecorder(), req()) }()
			}
			entered.Wait()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req())
			if rec.Code != 429 {
				t.Errorf("third request: %d, want 429", rec.Code)
			}
			close(release)
			wg.Wait()
			entered.Add(1)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req())
			if rec.Code != 200 {
				t.Errorf("after release: %d", rec.Code)
			}
		})
	}
}

// FuzzClientAddr: X-Forwarded-For and --trusted-proxies are parsed from
// untrusted or hand-typed text; neither panics, and a peer that is not
// trusted is always the answer.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.0/8,192.0.2.1", "10.1.1.1:1", "198.51.100.1, 10.0.0.2")
	f.Add("::1/128", "[::1]:5", "::ffff:1.2.3.4")
	f.Add("", "1.2.3.4:1", ",,,")
	f.Fuzz(func(t *testing.T, prefixes, peer, xff string) {
		trusted, err := ParsePrefixes(prefixes)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := ClientAddr(r, trusted)
		if ap, err := netip.ParseAddrPort(peer); err == nil && !contains(trusted, ap.Addr().Unmap()) && got != ap.Addr().Unmap() {
			t.Fatalf("untrusted peer %s reported as %s", peer, got)
		}
	})
}
