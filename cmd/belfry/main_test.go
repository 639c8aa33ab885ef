package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// syncBuffer is a bytes.Buffer the server and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	httpURL, tlsURL string
	dataDir         string
	root            rootKey
	stdout, stderr  *syncBuffer
	stop            func() error
}

// startServer runs serve in-process on kernel-chosen ports and waits until
// it reports them.
func startServer(t *testing.T, dataDir string, root rootKey) *testServer {
	t.Helper()
	return startServerWith(t, dataDir, root, nil)
}

// startServerWith is startServer with the config adjusted by edit.
func startServerWith(t *testing.T, dataDir string, root rootKey, edit func(*config)) *testServer {
	t.Helper()
	cfg := config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", DataDir: dataDir, Region: "us-east-1", AccountID: "111122223333",
		LogLevel: "debug", LogFormat: "text", MaxClockSkew: 5 * time.Minute, ShutdownTimeout: 5 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{dataDir: dataDir, root: root, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, root, ts.stdout, ts.stderr, func(h, s string) {
			ts.httpURL, ts.tlsURL = "http://"+h, "https://"+s
			close(ready)
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before ready: %v\n%s", err, ts.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("serve not ready after 10s\n%s", ts.stderr)
	}
	var once sync.Once
	var stopErr error
	ts.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { ts.stop() })
	return ts
}

// signedRequest signs like the AWS SDK for Go v2 does.
func signedRequest(t *testing.T, method, url, body, akid, secret string, hdr map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", req.Method, req.URL, b)
		}
	}
	return res.StatusCode, res.Header, m
}

func TestServeEndToEnd(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "test/secret+key"}
	ts := startServer(t, t.TempDir(), root)
	c := http.DefaultClient

	// health and metrics are unsigned
	res, err := c.Get(ts.httpURL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", res, err)
	}
	res.Body.Close()

	// a signed request is authenticated and routed; the wrong secret is not
	status, hdr, body := send(t, c, signedRequest(t, "GET", ts.httpURL+"/no-such-thing", "", root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 404 || hdr.Get("x-amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("unknown path, signed: %d %v %v", status, hdr, body)
	}
	status, hdr, body = send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", root.AccessKeyID, "wrong", nil))
	if status != 403 || hdr.Get("x-amzn-ErrorType") != "InvalidSignatureException" || body["Code"] != "InvalidSignature" {
		t.Errorf("wrong secret: %d %v %v", status, hdr, body)
	}
	status, hdr, _ = send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", "AKIDUNKNOWN", "x", nil))
	if status != 403 || hdr.Get("x-amzn-ErrorType") != "UnrecognizedClientException" {
		t.Errorf("unknown key: %d %v", status, hdr)
	}
	status, hdr, body = send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances?max-results=51", "", root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 400 || hdr.Get("x-amzn-ErrorType") != "BadRequestException" || !strings.Contains(body["Message"].(string), "MaxResults") {
		t.Errorf("bad parameter: %d %v %v", status, hdr, body)
	}

	// the TLS listener serves the same API with a certificate from the local CA
	caPEM, err := os.ReadFile(filepath.Join(ts.dataDir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	status, hdr, _ = send(t, tc, signedRequest(t, "GET", ts.tlsURL+"/no-such-thing", "", root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 404 || hdr.Get("x-amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("over TLS: %d %v", status, hdr)
	}
	if !strings.Contains(ts.stdout.String(), "NODE_EXTRA_CA_CERTS") {
		t.Errorf("first start must tell the user how to trust the CA; stdout:\n%s", ts.stdout)
	}

	res, err = c.Get(ts.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(m), `belfry_api_requests_total{operation="ListAppInstances",status="400"} 1`) {
		t.Errorf("/metrics lacks the request counter:\n%s", m)
	}

	if err := ts.stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	for _, out := range []string{ts.stdout.String(), ts.stderr.String()} {
		if strings.Contains(out, root.SecretAccessKey) {
			t.Errorf("the root secret appears in the output:\n%s", out)
		}
	}
}

func TestScopedCredentials(t *testing.T) {
	dir := t.TempDir()
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "rootsecret"}
	ts := startServer(t, dir, root)
	c := http.DefaultClient
	env := func(k string) string {
		return map[string]string{"BELFRY_DATA_DIR": dir, "BELFRY_ACCOUNT_ID": "111122223333"}[k]
	}

	// a key needs an existing user: create an app instance and a user through the API
	status, _, body := send(t, c, signedRequest(t, "POST", ts.httpURL+"/app-instances", `{"Name":"app","ClientRequestToken":"tok-app"}`, root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 201 {
		t.Fatalf("CreateAppInstance: %d %v", status, body)
	}
	app := body["AppInstanceArn"].(string)
	status, _, body = send(t, c, signedRequest(t, "POST", ts.httpURL+"/app-instance-users", `{"AppInstanceArn":"`+app+`","AppInstanceUserId":"alice","Name":"Alice","ClientRequestToken":"tok-alice"}`, root.AccessKeyID, root.SecretAccessKey, nil))
	if status != 201 {
		t.Fatalf("CreateAppInstanceUser: %d %v", status, body)
	}
	user := body["AppInstanceUserArn"].(string)

	if err := run(context.Background(), []string{"credentials", "create", "--user", strings.Replace(user, "alice", "nobody", 1)}, env, io.Discard, io.Discard); err == nil {
		t.Error("a key bound to a user that does not exist was created")
	}
	if err := run(context.Background(), []string{"credentials", "create", "--user", app}, env, io.Discard, io.Discard); err == nil {
		t.Error("a key bound to something other than a user was created")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"credentials", "create", "--user", user, "--description", "alice's phone"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key struct{ AccessKeyId, SecretAccessKey, UserArn string }
	if err := json.Unmarshal(out.Bytes(), &key); err != nil || key.UserArn != user || key.SecretAccessKey == "" {
		t.Fatalf("credentials create printed %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"credentials", "list"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), key.AccessKeyId) || strings.Contains(out.String(), key.SecretAccessKey) {
		t.Errorf("credentials list = %s; want the key id and never the secret", out.String())
	}

	status, hdr, body := send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", key.AccessKeyId, key.SecretAccessKey, nil))
	if status != 403 || hdr.Get("x-amzn-ErrorType") != "ForbiddenException" {
		t.Errorf("scoped key on a developer API: %d %v %v", status, hdr, body)
	}
	status, hdr, body = send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instance-users/"+url.PathEscape(user), "", key.AccessKeyId, key.SecretAccessKey, nil))
	if status != 200 || body["AppInstanceUser"] == nil {
		t.Errorf("scoped key describing its own user: %d %v %v", status, hdr, body)
	}
	listChannels := ts.httpURL + "/channels?app-instance-arn=" + url.QueryEscape(app)
	status, hdr, _ = send(t, c, signedRequest(t, "GET", listChannels, "", key.AccessKeyId, key.SecretAccessKey, map[string]string{"x-amz-chime-bearer": strings.Replace(user, "alice", "mallory", 1)}))
	if status != 403 || hdr.Get("x-amzn-ErrorType") != "ForbiddenException" {
		t.Errorf("scoped key acting as another user: %d %v", status, hdr)
	}
	status, hdr, _ = send(t, c, signedRequest(t, "GET", listChannels, "", key.AccessKeyId, key.SecretAccessKey, map[string]string{"x-amz-chime-bearer": user}))
	if status == 403 {
		t.Errorf("scoped key acting as itself was refused at the door: %d %s", status, hdr.Get("x-amzn-ErrorType"))
	}

	if err := run(context.Background(), []string{"credentials", "delete", "--access-key-id", key.AccessKeyId}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	status, hdr, _ = send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", key.AccessKeyId, key.SecretAccessKey, nil))
	if status != 403 || hdr.Get("x-amzn-ErrorType") != "UnrecognizedClientException" {
		t.Errorf("deleted key: %d %v", status, hdr)
	}
}

func TestRootCredentialGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	var first, second bytes.Buffer
	k1, err := rootCredential(dir, noEnv, &first)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.generated || len(k1.AccessKeyID) != 20 || len(k1.SecretAccessKey) != 40 {
		t.Errorf("first start must generate a key (serve's banner shows it once): %+v", k1)
	}
	fi, err := os.Stat(filepath.Join(dir, "root-credential.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root credential file: %v %v", fi, err)
	}
	k2, err := rootCredential(dir, noEnv, &second)
	if err != nil || k2.AccessKeyID != k1.AccessKeyID || k2.SecretAccessKey != k1.SecretAccessKey || k2.generated || second.Len() != 0 {
		t.Errorf("second start: %+v %v, printed %q; want the same key, printed nothing", k2, err, second.String())
	}
	env := func(k string) string {
		return map[string]string{"BELFRY_ACCESS_KEY_ID": "AKIDENV", "BELFRY_SECRET_ACCESS_KEY": "envsecret"}[k]
	}
	if k3, err := rootCredential(dir, env, io.Discard); err != nil || k3.AccessKeyID != "AKIDENV" {
		t.Errorf("the environment must win: %+v %v", k3, err)
	}
	half := func(k string) string { return map[string]string{"BELFRY_ACCESS_KEY_ID": "AKIDENV"}[k] }
	if _, err := rootCredential(dir, half, io.Discard); err == nil {
		t.Error("only one of the two variables set must be an error")
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{args: []string{}, wantErr: "command is required"},
		{args: []string{"frobnicate"}, wantErr: "unknown command"},
		{args: []string{"serve", "--account-id", "123"}, wantErr: "12 digits"},
		{args: []string{"serve"}, env: map[string]string{"BELFRY_REGION": "mars"}, wantErr: "--region"},
		{args: []string{"serve", "--log-format", "xml"}, wantErr: "--log-format"},
		{args: []string{"serve", "--tls-cert", "x.pem"}, wantErr: "go together"},
		{args: []string{"serve"}, env: map[string]string{"BELFRY_MAX_CLOCK_SKEW": "soon"}, wantErr: "BELFRY_MAX_CLOCK_SKEW"},
		{args: []string{"serve", "extra"}, wantErr: "unexpected arguments"},
		{args: []string{"credentials", "create"}, wantErr: "--user is required"},
		{args: []string{"serve", "--max-sessions-per-user", "0"}, wantErr: "--max-sessions-per-user"},
		{args: []string{"serve"}, env: map[string]string{"BELFRY_WS_PING_INTERVAL": "10ms"}, wantErr: "--ws-ping-interval"},
		{args: []string{"serve", "--ws-public-host", "wss://chat.example.com"}, wantErr: "--ws-public-host"},
		{args: []string{"serve", "--node-id", "a\tb"}, wantErr: "--node-id"},
		{args: []string{"serve"}, env: map[string]string{"BELFRY_NODE_ID": " padded"}, wantErr: "--node-id"},
		{args: []string{"serve", "--bus-replicas", "7"}, wantErr: "--bus-replicas"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		env := func(k string) string {
			if k == "BELFRY_DATA_DIR" {
				return dir
			}
			return tt.env[k]
		}
		err := run(context.Background(), tt.args, env, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
		}
	}
	var help bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, io.Discard, &help)
	for _, want := range []string{"-listen", "BELFRY_LISTEN", "-tls-listen", "-data-dir", "-region", "-account-id", "BELFRY_ACCESS_KEY_ID",
		"-ws-public-host", "BELFRY_WS_PUBLIC_HOST", "-max-sessions-per-user", "BELFRY_MAX_SESSIONS_PER_USER", "-ws-ping-interval",
		"-node-id", "BELFRY_NODE_ID", "-bus-replicas"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("serve --help lacks %q (err %v):\n%s", want, err, help.String())
		}
	}
}

func TestTopLevelHelpDocumentsEverything(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "credentials", "-listen", "BELFRY_TLS_LISTEN", "-data-dir", "-region", "-account-id", "BELFRY_SECRET_ACCESS_KEY", "create --user ARN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("belfry --help lacks %q", want)
		}
	}
}
