package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sdkKeyID  = "AKIAIOSFODNN7EXAMPLE"
	sdkSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	// Real STS tokens are base64, so '/', '+' and '=' must survive both the
	// header and the query path.
	sdkToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def=="

	channelARN = "arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/channel/ch1"
	userARN    = "arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/user/alice"
)

var sdkSignTime = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

// escapeLabel encodes an ARN the way the SDKs put it into a REST path:
// ':' and '/' both percent-encoded, so the ARN is a single path segment.
func escapeLabel(s string) string {
	return awsEncoded(s, false)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// result is what the test server reports back about one verification.
type result struct {
	id   string
	kind Kind
	msg  string
	err  error // transport or non-typed verifier error
}

// newVerifyServer runs v behind a real net/http server so that the request
// the verifier sees is exactly what Go parses off the wire (RequestURI,
// r.Host, header canonicalisation, Content-Length handling).
func newVerifyServer(t *testing.T, v *Verifier, presigned, http2 bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		var err error
		if presigned {
			id, err = v.VerifyPresigned(r.Context(), r)
		} else {
			body, rerr := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if rerr != nil {
				http.Error(w, rerr.Error(), http.StatusBadRequest)
				return
			}
			id, err = v.VerifyRequest(r.Context(), r, body)
		}
		var e *Error
		switch {
		case err == nil:
			w.Write([]byte(id))
		case errors.As(err, &e):
			w.Header().Set("X-Amzn-ErrorType", string(e.Kind))
			w.WriteHeader(e.HTTPStatus())
			w.Write([]byte(e.Message))
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewUnstartedServer(h)
	if http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func roundTrip(t *testing.T, srv *httptest.Server, req *http.Request) result {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return result{id: string(b)}
	case http.StatusForbidden:
		return result{kind: Kind(resp.Header.Get("X-Amzn-ErrorType")), msg: string(b)}
	}
	return result{err: errors.New(resp.Status + ": " + string(b))}
}

type sdkRequest struct {
	method  string
	target  string // path and query as the SDK would put them on the URL
	body    string
	headers map[string]string
	token   string
	// payloadHash overrides sha256(body), e.g. UNSIGNED-PAYLOAD.
	payloadHash string
	service     string
	region      string
	// after runs once the request is signed, to tamper with it or to mimic
	// a client whose wire encoding differs from its canonical form.
	after func(*http.Request)
}

func (sr sdkRequest) build(t *testing.T, baseURL string, secret string) *http.Request {
	t.Helper()
	var body io.Reader
	if sr.body != "" {
		body = strings.NewReader(sr.body)
	}
	req, err := http.NewRequest(sr.method, baseURL+sr.target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range sr.headers {
		req.Header.Set(k, v)
	}
	hash := sr.payloadHash
	if hash == "" {
		hash = sha256Hex([]byte(sr.body))
	}
	service, region := sr.service, sr.region
	if service == "" {
		service = "chime"
	}
	if region == "" {
		region = "us-east-1"
	}
	creds := aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: secret, SessionToken: sr.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, region, sdkSignTime); err != nil {
		t.Fatal(err)
	}
	if sr.after != nil {
		sr.after(req)
	}
	return req
}

func sdkVerifier() *Verifier {
	return &Verifier{
		Lookup: func(_ context.Context, id, tok string) (string, error) {
			if id != sdkKeyID || (tok != "" && tok != sdkToken) {
				return "", ErrUnknownKey
			}
			return sdkSecret, nil
		},
		Service: "chime",
		Regions: []string{"us-east-1", "eu-central-1"},
		Now:     fixedClock(sdkSignTime.Add(2 * time.Second)),
	}
}

var bearer = map[string]string{"X-Amz-Chime-Bearer": userARN, "Content-Type": "application/json"}

// goodSDKRequests are requests shaped like Chime SDK Messaging calls, signed
// by the real aws-sdk-go-v2 signer; all must verify.
var goodSDKRequests = map[string]sdkRequest{
	"list messages with ISO timestamps": {
		method:  http.MethodGet,
		target:  "/channels/" + escapeLabel(channelARN) + "/messages?max-results=50&not-before=2024-05-01T12%3A00%3A00.123Z&sort-order=DESCENDING",
		headers: bearer,
	},
	"send message": {
		method:  http.MethodPost,
		target:  "/channels/" + escapeLabel(channelARN) + "/messages",
		body:    `{"ClientRequestToken":"8f4e0d4a","Content":"héllo wörld","Persistence":"PERSISTENT","Type":"STANDARD"}`,
		headers: bearer,
	},
	"channel flow callback operation query": {
		method: http.MethodPost,
		target: "/channels/" + escapeLabel(channelARN) + "?operation=channel-flow-callback",
		body:   `{"CallbackId":"0123456789abcdef0123456789abcdef","ChannelMessage":{"MessageId":"m1"}}`,
	},
	"message status scope query": {
		method:  http.MethodGet,
		target:  "/channels/" + escapeLabel(channelARN) + "/messages/m-1?scope=message-status",
		headers: bearer,
	},
	"delete membership of an ARN member": {
		method:  http.MethodDelete,
		target:  "/channels/" + escapeLabel(channelARN) + "/memberships/" + escapeLabel(userARN),
		headers: bearer,
	},
	"put with empty body": {
		method:  http.MethodPut,
		target:  "/channels/" + escapeLabel(channelARN) + "/readMarker",
		headers: bearer,
	},
	"session token": {
		method: http.MethodGet,
		target: "/endpoints/messaging-session",
		token:  sdkToken,
	},
	"x-amz-content-sha256 header signed": {
		method:  http.MethodPost,
		target:  "/app-instance-users",
		body:    `{"AppInstanceArn":"arn:aws:chime:us-east-1:111122223333:app-instance/x","Name":"n"}`,
		headers: map[string]string{"X-Amz-Content-Sha256": sha256Hex([]byte(`{"AppInstanceArn":"arn:aws:chime:us-east-1:111122223333:app-instance/x","Name":"n"}`))},
	},
	"unsigned payload": {
		method:      http.MethodPost,
		target:      "/channels",
		body:        `{"Name":"c"}`,
		headers:     map[string]string{"X-Amz-Content-Sha256": unsignedPayload},
		payloadHash: unsignedPayload,
	},
	"header value whitespace collapsed": {
		method:  http.MethodGet,
		target:  "/channels",
		headers: map[string]string{"X-Amz-Chime-Bearer": userARN, "X-Custom-Note": "a   b    c"},
	},
	"other accepted region": {
		method: http.MethodGet,
		target: "/endpoints/messaging-session?network-type=DUAL_STACK",
		region: "eu-central-1",
	},
	// The Go signer rewrites RawQuery into its canonical form; clients in
	// other languages may leave reserved characters raw on the wire. The
	// verifier must canonicalise from the wire form, not trust it.
	"query sent with raw colon": {
		method: http.MethodGet,
		target: "/channels/" + escapeLabel(channelARN) + "/messages?not-before=2024-05-01T12%3A00%3A00.123Z",
		after: func(r *http.Request) {
			r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, "%3A", ":")
		},
	},
	"query sent with plus for space": {
		method: http.MethodGet,
		target: "/channels?name=two%20words",
		after: func(r *http.Request) {
			r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, "%20", "+")
		},
	},
	"query order on the wire differs": {
		method: http.MethodGet,
		target: "/channels?b=2&a=1",
		after: func(r *http.Request) {
			r.URL.RawQuery = "b=2&a=1"
		},
	},
}

func TestGoSDKSignedOverHTTP(t *testing.T) {
	for _, proto := range []string{"http1", "http2"} {
		t.Run(proto, func(t *testing.T) {
			srv := newVerifyServer(t, sdkVerifier(), false, proto == "http2")
			for name, sr := range goodSDKRequests {
				t.Run(name, func(t *testing.T) {
					res := roundTrip(t, srv, sr.build(t, srv.URL, sdkSecret))
					if res.err != nil || res.kind != "" {
						t.Fatalf("rejected: %+v", res)
					}
					if res.id != sdkKeyID {
						t.Fatalf("access key = %q", res.id)
					}
				})
			}
		})
	}
}

// TestGoSDKFailures covers every failure kind on requests that went through
// the real signer and a real server.
func TestGoSDKFailures(t *testing.T) {
	base := sdkRequest{
		method:  http.MethodPost,
		target:  "/channels/" + escapeLabel(channelARN) + "/messages?x=1",
		body:    `{"Content":"hello","Type":"STANDARD"}`,
		headers: bearer,
	}
	with := func(mod func(*sdkRequest)) sdkRequest {
		sr := base
		mod(&sr)
		return sr
	}
	tests := []struct {
		name     string
		req      sdkRequest
		secret   string // signing secret; default sdkSecret
		verifier func(*Verifier)
		want     Kind
		msg      string // substring of the message
	}{
		{
			name: "missing authorization",
			req:  with(func(sr *sdkRequest) { sr.after = func(r *http.Request) { r.Header.Del("Authorization") } }),
			want: MissingAuthenticationToken,
		},
		{
			name: "malformed authorization",
			req: with(func(sr *sdkRequest) {
				sr.after = func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }
			}),
			want: IncompleteSignature,
			msg:  "requires 'Signature'",
		},
		{
			name: "unknown key",
			req:  base,
			verifier: func(v *Verifier) {
				v.Lookup = func(context.Context, string, string) (string, error) {
					return "", errors.Join(errors.New("no row"), ErrUnknownKey)
				}
			},
			want: UnrecognizedClient,
			msg:  msgUnknownKey,
		},
		{
			name: "session token of another credential",
			req:  with(func(sr *sdkRequest) { sr.token = "not-the-token" }),
			want: UnrecognizedClient,
		},
		{
			name:   "wrong secret",
			req:    base,
			secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY",
			want:   InvalidSignature,
			msg:    msgMismatch,
		},
		{
			name: "tampered body same length",
			req: with(func(sr *sdkRequest) {
				sr.after = func(r *http.Request) {
					b := strings.Replace(sr.body, "hello", "HELLO", 1)
					r.Body = io.NopCloser(strings.NewReader(b))
				}
			}),
			want: InvalidSignature,
			msg:  msgMismatch,
		},
		{
			name: "tampered path",
			req: with(func(sr *sdkRequest) {
				sr.after = func(r *http.Request) {
					r.URL.RawPath = strings.Replace(r.URL.RawPath, "ch1", "ch2", 1)
					r.URL.Path = strings.Replace(r.URL.Path, "ch1", "ch2", 1)
				}
			}),
			want: InvalidSignature,
		},
		{
			name: "path decoded on the wire",
			req: with(func(sr *sdkRequest) {
				// Same resource to a naive router, different bytes: the SDK
				// signed the %3A form, so this must not verify.
				sr.after = func(r *http.Request) { r.URL.RawPath = "" }
			}),
			want: InvalidSignature,
		},
		{
			name: "tampered query",
			req:  with(func(sr *sdkRequest) { sr.after = func(r *http.Request) { r.URL.RawQuery = "x=2" } }),
			want: InvalidSignature,
		},
		{
			name: "added query parameter",
			req:  with(func(sr *sdkRequest) { sr.after = func(r *http.Request) { r.URL.RawQuery += "&y=1" } }),
			want: InvalidSignature,
		},
		{
			name: "tampered signed header",
			req: with(func(sr *sdkRequest) {
				sr.after = func(r *http.Request) {
					r.Header.Set("X-Amz-Chime-Bearer", strings.Replace(userARN, "alice", "mallory", 1))
				}
			}),
			want: InvalidSignature,
		},
		{
			name:     "expired",
			req:      base,
			verifier: func(v *Verifier) { v.Now = fixedClock(sdkSignTime.Add(15*time.Minute + time.Second)) },
			want:     InvalidSignature,
			msg:      "Signature expired: 20260101T001000Z is now earlier than 20260101T001001Z (20260101T002501Z - 15 min.)",
		},
		{
			name:     "not yet current",
			req:      base,
			verifier: func(v *Verifier) { v.Now = fixedClock(sdkSignTime.Add(-15*time.Minute - time.Second)) },
			want:     InvalidSignature,
			msg:      "Signature not yet current: 20260101T001000Z is still later than 20260101T000959Z (20251231T235459Z + 15 min.)",
		},
		{
			name: "wrong service",
			req:  with(func(sr *sdkRequest) { sr.service = "s3" }),
			want: InvalidSignature,
			msg:  "Credential should be scoped to correct service: 'chime'.",
		},
		{
			name: "wrong region",
			req:  with(func(sr *sdkRequest) { sr.region = "ap-south-1" }),
			want: InvalidSignature,
			msg:  "Credential should be scoped to a valid region, not 'ap-south-1'.",
		},
		{
			name: "content sha256 header does not match body",
			req: with(func(sr *sdkRequest) {
				sr.headers = map[string]string{"X-Amz-Content-Sha256": sha256Hex([]byte("something else"))}
			}),
			want: InvalidSignature,
			msg:  msgPayloadHash,
		},
		{
			name: "host not signed",
			req: with(func(sr *sdkRequest) {
				sr.after = func(r *http.Request) {
					a := r.Header.Get("Authorization")
					r.Header.Set("Authorization", strings.Replace(a, "host;", "", 1))
				}
			}),
			want: IncompleteSignature,
			msg:  msgHostUnsigned,
		},
		{
			name: "date header removed",
			req:  with(func(sr *sdkRequest) { sr.after = func(r *http.Request) { r.Header.Del("X-Amz-Date") } }),
			want: IncompleteSignature,
			msg:  "requires existence of either a 'X-Amz-Date' or a 'Date' header",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := sdkVerifier()
			if tc.verifier != nil {
				tc.verifier(v)
			}
			srv := newVerifyServer(t, v, false, false)
			secret := tc.secret
			if secret == "" {
				secret = sdkSecret
			}
			res := roundTrip(t, srv, tc.req.build(t, srv.URL, secret))
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.kind != tc.want {
				t.Fatalf("kind = %q (%s), want %q", res.kind, res.msg, tc.want)
			}
			if !strings.Contains(res.msg, tc.msg) {
				t.Fatalf("message %q does not contain %q", res.msg, tc.msg)
			}
			if strings.Contains(res.msg, secret) || strings.Contains(res.msg, "\n") {
				t.Fatalf("message leaks detail: %q", res.msg)
			}
		})
	}
}

func TestLookupInternalErrorIsNotAuthFailure(t *testing.T) {
	boom := errors.New("database is down")
	v := sdkVerifier()
	v.Lookup = func(context.Context, string, string) (string, error) { return "", boom }
	req := goodSDKRequests["send message"].build(t, "http://chime.example.com", sdkSecret)
	body := []byte(goodSDKRequests["send message"].body)
	req.RequestURI = req.URL.RequestURI()
	_, err := v.VerifyRequest(context.Background(), req, body)
	var e *Error
	if errors.As(err, &e) || !errors.Is(err, boom) {
		t.Fatalf("want wrapped internal error, got %v", err)
	}
}

func TestGoSDKPresigned(t *testing.T) {
	presign := func(t *testing.T, baseURL, target, token string, expires string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, baseURL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := req.URL.Query()
		q.Set("X-Amz-Expires", expires)
		req.URL.RawQuery = q.Encode()
		creds := aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: sdkSecret, SessionToken: token}
		uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, "chime", "us-east-1", sdkSignTime)
		if err != nil {
			t.Fatal(err)
		}
		return uri
	}
	target := "/connect?sessionId=4282501305&userArn=" + url.QueryEscape(userARN) + "&prefetch-on=connect"

	tests := []struct {
		name   string
		token  string
		offset time.Duration // verifier clock relative to signing time
		mutate func(string) string
		want   Kind // "" = accept
		msg    string
	}{
		{name: "valid", offset: 2 * time.Second},
		{name: "valid with session token", token: sdkToken, offset: 2 * time.Second},
		// The URL's expiry is enforced with only the short grace, not the
		// clock skew: AWS refuses an expired presigned URL.
		{name: "valid at the end of expiry plus grace", offset: 10*time.Second + DefaultPresignGrace},
		{name: "valid before signing time within skew", offset: -15 * time.Minute},
		{
			name: "expired", offset: 10*time.Second + DefaultPresignGrace + time.Second, want: InvalidSignature,
			msg: "Signature expired: 20260101T001010Z is now earlier than 20260101T001011Z (20260101T001041Z - 30s)",
		},
		{name: "not yet current", offset: -15*time.Minute - time.Second, want: InvalidSignature, msg: "Signature not yet current"},
		{
			name: "tampered userArn", offset: time.Second, want: InvalidSignature, msg: msgMismatch,
			mutate: func(u string) string { return strings.Replace(u, "alice", "alicf", 1) },
		},
		{
			name: "signature dropped", offset: time.Second, want: IncompleteSignature,
			mutate: func(u string) string { return u[:strings.Index(u, "&X-Amz-Signature=")] },
		},
		{
			name: "duplicated credential", offset: time.Second, want: IncompleteSignature,
			mutate: func(u string) string { return u + "&X-Amz-Credential=x" },
		},
		{
			name: "no presign parameters at all", offset: time.Second, want: MissingAuthenticationToken,
			mutate: func(u string) string { return u[:strings.Index(u, "?")] + "?sessionId=1" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := sdkVerifier()
			v.Now = fixedClock(sdkSignTime.Add(tc.offset))
			srv := newVerifyServer(t, v, true, false)
			u := presign(t, srv.URL, target, tc.token, "10")
			if tc.mutate != nil {
				u = tc.mutate(u)
			}
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := roundTrip(t, srv, req)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.kind != tc.want || !strings.Contains(res.msg, tc.msg) {
				t.Fatalf("got kind %q msg %q, want %q / %q", res.kind, res.msg, tc.want, tc.msg)
			}
			if tc.want == "" && res.id != sdkKeyID {
				t.Fatalf("access key = %q", res.id)
			}
		})
	}
}

func TestPresignedExpiresBounds(t *testing.T) {
	for _, tc := range []struct {
		expires string
		ok      bool
	}{
		{"1", true}, {"604800", true}, {"0604800", true},
		{"0", false}, {"604801", false}, {"-10", false}, {"+10", false}, {"1e3", false}, {" 10", false}, {"99999999999999999999", false},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			_, e := parseExpires(tc.expires)
			if (e == nil) != tc.ok {
				t.Fatalf("parseExpires(%q) error = %v, want ok=%v", tc.expires, e, tc.ok)
			}
			if e != nil && e.Kind != IncompleteSignature {
				t.Fatalf("kind %s", e.Kind)
			}
		})
	}
}

func TestHTTPBodyLengthIndependentOfHeader(t *testing.T) {
	// A header-signed request whose Content-Length is signed must verify
	// whether or not the server left Content-Length in r.Header.
	sr := goodSDKRequests["send message"]
	req := sr.build(t, "http://chime.example.com", sdkSecret)
	req.RequestURI = req.URL.RequestURI()
	body := []byte(sr.body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.Header.Del("Content-Length")
	if _, err := sdkVerifier().VerifyRequest(context.Background(), req, body); err != nil {
		t.Fatalf("without header: %v", err)
	}
	req.Header.Set("Content-Length", "37")
	_, err := sdkVerifier().VerifyRequest(context.Background(), req, body)
	wantKind(t, err, InvalidSignature)
}
