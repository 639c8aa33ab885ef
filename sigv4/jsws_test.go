package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

// capturedJSURL is a websocket URL captured from amazon-chime-sdk-js 3.32.0
// talking to a throw-away server (websocket-protocol.md §1.2 / §7), signed
// with AKIDEXAMPLE and the documentation secret, Endpoint.Url 127.0.0.1:8080.
const capturedJSURL = "/connect?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261122%2Fus-east-1%2Fchime%2Faws4_request&X-Amz-Date=20261122T213458Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amzn-User-Agent=node-NaN&X-Amzn-Version=3.32.0&sessionId=4282501305&userArn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2F0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b%2Fuser%2Falice&X-Amz-Signature=95d5125ef8f233139dd721b76c1e572b156ba62e5380767e0e488d8b4b77811e"

func TestCapturedJSSDKURL(t *testing.T) {
	v := &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, ""),
		Service: "chime",
		Now:     fixedClock(mustTime(t, "20261122T213503Z")),
	}
	r := httptest.NewRequest(http.MethodGet, capturedJSURL, nil)
	r.Host = "127.0.0.1:8080"
	if _, err := v.VerifyPresigned(context.Background(), r); err != nil {
		t.Fatalf("captured SDK URL rejected: %v", err)
	}
	r.Host = "127.0.0.1:8443"
	_, err := v.VerifyPresigned(context.Background(), r)
	wantKind(t, err, InvalidSignature)
}

// jsEncodeURIComponent is JavaScript's encodeURIComponent: it leaves
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone, unlike strict SigV4 encoding.
func jsEncodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jsPresign reimplements DefaultSigV4.signURL + prepareWebSocketUrl from
// amazon-chime-sdk-js independently of the package code: the SDK's own
// X-Amz-* values pre-encoded, caller parameters encodeURIComponent'ed, entries
// sorted by key, joined raw, signed over "GET /connect", host only, empty
// payload hash. It returns the path+query to dial.
func jsPresign(t *testing.T, host, akid, secret, token, region string, at time.Time, extra [][2]string) string {
	t.Helper()
	amzDate := at.UTC().Format("20060102T150405Z")
	day := amzDate[:8]
	credScope := day + "/" + region + "/chime/aws4_request"
	params := map[string]string{
		"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
		"X-Amz-Credential":    jsEncodeURIComponent(akid + "/" + credScope),
		"X-Amz-Date":          amzDate,
		"X-Amz-Expires":       "10",
		"X-Amz-SignedHeaders": "host",
		"X-Amzn-User-Agent":   jsEncodeURIComponent("chrome-104"),
		"X-Amzn-Version":      jsEncodeURIComponent("3.32.0"),
	}
	if token != "" {
		params["X-Amz-Security-Token"] = jsEncodeURIComponent(token)
	}
	for _, kv := range extra {
		params[jsEncodeURIComponent(kv[0])] = jsEncodeURIComponent(kv[1])
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	query := strings.Join(parts, "&")

	emptyHash := sha256.Sum256(nil)
	creq := "GET\n/connect\n" + query + "\nhost:" + strings.ToLower(host) + "\n\nhost\n" + hex.EncodeToString(emptyHash[:])
	creqHash := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credScope + "\n" + hex.EncodeToString(creqHash[:])
	mac := func(k []byte, s string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), "chime"), "aws4_request")
	return "/connect?" + query + "&X-Amz-Signature=" + hex.EncodeToString(mac(key, sts))
}

func TestJSStylePresignedURL(t *testing.T) {
	// Token with the characters encodeURIComponent leaves raw but RFC 3986
	// encodes, as in fake-server-check.mjs.
	const token = "FwoG+ZXIv/YXdz=tok(en)!*'~"
	signedAt := time.Date(2026, 11, 22, 21, 34, 58, 0, time.UTC)
	v := &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, token),
		Service: "chime",
		Regions: []string{"us-east-1"},
		Now:     fixedClock(signedAt.Add(3 * time.Second)),
	}
	srv := newVerifyServer(t, v, true, false)
	host := strings.TrimPrefix(srv.URL, "http://")
	target := jsPresign(t, host, exampleKeyID, exampleSecret, token, "us-east-1", signedAt, [][2]string{
		{"sessionId", "4282501305"},
		{"userArn", userARN},
		{"prefetch-on", "connect"},
		{"prefetch-sort-by", "last-message-timestamp"},
	})

	// The URL must exercise the quirk: strict re-encoding alone would reject it.
	rawQuery := target[strings.IndexByte(target, '?')+1:]
	signedQuery := rawQuery[:strings.Index(rawQuery, "&X-Amz-Signature=")]
	if strict := canonicalQueryStrict(splitQuery(rawQuery), "X-Amz-Signature"); strict == signedQuery {
		t.Fatal("test URL does not exercise the encodeURIComponent quirk")
	}

	get := func(t *testing.T, target string) result {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		res := roundTrip(t, srv, req)
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res
	}

	if res := get(t, target); res.kind != "" || res.id != exampleKeyID {
		t.Fatalf("JS-style URL rejected: %+v", res)
	}

	// Flip every byte of the signed part of the query in turn: nothing may
	// verify. (The signature itself is covered by the hex comparison.)
	start := strings.IndexByte(target, '?') + 1
	end := strings.Index(target, "&X-Amz-Signature=")
	for i := start; i < end; i++ {
		b := []byte(target)
		if b[i] == 'x' {
			b[i] = 'y'
		} else {
			b[i] = 'x'
		}
		res := get(t, string(b))
		if res.kind == "" {
			t.Fatalf("byte %d changed (%q) but the URL still verified", i, string(b))
		}
	}

	// Encoding a character the SDK left raw is a different signed string,
	// even though it decodes to the same value.
	if res := get(t, strings.Replace(target, "(", "%28", 1)); res.kind != InvalidSignature {
		t.Fatalf("re-encoded '(' accepted or wrong kind: %+v", res)
	}
}
