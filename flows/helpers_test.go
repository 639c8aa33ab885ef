package flows

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testArn      = "arn:aws:lambda:us-east-1:111122223333:function:moderate"
	testAccessID = "AKIDFLOWSTEST"
	testSecret   = "flows-test-secret-access-key"
)

var testEvent = []byte(`{"EventType":"CHANNEL_MESSAGE_EVENT","CallbackId":"0123456789abcdef0123456789abcdef",` +
	`"ChannelMessage":{"MessageId":"m1","ChannelArn":"arn:aws:chime:us-east-1:111122223333:app-instance/ai/channel/c",` +
	`"Content":"hello","Metadata":"","Sender":{"Arn":"arn:aws:chime:us-east-1:111122223333:app-instance/ai/user/u","Name":"U"},` +
	`"Persistence":"PERSISTENT","LastEditedTimestamp":"2025-01-01T00:00:00.000Z","Type":"STANDARD",` +
	`"CreatedTimestamp":"2025-01-01T00:00:00.000Z"}}`)

// isolateAWSEnv keeps the developer's AWS environment and files out of the
// test: the SDK's config loader reads both even with static credentials.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// newTestInvoker builds an Invoker with static credentials, failing the test
// on configuration errors.
func newTestInvoker(t *testing.T, cfg Config) Invoker {
	t.Helper()
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = testAccessID, testSecret
	}
	inv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return inv
}

// request is what a fake server saw; handlers send it on a channel before
// answering, which orders it before Invoke's return for the race detector.
type request struct {
	Method  string
	Path    string // decoded
	RawPath string // as sent
	Header  http.Header
	Body    []byte
	Err     error // a check the handler made on the request
}

// recordingServer answers every request with answer after sending what it
// saw (and check's verdict) on the returned channel.
func recordingServer(t *testing.T, check func(*http.Request, []byte) error, answer http.HandlerFunc) (*httptest.Server, <-chan request) {
	t.Helper()
	seen := make(chan request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rec := request{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body, Err: err}
		if rec.Err == nil && check != nil {
			rec.Err = check(r, body)
		}
		seen <- rec
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

// blockingServer never answers until the client gives up, to exercise the
// per-attempt timeout without sleeping.
func blockingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before Close
	return srv
}

// refusedURL returns the URL of a server that no longer listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// next returns the next recorded request or fails when there is none.
func next(t *testing.T, seen <-chan request) request {
	t.Helper()
	select {
	case r := <-seen:
		return r
	default:
		t.Fatal("the server saw no request")
		return request{}
	}
}

// none fails if the server saw a request.
func none(t *testing.T, seen <-chan request) {
	t.Helper()
	select {
	case r := <-seen:
		t.Fatalf("unexpected request %s %s", r.Method, r.Path)
	default:
	}
}

// checkOutcome compares an Invoke result with the expected class.
func checkOutcome(t *testing.T, err error, wantErr, wantPermanent bool) {
	t.Helper()
	switch {
	case !wantErr && err != nil:
		t.Fatalf("Invoke: %v, want nil", err)
	case wantErr && err == nil:
		t.Fatal("Invoke: nil, want an error")
	case wantErr && IsPermanent(err) != wantPermanent:
		t.Fatalf("IsPermanent(%v) = %v, want %v", err, IsPermanent(err), wantPermanent)
	}
}

var shortTimeout = 200 * time.Millisecond
