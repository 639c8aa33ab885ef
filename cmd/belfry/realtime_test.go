package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// presignConnect presigns a /connect URL the way the AWS SDK for Go v2 does
// (amazon-chime-sdk-js signs the same canonical request) and returns it as
// a ws:// or wss:// URL.
func presignConnect(t *testing.T, scheme, host, akid, secret string, q url.Values) string {
	t.Helper()
	q.Set("X-Amz-Expires", "10")
	httpScheme := map[string]string{"ws": "http", "wss": "https"}[scheme]
	req, err := http.NewRequest(http.MethodGet, httpScheme+"://"+host+"/connect?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, emptySHA256, "chime", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return scheme + strings.TrimPrefix(uri, httpScheme)
}

type sessionFrame struct {
	Headers map[string]string
	Payload string
}

func readSessionFrame(t *testing.T, c *websocket.Conn) sessionFrame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f sessionFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame is not JSON: %s", b)
	}
	return f
}

func expectSessionClose(t *testing.T, c *websocket.Conn, code int) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err == nil {
			t.Logf("frame before the close: %s", b)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("got %v, want close %d", err, code)
		}
		return
	}
}

// TestMessagingSession runs the messaging session against the real server:
// the endpoint from GetMessagingSessionEndpoint, a URL presigned like the
// SDKs do, wss with the local CA, events of a REST call, drain on shutdown.
func TestMessagingSession(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "rootsecret"}
	dir := t.TempDir()
	ts := startServer(t, dir, root)
	c := http.DefaultClient
	sign := func(method, path, body, bearer string) *http.Request {
		hdr := map[string]string{}
		if bearer != "" {
			hdr["x-amz-chime-bearer"] = bearer
		}
		return signedRequest(t, method, ts.httpURL+path, body, root.AccessKeyID, root.SecretAccessKey, hdr)
	}
	mustSend := func(req *http.Request, want int) map[string]any {
		t.Helper()
		status, _, body := send(t, c, req)
		if status != want {
			t.Fatalf("%s %s: %d %v", req.Method, req.URL.Path, status, body)
		}
		return body
	}

	// GetMessagingSessionEndpoint answers the TLS listener's address, bare.
	body := mustSend(sign("GET", "/endpoints/messaging-session", "", ""), 200)
	endpoint, _ := body["Endpoint"].(map[string]any)["Url"].(string)
	if want := strings.TrimPrefix(ts.tlsURL, "https://"); endpoint != want {
		t.Fatalf("messaging endpoint %q, want %q", endpoint, want)
	}

	app := mustSend(sign("POST", "/app-instances", `{"Name":"app","ClientRequestToken":"tok-app"}`, ""), 201)["AppInstanceArn"].(string)
	alice := mustSend(sign("POST", "/app-instance-users", `{"AppInstanceArn":"`+app+`","AppInstanceUserId":"alice","Name":"Alice","ClientRequestToken":"tok-alice"}`, ""), 201)["AppInstanceUserArn"].(string)
	bob := mustSend(sign("POST", "/app-instance-users", `{"AppInstanceArn":"`+app+`","AppInstanceUserId":"bob","Name":"Bob","ClientRequestToken":"tok-bob"}`, ""), 201)["AppInstanceUserArn"].(string)
	channel := mustSend(sign("POST", "/channels", `{"AppInstanceArn":"`+app+`","Name":"general","Mode":"UNRESTRICTED","Privacy":"PUBLIC","ClientRequestToken":"tok-ch"}`, alice), 201)["ChannelArn"].(string)

	caPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	wss := &websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 10 * time.Second}
	dial := func(d *websocket.Dialer, u string) *websocket.Conn {
		t.Helper()
		conn, res, err := d.Dial(u, nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	query := func(user, session string) url.Values {
		return url.Values{"userArn": {user}, "sessionId": {session}}
	}

	// A wrong signature is a close 4401 after a successful upgrade.
	bad := dial(websocket.DefaultDialer, presignConnect(t, "ws", strings.TrimPrefix(ts.httpURL, "http://"), root.AccessKeyID, "wrong", query(alice, "1")))
	expectSessionClose(t, bad, 4401)
	// A user that does not exist is 4003.
	ghost := dial(wss, presignConnect(t, "wss", endpoint, root.AccessKeyID, root.SecretAccessKey, query(strings.Replace(alice, "alice", "ghost", 1), "1")))
	expectSessionClose(t, ghost, 4003)

	// alice connects over wss to the advertised endpoint, with prefetch.
	q := query(alice, "4282501305")
	q.Set("prefetch-on", "connect")
	a := dial(wss, presignConnect(t, "wss", endpoint, root.AccessKeyID, root.SecretAccessKey, q))
	if f := readSessionFrame(t, a); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %+v, want SESSION_ESTABLISHED", f)
	}
	if f := readSessionFrame(t, a); f.Headers["x-amz-chime-event-type"] != "CHANNEL_DETAILS" || !strings.Contains(f.Payload, channel) {
		t.Fatalf("prefetch frame %+v, want CHANNEL_DETAILS of %s", f, channel)
	}
	// bob connects over plain ws.
	b := dial(websocket.DefaultDialer, presignConnect(t, "ws", strings.TrimPrefix(ts.httpURL, "http://"), root.AccessKeyID, root.SecretAccessKey, query(bob, "1")))
	if f := readSessionFrame(t, b); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("bob's first frame %+v", f)
	}

	// bob joins: both hear of it; then alice's message reaches both.
	mustSend(sign("POST", "/channels/"+url.PathEscape(channel)+"/memberships", `{"MemberArn":"`+bob+`","Type":"DEFAULT"}`, alice), 201)
	for _, conn := range []*websocket.Conn{a, b} {
		if f := readSessionFrame(t, conn); f.Headers["x-amz-chime-event-type"] != "CREATE_CHANNEL_MEMBERSHIP" || !strings.Contains(f.Payload, bob) {
			t.Fatalf("membership frame %+v", f)
		}
	}
	mustSend(sign("POST", "/channels/"+url.PathEscape(channel)+"/messages", `{"Content":"hello","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-m1"}`, alice), 201)
	for _, conn := range []*websocket.Conn{a, b} {
		f := readSessionFrame(t, conn)
		var m struct{ Content, ChannelArn string }
		if f.Headers["x-amz-chime-event-type"] != "CREATE_CHANNEL_MESSAGE" || json.Unmarshal([]byte(f.Payload), &m) != nil || m.Content != "hello" || m.ChannelArn != channel {
			t.Fatalf("message frame %+v", f)
		}
	}

	// /metrics shows the sessions.
	res, err := c.Get(ts.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(metrics), "belfry_realtime_sessions 2") {
		t.Errorf("/metrics lacks belfry_realtime_sessions 2:\n%s", grepLines(string(metrics), "belfry_realtime"))
	}

	// Shutdown drains: every session is closed with 1001 and stop returns.
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	expectSessionClose(t, a, 1001)
	expectSessionClose(t, b, 1001)
	if err := <-stopped; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMessagingEndpoint(t *testing.T) {
	tests := []struct {
		public, httpAddr, tlsAddr, want string
	}{
		{"", "127.0.0.1:8400", "127.0.0.1:8401", "127.0.0.1:8401"},
		{"", "127.0.0.1:8400", "", "127.0.0.1:8400"},
		{"", "0.0.0.0:8400", "0.0.0.0:443", "127.0.0.1"},
		{"", "[::]:8400", "[::]:8443", "[::1]:8443"},
		{"", "[::]:80", "", "[::1]"},
		{"chat.example.com", "127.0.0.1:8400", "127.0.0.1:8401", "chat.example.com"},
	}
	for _, tt := range tests {
		if got := messagingEndpoint(tt.public, tt.httpAddr, tt.tlsAddr); got != tt.want {
			t.Errorf("messagingEndpoint(%q, %q, %q) = %q, want %q", tt.public, tt.httpAddr, tt.tlsAddr, got, tt.want)
		}
	}
	for in, want := range map[string]string{"": "", "chat.example.com": "chat.example.com", "chat.example.com:443": "chat.example.com",
		"127.0.0.1:8401": "127.0.0.1:8401", "[::1]:443": "[::1]"} {
		if got, err := normalizePublicHost(in); err != nil || got != want {
			t.Errorf("normalizePublicHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"https://chat.example.com", "chat.example.com/", "chat.example.com/ws", ":8401", "a b"} {
		if got, err := normalizePublicHost(in); err == nil {
			t.Errorf("normalizePublicHost(%q) = %q, want an error", in, got)
		}
	}
}
