package sigv4

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func fuzzVerifier() *Verifier {
	return &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, ""),
		Service: "chime",
		Now:     fixedClock(time.Date(2026, 11, 22, 21, 35, 0, 0, time.UTC)),
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256\tCredential=,,,=,",
		"AWS4-HMAC-SHA256 Signature=1, Signature=2",
		"Bearer x",
		"",
		"AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;, Signature=",
	} {
		f.Add(s)
	}
	v := fuzzVerifier()
	f.Fuzz(func(t *testing.T, h string) {
		a, e := parseAuthorization(h)
		if e == nil {
			if a.credential == "" || a.signedHeaders == "" || a.signature == "" {
				t.Fatalf("accepted header with an empty parameter: %+v", a)
			}
			if sc, e := parseCredential(a.credential); e == nil && sc.String() == "" {
				t.Fatal("empty scope")
			}
			_ = splitSignedHeaders(a.signedHeaders)
		} else if e.Message == "" || strings.ContainsAny(e.Message, "\n\r") {
			t.Fatalf("bad message %q", e.Message)
		}

		r := &http.Request{
			Method:     http.MethodGet,
			RequestURI: "/",
			URL:        &url.URL{Path: "/"},
			Host:       "example.com",
			Header:     http.Header{"Authorization": {h}, "X-Amz-Date": {"20261122T213500Z"}},
		}
		if _, err := v.VerifyRequest(context.Background(), r, nil); err == nil {
			t.Fatalf("fuzzed header verified: %q", h)
		}
	})
}

func FuzzVerifyPresigned(f *testing.F) {
	f.Add(capturedJSURL[strings.IndexByte(capturedJSURL, '?')+1:])
	f.Add(capturedJSPresign[strings.IndexByte(capturedJSPresign, '?')+1:])
	for _, s := range []string{
		"", "&", "=", "a", "a=b&&c", "%", "%zz=%4", "+=+", "X-Amz-Signature=&X-Amz-Signature=",
		"X-Amz-Expires=99999999999999999999999&X-Amz-Algorithm=AWS4-HMAC-SHA256",
		"X-Amz-Credential=a%2Fb%2Fc%2Fd%2Fe&X-Amz-Date=2026&X-Amz-Signature=x",
	} {
		f.Add(s)
	}
	v := fuzzVerifier()
	f.Fuzz(func(t *testing.T, q string) {
		pairs := splitQuery(q)
		strict := canonicalQueryStrict(pairs, "X-Amz-Signature")
		for i := 0; i < len(strict); i++ {
			if c := strict[i]; !isUnreserved(c) && c != '%' && c != '=' && c != '&' {
				t.Fatalf("strict canonical query has raw %q: %q", c, strict)
			}
		}
		_ = canonicalQueryRaw(pairs, "X-Amz-Signature")
		for _, p := range pairs {
			if got := queryUnescape(awsEncoded(p.key, false)); got != p.key {
				t.Fatalf("encode/decode round trip of %q gave %q", p.key, got)
			}
		}

		r := &http.Request{
			Method:     http.MethodGet,
			RequestURI: "/connect?" + q,
			URL:        &url.URL{Path: "/connect", RawQuery: q},
			Host:       "127.0.0.1:8080",
			Header:     http.Header{},
		}
		_, err := v.VerifyPresigned(context.Background(), r)
		if err == nil && q != capturedJSURL[strings.IndexByte(capturedJSURL, '?')+1:] {
			// Only the captured seed (or a representation of it that
			// canonicalises identically) may verify.
			canonA := canonicalQueryRaw(pairs, "X-Amz-Signature")
			seed := splitQuery(capturedJSURL[strings.IndexByte(capturedJSURL, '?')+1:])
			if canonA != canonicalQueryRaw(seed, "X-Amz-Signature") && strict != canonicalQueryStrict(seed, "X-Amz-Signature") {
				t.Fatalf("fuzzed query verified: %q", q)
			}
		}
	})
}

func benchRequest(b *testing.B) (*http.Request, []byte, *Verifier) {
	b.Helper()
	var c capturedRequest
	for _, r := range loadCaptured(b) {
		if r.Client == "js" && r.Op == "SendChannelMessage" {
			c = r
		}
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(c.wire())))
	if err != nil {
		b.Fatal(err)
	}
	at, _ := parseAmzDate(c.header("X-Amz-Date"))
	v := &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, ""),
		Service: "chime",
		Now:     fixedClock(at),
	}
	return r, []byte(c.Body), v
}

func BenchmarkVerifyRequest(b *testing.B) {
	r, body, v := benchRequest(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyRequest(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresigned(b *testing.B) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + capturedJSURL + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")))
	if err != nil {
		b.Fatal(err)
	}
	v := fuzzVerifier()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyPresigned(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzBeginRequest feeds whole raw requests through the two-phase
// header-signed verification: no panic, and nothing verifies without the
// secret.
func FuzzBeginRequest(f *testing.F) {
	f.Add("POST /channels HTTP/1.1\r\nHost: x\r\nX-Amz-Date: 20261122T213500Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("a", 64)+"\r\nContent-Length: 2\r\n\r\n{}", "{}")
	f.Add("GET / HTTP/1.1\r\nHost: x\r\nx-amz-chime-bearer: a\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n\r\n", "")
	f.Add("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256\r\nDate: Sun, 22 Nov 2026 21:35:00 GMT\r\n\r\n", "x")
	v := fuzzVerifier()
	f.Fuzz(func(t *testing.T, raw, body string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		p, err := v.BeginRequest(context.Background(), r)
		if err != nil {
			return
		}
		if _, err := p.Finish([]byte(body)); err == nil {
			t.Fatalf("fuzzed request verified: %q", raw)
		}
	})
}
