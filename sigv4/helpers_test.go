package sigv4

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	exampleKeyID  = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// staticLookup knows one key; when token is non-empty the presented session
// token must match it, mirroring temporary credentials.
func staticLookup(keyID, secret, token string) Lookup {
	return func(_ context.Context, id, tok string) (string, error) {
		if id != keyID || (token != "" && tok != token) {
			return "", ErrUnknownKey
		}
		return secret, nil
	}
}

func fixedClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(amzDateFormat, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return ts
}

// parseRawRequest turns the suite's textual requests into what a Go server
// would hand a handler. It is hand-rolled because several suite requests are
// not valid HTTP/1.1 (raw spaces and UTF-8 in the request target, obsolete
// header folding) and http.ReadRequest rightly refuses them.
func parseRawRequest(t *testing.T, raw string) (*http.Request, []byte) {
	t.Helper()
	r, body, err := parseRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

func parseRaw(raw string) (*http.Request, []byte, error) {
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	first := lines[0]
	sp1 := strings.IndexByte(first, ' ')
	sp2 := strings.LastIndexByte(first, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		return nil, nil, fmt.Errorf("bad request line %q", first)
	}
	method, target := first[:sp1], first[sp1+1:sp2]
	h := http.Header{}
	var last string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			vals := h[last]
			if len(vals) == 0 {
				return nil, nil, fmt.Errorf("continuation without header: %q", l)
			}
			vals[len(vals)-1] += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, nil, fmt.Errorf("bad header line %q", l)
		}
		last = http.CanonicalHeaderKey(strings.TrimSpace(name))
		h.Add(last, strings.TrimSpace(value))
	}
	host := h.Get("Host")
	h.Del("Host")
	path, query, _ := strings.Cut(target, "?")
	r := &http.Request{
		Method:        method,
		RequestURI:    target,
		URL:           &url.URL{Path: path, RawQuery: query},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Host:          host,
		Header:        h,
		ContentLength: int64(len(body)),
	}
	return r, []byte(body), nil
}

// wantKind asserts that err is an *Error of the given kind.
func wantKind(t *testing.T, err error, kind Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s, got non-typed error %v", kind, err)
	}
	if e.Kind != kind {
		t.Fatalf("want %s, got %s: %s", kind, e.Kind, e.Message)
	}
	return e
}
