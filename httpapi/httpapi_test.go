package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/belfryhq/belfry/chime"
)

const (
	testUser    = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/user/alice"
	testChannel = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/channel/c1"
)

// fakeAPI answers ListAppInstances and CreateAppInstance for real and records
// the input of each call; everything else is Unimplemented.
type fakeAPI struct {
	chime.Unimplemented
	principal    chime.Principal
	hadPrincipal bool
	lastInput    any
	panicOn      string
}

func (f *fakeAPI) ListAppInstances(ctx context.Context, in *chime.ListAppInstancesRequest) (*chime.ListAppInstancesResponse, error) {
	f.lastInput = in
	f.principal, f.hadPrincipal = chime.PrincipalFrom(ctx)
	if f.panicOn == "ListAppInstances" {
		panic("boom")
	}
	return &chime.ListAppInstancesResponse{AppInstances: []chime.AppInstanceSummary{}}, nil
}

func (f *fakeAPI) ListChannelMessages(_ context.Context, in *chime.ListChannelMessagesRequest) (*chime.ListChannelMessagesResponse, error) {
	f.lastInput = in
	return &chime.ListChannelMessagesResponse{ChannelArn: in.ChannelArn}, nil
}

func (f *fakeAPI) DeleteChannel(_ context.Context, in *chime.DeleteChannelRequest) error {
	f.lastInput = in
	return nil
}

// fakeAuth accepts requests whose Authorization header names a known key.
type fakeAuth struct{}

func (fakeAuth) Authenticate(r *http.Request, _ []byte) (chime.Principal, error) {
	switch r.Header.Get("Authorization") {
	case "root":
		return chime.Principal{AccessKeyID: "ROOT"}, nil
	case "alice":
		return chime.Principal{AccessKeyID: "BKIAALICE", UserArn: testUser}, nil
	case "":
		return chime.Principal{}, chime.Errorf(chime.MissingAuthenticationToken, "Missing Authentication Token")
	}
	return chime.Principal{}, chime.Errorf(chime.InvalidSignature, "bad signature")
}

func newTestHandler(api chime.API) *Handler {
	return New(Config{API: api, Auth: fakeAuth{}})
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, method, target, auth, body string, hdr map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			t.Fatalf("%s %s: response body is not JSON: %q", method, target, rec.Body.String())
		}
	}
	if res.header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s %s: no x-amzn-RequestId header", method, target)
	}
	return res
}

func wantError(t *testing.T, res response, status int, kind, code, msgContains string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.raw)
	}
	if got := res.header.Get("x-amzn-ErrorType"); got != kind {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, kind)
	}
	if res.body["Code"] != code {
		t.Errorf("body Code = %v, want %q", res.body["Code"], code)
	}
	if msg, _ := res.body["Message"].(string); !strings.Contains(msg, msgContains) {
		t.Errorf("body Message = %q, want it to contain %q", msg, msgContains)
	}
}

// samplePath fills an operation's path template with realistic, escaped labels.
func samplePath(op *chime.Operation) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.Trim(op.Path, "/"), "/") {
		b.WriteByte('/')
		switch {
		case seg == "{messageId}":
			b.WriteString("m1")
		case seg == "{endpointId}":
			b.WriteString("e1")
		case strings.HasPrefix(seg, "{"):
			b.WriteString(url.PathEscape(testChannel))
		default:
			b.WriteString(seg)
		}
	}
	if op.QueryKey != "" {
		b.WriteString("?" + op.QueryKey + "=" + op.QueryValue)
	}
	return b.String()
}

func TestEveryOperationIsRouted(t *testing.T) {
	if len(chime.Operations) != 78 {
		t.Fatalf("%d operations, want 78 (30 identity + 51 messaging, 3 shared)", len(chime.Operations))
	}
	var identity, messaging int
	rt := newRouter(routes)
	for _, op := range chime.Operations {
		if op.Services&chime.ServiceIdentity != 0 {
			identity++
		}
		if op.Services&chime.ServiceMessaging != 0 {
			messaging++
		}
		target, _ := url.Parse(samplePath(op))
		if !strings.Contains(target.EscapedPath(), "%2F") && strings.Contains(op.Path, "Arn}") {
			t.Fatalf("%s: sample path %s lost its escaping", op.Name, target.EscapedPath())
		}
		q := target.Query()
		got := rt.match(op.Method, splitPath(target.EscapedPath()), func(k string) (string, bool) {
			v, ok := q[k]
			if !ok {
				return "", false
			}
			return v[0], true
		})
		if got == nil || got.op != op {
			name := "nothing"
			if got != nil {
				name = got.op.Name
			}
			t.Errorf("%s %s routes to %s, want %s", op.Method, target, name, op.Name)
		}
	}
	if identity != 30 || messaging != 51 {
		t.Errorf("identity ops = %d, messaging ops = %d; want 30 and 51", identity, messaging)
	}
}

// TestEveryOperationDecodes sends each operation with a valid-looking path
// and no body through the whole handler: it must reach the API (here
// Unimplemented, or a validation error for required body members), never
// UnknownOperation, never a 500.
func TestEveryOperationDecodes(t *testing.T) {
	h := newTestHandler(&fakeAPI{})
	for _, op := range chime.Operations {
		res := do(t, h, op.Method, samplePath(op), "root", "", map[string]string{"x-amz-chime-bearer": testUser})
		switch kind := res.header.Get("x-amzn-ErrorType"); kind {
		case "", "NotImplementedException", "BadRequestException":
		default:
			t.Errorf("%s: %d %s %s", op.Name, res.status, kind, res.raw)
		}
	}
}

func TestSuccessEncoding(t *testing.T) {
	api := &fakeAPI{}
	h := newTestHandler(api)
	res := do(t, h, "GET", "/app-instances?max-results=5&next-token=abc", "root", "", nil)
	if res.status != 200 || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %s", res.status, res.header.Get("Content-Type"), res.raw)
	}
	in := api.lastInput.(*chime.ListAppInstancesRequest)
	if *in.MaxResults != 5 || *in.NextToken != "abc" {
		t.Errorf("decoded input = %+v", in)
	}
	if _, ok := res.body["AppInstances"]; !ok {
		t.Errorf("body %s has no AppInstances", res.raw)
	}

	// a path label with an escaped ARN arrives decoded, as one label
	res = do(t, h, "GET", "/channels/"+url.PathEscape(testChannel)+"/messages?sort-order=ASCENDING&not-before=2021-01-01T00:00:00.123Z", "root", "", map[string]string{"x-amz-chime-bearer": testUser})
	if res.status != 200 {
		t.Fatalf("ListChannelMessages: %d %s", res.status, res.raw)
	}
	lm := api.lastInput.(*chime.ListChannelMessagesRequest)
	if *lm.ChannelArn != testChannel || lm.SortOrder != chime.SortOrderAscending || lm.NotBefore.UnixMilli() != 1609459200123 || *lm.ChimeBearer != testUser {
		t.Errorf("decoded input = %+v", lm)
	}

	// an operation without output answers its model status and no body
	res = do(t, h, "DELETE", "/channels/"+url.PathEscape(testChannel), "root", "", map[string]string{"x-amz-chime-bearer": testUser})
	if res.status != 204 || res.raw != "" {
		t.Errorf("DeleteChannel: %d %q", res.status, res.raw)
	}
}

func TestErrors(t *testing.T) {
	h := newTestHandler(&fakeAPI{})
	bearer := map[string]string{"x-amz-chime-bearer": testUser}
	channelPath := "/channels/" + url.PathEscape(testChannel)
	tests := []struct {
		name, method, target, auth, body string
		hdr                              map[string]string
		status                           int
		kind, code, msg                  string
	}{
		{"missing auth", "GET", "/app-instances", "", "", nil, 403, "MissingAuthenticationTokenException", "MissingAuthenticationToken", "Missing"},
		{"bad signature", "GET", "/app-instances", "forged", "", nil, 403, "InvalidSignatureException", "InvalidSignature", "bad signature"},
		{"unknown path", "GET", "/nope", "root", "", nil, 404, "UnknownOperationException", "UnknownOperation", "/nope"},
		{"wrong method", "PATCH", "/app-instances", "root", "", nil, 404, "UnknownOperationException", "UnknownOperation", "PATCH"},
		{"max results too big", "GET", "/app-instances?max-results=51", "root", "", nil, 400, "BadRequestException", "BadRequest", "'MaxResults'"},
		{"max results zero", "GET", "/app-instances?max-results=0", "root", "", nil, 400, "BadRequestException", "BadRequest", "greater than or equal to 1"},
		{"max results not a number", "GET", "/app-instances?max-results=ten", "root", "", nil, 400, "BadRequestException", "BadRequest", "'MaxResults'"},
		{"bad timestamp", "GET", channelPath + "/messages?not-before=yesterday", "root", "", bearer, 400, "BadRequestException", "BadRequest", "'NotBefore'"},
		{"bad enum", "GET", channelPath + "/messages?sort-order=SIDEWAYS", "root", "", bearer, 400, "BadRequestException", "BadRequest", "'SortOrder'"},
		{"missing bearer", "GET", channelPath + "/messages", "root", "", nil, 401, "UnauthorizedClientException", "Unauthorized", "x-amz-chime-bearer"},
		{"malformed bearer", "GET", channelPath + "/messages", "root", "", map[string]string{"x-amz-chime-bearer": "alice"}, 401, "UnauthorizedClientException", "Unauthorized", "x-amz-chime-bearer"},
		{"malformed JSON", "POST", "/app-instances", "root", `{"Name":`, nil, 400, "BadRequestException", "BadRequest", "not valid JSON"},
		{"wrong JSON type", "POST", "/app-instances", "root", `{"Name":5,"ClientRequestToken":"abcd"}`, nil, 400, "BadRequestException", "BadRequest", "'Name'"},
		{"body not an object", "POST", "/app-instances", "root", `[1,2]`, nil, 400, "BadRequestException", "BadRequest", "JSON object"},
		{"trailing data", "POST", "/app-instances", "root", `{"Name":"x","ClientRequestToken":"abcd"} {}`, nil, 400, "BadRequestException", "BadRequest", "single JSON object"},
		{"missing required", "POST", "/app-instances", "root", `{"ClientRequestToken":"abcd"}`, nil, 400, "BadRequestException", "BadRequest", "'Name' failed to satisfy constraint: Member must not be null"},
		{"several violations", "POST", "/app-instances", "root", `{"Name":"","ClientRequestToken":"a","Metadata":"` + strings.Repeat("m", 1025) + `"}`, nil, 400, "BadRequestException", "BadRequest", "3 validation errors detected"},
		{"nested violation", "POST", "/app-instances", "root", `{"Name":"n","ClientRequestToken":"abcd","Tags":[{"Key":"","Value":"v"}]}`, nil, 400, "BadRequestException", "BadRequest", "'Tags[0].Key'"},
		{"oversized body", "POST", "/app-instances", "root", `{"Name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, nil, 400, "BadRequestException", "BadRequest", "exceeds"},
		{"elastic configuration is fixed", "PUT", channelPath, "root", `{"Name":"n","ElasticChannelConfiguration":{"MaximumSubChannels":3}}`, bearer, 400, "BadRequestException", "BadRequest", "ElasticChannelConfiguration cannot be updated"},
		{"privacy is fixed", "PUT", channelPath, "root", `{"Name":"n","Privacy":"PRIVATE"}`, bearer, 400, "BadRequestException", "BadRequest", "Privacy cannot be updated"},
		{"not implemented", "POST", "/app-instances", "root", `{"Name":"n","ClientRequestToken":"abcd"}`, nil, 501, "NotImplementedException", "NotImplemented", "CreateAppInstance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, tt.method, tt.target, tt.auth, tt.body, tt.hdr)
			wantError(t, res, tt.status, tt.kind, tt.code, tt.msg)
		})
	}
}

// TestPrincipalInContext: the transport authenticates and hands the
// principal to the API in the context; the access check is the service's
// (service/access_test.go tests it for scoped keys).
func TestPrincipalInContext(t *testing.T) {
	f := &fakeAPI{}
	h := newTestHandler(f)
	for _, tc := range []struct{ auth, user string }{{"root", ""}, {"alice", testUser}} {
		do(t, h, "GET", "/app-instances", tc.auth, "", nil)
		if !f.hadPrincipal || f.principal.UserArn != tc.user {
			t.Errorf("%s: API saw principal %+v (present %v)", tc.auth, f.principal, f.hadPrincipal)
		}
	}
}

func TestPanicIsServiceFailure(t *testing.T) {
	h := newTestHandler(&fakeAPI{panicOn: "ListAppInstances"})
	res := do(t, h, "GET", "/app-instances", "root", "", nil)
	wantError(t, res, 500, "ServiceFailureException", "ServiceFailure", "internal error")
}

func TestCORS(t *testing.T) {
	h := newTestHandler(&fakeAPI{})
	req := httptest.NewRequest("OPTIONS", "/channels", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-amz-chime-bearer")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "x-amz-chime-bearer") ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	res := do(t, h, "GET", "/nope", "root", "", map[string]string{"Origin": "http://localhost:3000"})
	if !strings.Contains(res.header.Get("Access-Control-Expose-Headers"), "x-amzn-ErrorType") {
		t.Errorf("error responses must expose x-amzn-ErrorType to browsers: %v", res.header)
	}
}

// FuzzRequest throws arbitrary paths, queries and bodies at the handler: it
// must always answer with an AWS-shaped response and never panic or 500.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/app-instances", "", `{"Name":"n","ClientRequestToken":"abcd"}`)
	f.Add("GET", "/channels/"+url.PathEscape(testChannel)+"/messages", "max-results=3&not-after=2020-01-01T00:00:00Z", "")
	f.Add("POST", "/channels/x/messages", "", `{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"abcd","MessageAttributes":{"k":{"StringValues":["v"]}},"Target":[{"MemberArn":"x"}]}`)
	f.Add("POST", "/channels", "operation=search", `{"Fields":[{"Key":"MEMBERS","Operator":"EQUALS","Values":["a"]}]}`)
	f.Add("PUT", "/channel-flows/x", "", `{"Processors":[{"Name":"p","Configuration":{"Lambda":{"ResourceArn":"x","InvocationType":"ASYNC"}},"ExecutionOrder":1,"FallbackAction":"ABORT"}]}`)
	h := newTestHandler(&fakeAPI{})
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path+query, " \r\n\t#") || strings.ContainsAny(method, " \r\n\t/") || method == "" {
			return
		}
		req, err := http.NewRequest(method, "http://x"+path+"?"+query, bytes.NewReader([]byte(body)))
		if err != nil {
			return
		}
		req.RequestURI = path + "?" + query
		req.Header.Set("Authorization", "root")
		req.Header.Set("x-amz-chime-bearer", testUser)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != 501 {
			t.Fatalf("%s %s?%s %q: %d %s", method, path, query, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("x-amzn-ErrorType") == "" {
			t.Fatalf("error without x-amzn-ErrorType: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestRequestLog checks the debug request log: operation, status, duration
// and request id, and nothing of the credential.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := New(Config{API: &fakeAPI{}, Auth: fakeAuth{}, Logger: log})
	tests := []struct {
		auth, target string
		op           string
		status       float64
	}{
		{"root", "/app-instances?max-results=5", "ListAppInstances", 200},
		{"", "/app-instances", "unknown", 403},
		{"root", "/app-instances?max-results=500", "ListAppInstances", 400},
	}
	for _, tt := range tests {
		buf.Reset()
		res := do(t, h, "GET", tt.target, tt.auth, "", nil)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: log %q: %v", tt.target, buf.String(), err)
		}
		if line["msg"] != "request" || line["level"] != "DEBUG" || line["operation"] != tt.op || line["status"] != tt.status ||
			line["request_id"] != res.header.Get("x-amzn-RequestId") || line["duration"] == nil {
			t.Errorf("%s: log line %v", tt.target, line)
		}
		if strings.Contains(buf.String(), "root") || strings.Contains(buf.String(), "ROOT") {
			t.Errorf("%s: the log names the credential: %s", tt.target, buf.String())
		}
	}

	buf.Reset()
	quiet := New(Config{API: &fakeAPI{}, Auth: fakeAuth{}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	do(t, quiet, "GET", "/app-instances", "root", "", nil)
	if buf.Len() != 0 {
		t.Errorf("at info level a request is not logged: %s", buf.String())
	}
}
