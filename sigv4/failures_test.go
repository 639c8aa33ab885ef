package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// refSignature is a deliberately plain SigV4 signer over an already
// canonical request, used to build requests the SDKs cannot produce (Date
// header only, odd Authorization spacing).
func refSignature(t *testing.T, secret, amzDate, region, service, canonicalRequest string) string {
	t.Helper()
	mac := func(k []byte, s string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	day := amzDate[:8]
	sum := sha256.Sum256([]byte(canonicalRequest))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + day + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(sum[:])
	key := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), service), "aws4_request")
	return hex.EncodeToString(mac(key, sts))
}

func exampleVerifier(t *testing.T, now string) *Verifier {
	t.Helper()
	return &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, ""),
		Service: "chime",
		Regions: []string{"us-east-1"},
		Now:     fixedClock(mustTime(t, now)),
	}
}

func TestDateHeaderFallback(t *testing.T) {
	const date = "Sun, 30 Aug 2015 12:36:00 GMT"
	creq := "GET\n/\n\ndate:" + date + "\nhost:example.amazonaws.com\n\ndate;host\n" + emptySHA256
	sig := refSignature(t, exampleSecret, "20150830T123600Z", "us-east-1", "chime", creq)
	r := httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/", nil)
	r.Header.Set("Date", date)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/chime/aws4_request,SignedHeaders=date;host,Signature="+sig)
	if _, err := exampleVerifier(t, "20150830T123700Z").VerifyRequest(context.Background(), r, nil); err != nil {
		t.Fatalf("Date-only request rejected: %v", err)
	}
}

func TestHeaderSignedFailures(t *testing.T) {
	const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	tests := []struct {
		name    string
		auth    []string
		headers map[string][]string
		v       func(*Verifier)
		want    Kind
		msg     string
	}{
		{name: "no authorization", want: MissingAuthenticationToken, msg: msgMissingToken},
		{name: "blank authorization", auth: []string{"  "}, want: MissingAuthenticationToken},
		{name: "two authorization headers", auth: []string{goodAuth, goodAuth}, want: IncompleteSignature, msg: "only once"},
		{name: "other scheme", auth: []string{"Bearer abc"}, want: IncompleteSignature, msg: "got 'Bearer'"},
		{name: "sigv2", auth: []string{"AWS AKIDEXAMPLE:c2lnbmF0dXJl"}, want: IncompleteSignature},
		{name: "algorithm only", auth: []string{"AWS4-HMAC-SHA256"}, want: IncompleteSignature},
		{
			name: "all parameters missing", auth: []string{"AWS4-HMAC-SHA256 Foo=bar"}, want: IncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
		},
		{name: "parameter without value", auth: []string{"AWS4-HMAC-SHA256 Credential"}, want: IncompleteSignature, msg: "Name=Value"},
		{name: "duplicate signature", auth: []string{goodAuth + ", Signature=00"}, want: IncompleteSignature, msg: "more than one 'Signature'"},
		{
			name: "credential with four elements",
			auth: []string{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/chime, SignedHeaders=host, Signature=00"},
			want: IncompleteSignature, msg: "Credential must have exactly 5 slash-delimited elements",
		},
		{
			name: "credential with empty element",
			auth: []string{"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/chime/aws4_request, SignedHeaders=host, Signature=00"},
			want: IncompleteSignature,
		},
		{
			name: "wrong terminator",
			auth: []string{strings.Replace(goodAuth, "aws4_request", "aws4_reqest", 1)},
			want: InvalidSignature, msg: "valid terminator",
		},
		{
			name: "scope date differs from X-Amz-Date",
			auth: []string{strings.Replace(goodAuth, "/20150830/", "/20150831/", 1)},
			want: InvalidSignature, msg: "'20150831' != '20150830'",
		},
		{name: "missing date", headers: map[string][]string{"X-Amz-Date": nil}, want: IncompleteSignature, msg: "'X-Amz-Date' or a 'Date'"},
		{name: "malformed X-Amz-Date", headers: map[string][]string{"X-Amz-Date": {"2015-08-30T12:36:00Z"}}, want: IncompleteSignature, msg: "basic format"},
		{name: "two X-Amz-Date headers", headers: map[string][]string{"X-Amz-Date": {"20150830T123600Z", "20150830T123600Z"}}, want: IncompleteSignature},
		{name: "two security tokens", headers: map[string][]string{"X-Amz-Security-Token": {"a", "b"}}, want: IncompleteSignature},
		{name: "empty signed header name", auth: []string{strings.Replace(goodAuth, "host;x-amz-date", "host;;x-amz-date", 1)}, want: IncompleteSignature},
		{name: "host not signed", auth: []string{strings.Replace(goodAuth, "host;x-amz-date", "x-amz-date", 1)}, want: IncompleteSignature, msg: msgHostUnsigned},
		{name: "signature not hex", auth: []string{strings.Replace(goodAuth, "5fa0", "zzzz", 1)}, want: InvalidSignature, msg: msgMismatch},
		{name: "signature truncated", auth: []string{strings.TrimSuffix(goodAuth, "1")}, want: InvalidSignature, msg: msgMismatch},
		{name: "empty Service fails closed", v: func(v *Verifier) { v.Service = "" }, want: InvalidSignature, msg: "correct service"},
		{
			name: "custom skew", v: func(v *Verifier) { v.MaxSkew = 90 * time.Second; v.Now = fixedClock(mustTime(t, "20150830T123731Z")) },
			want: InvalidSignature, msg: "(20150830T123731Z - 1m30s)",
		},
		{name: "unknown key", v: func(v *Verifier) { v.Lookup = staticLookup("AKIDOTHER", exampleSecret, "") }, want: UnrecognizedClient, msg: msgUnknownKey},
		{name: "region list", v: func(v *Verifier) { v.Regions = []string{"eu-west-1"} }, want: InvalidSignature, msg: "not 'us-east-1'"},
		{name: "payload hash header garbage", headers: map[string][]string{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}}, want: InvalidSignature, msg: msgPayloadHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := exampleVerifier(t, "20150830T123600Z")
			// The scope names "chime" so the failures above are not masked by a
			// service mismatch; the signature itself is for service "service"
			// and therefore never matches, which the cases do not rely on.
			if tc.v != nil {
				tc.v(v)
			}
			r := httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/", nil)
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			for k, vals := range tc.headers {
				r.Header.Del(k)
				for _, val := range vals {
					r.Header.Add(k, val)
				}
			}
			for _, a := range tc.auth {
				r.Header.Add("Authorization", a)
			}
			if tc.auth == nil && tc.name != "no authorization" {
				r.Header.Set("Authorization", goodAuth)
			}
			_, err := v.VerifyRequest(context.Background(), r, nil)
			e := wantKind(t, err, tc.want)
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", e.Message, tc.msg)
			}
			if strings.Contains(e.Error(), exampleSecret) {
				t.Fatal("secret leaked")
			}
		})
	}
}

func TestPresignedFailures(t *testing.T) {
	good := map[string]string{
		"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
		"X-Amz-Credential":    "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fchime%2Faws4_request",
		"X-Amz-Date":          "20150830T123600Z",
		"X-Amz-Expires":       "10",
		"X-Amz-SignedHeaders": "host",
		"X-Amz-Signature":     strings.Repeat("0", 64),
	}
	build := func(mod map[string]string) string {
		var parts []string
		for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
			val, ok := good[k]
			if m, has := mod[k]; has {
				val, ok = m, m != "\x00"
			}
			if ok {
				parts = append(parts, k+"="+val)
			}
		}
		return strings.Join(parts, "&")
	}
	tests := []struct {
		name  string
		query string
		now   string
		want  Kind
		msg   string
	}{
		{name: "no query", query: "", want: MissingAuthenticationToken},
		{name: "unrelated query", query: "sessionId=1&userArn=x", want: MissingAuthenticationToken},
		{name: "missing expires", query: build(map[string]string{"X-Amz-Expires": "\x00"}), want: IncompleteSignature, msg: msgPresignParams},
		{name: "missing signature", query: build(map[string]string{"X-Amz-Signature": "\x00"}), want: IncompleteSignature, msg: msgPresignParams},
		{name: "empty credential", query: build(map[string]string{"X-Amz-Credential": ""}), want: IncompleteSignature},
		{name: "other algorithm", query: build(map[string]string{"X-Amz-Algorithm": "AWS4-ECDSA-P256-SHA256"}), want: IncompleteSignature, msg: "only supports"},
		{name: "bad date", query: build(map[string]string{"X-Amz-Date": "20150830"}), want: IncompleteSignature, msg: "ISO8601"},
		{name: "expires zero", query: build(map[string]string{"X-Amz-Expires": "0"}), want: IncompleteSignature},
		{name: "expires over a week", query: build(map[string]string{"X-Amz-Expires": "604801"}), want: IncompleteSignature, msg: "less than a week"},
		{name: "expires negative", query: build(map[string]string{"X-Amz-Expires": "-1"}), want: IncompleteSignature},
		{name: "signed headers without host", query: build(map[string]string{"X-Amz-SignedHeaders": "x-amz-date"}), want: IncompleteSignature, msg: msgHostUnsigned},
		{name: "wrong service", query: build(map[string]string{"X-Amz-Credential": "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"}), want: InvalidSignature, msg: "correct service"},
		{name: "wrong region", query: build(map[string]string{"X-Amz-Credential": "AKIDEXAMPLE%2F20150830%2Fap-east-1%2Fchime%2Faws4_request"}), want: InvalidSignature, msg: "valid region"},
		{
			name: "expired", query: build(nil), now: "20150830T123641Z", want: InvalidSignature,
			msg: "Signature expired: 20150830T123610Z is now earlier than 20150830T123611Z (20150830T123641Z - 30s)",
		},
		{
			name: "not yet current", query: build(nil), now: "20150830T122059Z", want: InvalidSignature,
			msg: "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)",
		},
		{name: "payload hash of a body", query: build(nil) + "&X-Amz-Content-Sha256=" + strings.Repeat("a", 64), want: InvalidSignature, msg: msgPayloadHash},
		{name: "duplicate date", query: build(nil) + "&X-Amz-Date=20150830T123600Z", want: IncompleteSignature, msg: "only once"},
		{name: "encoded duplicate key", query: build(nil) + "&X-Amz-%53ignature=" + strings.Repeat("1", 64), want: IncompleteSignature},
		{name: "unknown key", query: strings.Replace(build(nil), "AKIDEXAMPLE", "AKIDOTHER", 1), want: UnrecognizedClient},
		{name: "zero signature", query: build(nil), want: InvalidSignature, msg: msgMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now == "" {
				now = "20150830T123602Z"
			}
			v := exampleVerifier(t, now)
			target := "/connect"
			if tc.query != "" {
				target += "?" + tc.query
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.Host = "example.amazonaws.com"
			_, err := v.VerifyPresigned(context.Background(), r)
			e := wantKind(t, err, tc.want)
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", e.Message, tc.msg)
			}
		})
	}
}

func TestMessagesDoNotEchoControlCharacters(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=a/b\x01c/d/e, SignedHeaders=host, Signature=00")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	_, err := exampleVerifier(t, "20150830T123600Z").VerifyRequest(context.Background(), r, nil)
	e := wantKind(t, err, IncompleteSignature)
	if strings.ContainsAny(e.Message, "\x01\n\r") {
		t.Fatalf("control characters echoed: %q", e.Message)
	}
	long := strings.Repeat("A", 10000)
	if got := echo(long); len(got) > 200 {
		t.Fatalf("echo not bounded: %d bytes", len(got))
	}
}

func TestCanonicalPathAndQuery(t *testing.T) {
	paths := []struct{ raw, primary, normalized string }{
		{"", "/", ""},
		{"/", "/", ""},
		{"/connect", "/connect", ""},
		{"/channels/arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fa%2Fchannel%2Fx/messages",
			"/channels/arn%253Aaws%253Achime%253Aus-east-1%253A1%253Aapp-instance%252Fa%252Fchannel%252Fx/messages", ""},
		{"/a b/ሴ", "/a%20b/%E1%88%B4", ""},
		{"//example//", "//example//", "/example/"},
		{"/example/..", "/example/..", "/"},
		{"/a/./b/../c", "/a/./b/../c", "/a/c"},
		{"/a+b:c@d", "/a%2Bb%3Ac%40d", ""},
	}
	for _, p := range paths {
		primary, normalized := canonicalPaths(p.raw)
		if primary != p.primary || normalized != p.normalized {
			t.Errorf("canonicalPaths(%q) = %q, %q; want %q, %q", p.raw, primary, normalized, p.primary, p.normalized)
		}
	}
	queries := []struct{ raw, strict, raw2 string }{
		{"", "", ""},
		{"b=2&a=1", "a=1&b=2", "a=1&b=2"},
		{"a=2&a=1&A=3", "A=3&a=1&a=2", "A=3&a=1&a=2"},
		{"k", "k=", "k="},
		{"a=&&b=1&", "a=&b=1", "a=&b=1"},
		{"t=(x)!", "t=%28x%29%21", "t=(x)!"},
		{"s=a+b", "s=a%20b", "s=a+b"},
		{"c=12:00", "c=12%3A00", "c=12:00"},
		{"c=12%3a00", "c=12%3A00", "c=12%3a00"},
		{"bad=%zz%4", "bad=%25zz%254", "bad=%zz%4"},
		{"%E1%88%B4=v&Z=1", "%E1%88%B4=v&Z=1", "%E1%88%B4=v&Z=1"},
	}
	for _, q := range queries {
		pairs := splitQuery(q.raw)
		if got := canonicalQueryStrict(pairs, ""); got != q.strict {
			t.Errorf("strict(%q) = %q, want %q", q.raw, got, q.strict)
		}
		if got := canonicalQueryRaw(pairs, ""); got != q.raw2 {
			t.Errorf("raw(%q) = %q, want %q", q.raw, got, q.raw2)
		}
	}
}

func TestRequestTargetForms(t *testing.T) {
	for _, tc := range []struct{ uri, path, query string }{
		{"/a%2Fb?x=1", "/a%2Fb", "x=1"},
		{"http://host:8080/p?q", "/p", "q"},
		{"http://host:8080", "", ""},
		{"http://host?q=1", "", "q=1"},
	} {
		r := &http.Request{RequestURI: tc.uri}
		p, q := requestTarget(r)
		if p != tc.path || q != tc.query {
			t.Errorf("requestTarget(%q) = %q, %q", tc.uri, p, q)
		}
	}
	// Without RequestURI (requests built in process) the escaped URL is used.
	r := httptest.NewRequest(http.MethodGet, "/c/arn%3Ax%2Fy?z=1", nil)
	r.RequestURI = ""
	if p, q := requestTarget(r); p != "/c/arn%3Ax%2Fy" || q != "z=1" {
		t.Errorf("from URL: %q %q", p, q)
	}
}

func TestKeyCacheBoundedAndConcurrent(t *testing.T) {
	var c keyCache
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keyCacheSize / 2 {
				secret := fmt.Sprintf("s-%d-%d", g, i)
				k := c.get(secret, "20260101", "us-east-1", "chime")
				if want := deriveKey(secret, "20260101", "us-east-1", "chime"); !hmac.Equal(k, want) {
					t.Errorf("wrong key for %s", secret)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n > keyCacheSize {
		t.Fatalf("cache grew to %d entries", n)
	}
	// A cached entry is reused rather than re-derived.
	a := c.get("same", "20260101", "us-east-1", "chime")
	b := c.get("same", "20260101", "us-east-1", "chime")
	if &a[0] != &b[0] {
		t.Fatal("second lookup did not hit the cache")
	}
}

func TestVerifierConcurrentUse(t *testing.T) {
	v := suiteVerifier(t, "")
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range suiteCases {
				if suiteToken(tc.headers) != "" {
					continue
				}
				r, body, err := parseRaw(suiteRequest(tc.requestLine, tc.headers, tc.body, tc.signedHeaders, tc.signature))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.VerifyRequest(context.Background(), r, body); err != nil {
					t.Errorf("%s: %v", tc.name, err)
				}
			}
		}()
	}
	wg.Wait()
}
