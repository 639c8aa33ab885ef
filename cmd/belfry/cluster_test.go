package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/belfryhq/belfry/internal/natstest"
	"github.com/belfryhq/belfry/internal/pgtest"
)

// startNATS runs an embedded NATS server with JetStream for the test.
func startNATS(t *testing.T) string {
	t.Helper()
	return startNATSAt(t, server.RANDOM_PORT, t.TempDir()).ClientURL()
}

// startNATSAt starts an embedded NATS server with JetStream on port, keeping
// its stream in dir, so that a test can stop it and start it again on the
// same address and data.
func startNATSAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	return natstest.Start(t, port, dir)
}

// mustCall sends a root-signed API request to ts, with bearer as
// x-amz-chime-bearer unless empty, and fails the test unless the answer has
// status want.
func mustCall(t *testing.T, ts *testServer, method, path, body, bearer string, want int) map[string]any {
	t.Helper()
	hdr := map[string]string{}
	if bearer != "" {
		hdr["x-amz-chime-bearer"] = bearer
	}
	status, _, res := send(t, http.DefaultClient, signedRequest(t, method, ts.httpURL+path, body, ts.root.AccessKeyID, ts.root.SecretAccessKey, hdr))
	if status != want {
		t.Fatalf("%s %s: %d %v", method, path, status, res)
	}
	return res
}

// readEvent reads the next frame, passing over the CREATE_CHANNEL_MEMBERSHIP
// of the channel creator's own membership: the relay publishes the events
// of a commit just after it, so that one may reach a session that opened
// right after the channel was created.
func readEvent(t *testing.T, c *websocket.Conn, creator string) sessionFrame {
	t.Helper()
	for {
		f := readSessionFrame(t, c)
		var m struct{ Member struct{ Arn string } }
		if f.Headers["x-amz-chime-event-type"] == "CREATE_CHANNEL_MEMBERSHIP" && json.Unmarshal([]byte(f.Payload), &m) == nil && m.Member.Arn == creator {
			continue
		}
		return f
	}
}

// TestTwoNodesOnNATS: two `belfry serve` nodes on one store (an SQLite
// data dir both open, or one PostgreSQL database) and one NATS. A message
// sent through either node reaches the sessions on both, once and in order.
func TestTwoNodesOnNATS(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			store := ""
			if engine == "postgres" {
				store = pgtest.MigratedURL(t)
			}
			testTwoNodesOnNATS(t, store)
		})
	}
}

func testTwoNodesOnNATS(t *testing.T, store string) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "rootsecret"}
	dir := t.TempDir()
	natsURL := startNATS(t)
	withBus := func(c *config) { c.Bus = natsURL; c.TLSListen = "off"; c.Store = store }
	n1 := startServerWith(t, dir, root, withBus)
	n2 := startServerWith(t, dir, root, withBus)

	app := mustCall(t, n1, "POST", "/app-instances", `{"Name":"app","ClientRequestToken":"tok-app"}`, "", 201)["AppInstanceArn"].(string)
	user := func(id string) string {
		return mustCall(t, n1, "POST", "/app-instance-users", `{"AppInstanceArn":"`+app+`","AppInstanceUserId":"`+id+`","Name":"`+id+`","ClientRequestToken":"tok-`+id+`"}`, "", 201)["AppInstanceUserArn"].(string)
	}
	alice, bob := user("alice"), user("bob")
	channel := mustCall(t, n1, "POST", "/channels", `{"AppInstanceArn":"`+app+`","Name":"general","Mode":"UNRESTRICTED","Privacy":"PUBLIC","ClientRequestToken":"tok-ch"}`, alice, 201)["ChannelArn"].(string)

	connect := func(ts *testServer, userArn string) *websocket.Conn {
		t.Helper()
		host := strings.TrimPrefix(ts.httpURL, "http://")
		conn, res, err := websocket.DefaultDialer.Dial(presignConnect(t, "ws", host, root.AccessKeyID, root.SecretAccessKey, url.Values{"userArn": {userArn}, "sessionId": {"1"}}), nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		t.Cleanup(func() { conn.Close() })
		if f := readSessionFrame(t, conn); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
			t.Fatalf("first frame %+v", f)
		}
		return conn
	}
	a := connect(n2, alice) // alice's session is on node 2, bob's on node 1
	b := connect(n1, bob)

	// bob joins through node 1: alice hears of it on node 2, bob on node 1.
	mustCall(t, n1, "POST", "/channels/"+url.PathEscape(channel)+"/memberships", `{"MemberArn":"`+bob+`","Type":"DEFAULT"}`, alice, 201)
	for _, conn := range []*websocket.Conn{a, b} {
		if f := readEvent(t, conn, alice); f.Headers["x-amz-chime-event-type"] != "CREATE_CHANNEL_MEMBERSHIP" || !strings.Contains(f.Payload, bob) {
			t.Fatalf("membership frame %+v", f)
		}
	}
	// Messages alternate between the nodes; both sessions get all, in order.
	const n = 20
	for i := range n {
		node, sender := n1, alice
		if i%2 == 1 {
			node, sender = n2, bob
		}
		mustCall(t, node, "POST", "/channels/"+url.PathEscape(channel)+"/messages",
			`{"Content":"m`+strconv.Itoa(i)+`","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-m`+strconv.Itoa(i)+`"}`, sender, 201)
	}
	for _, conn := range []*websocket.Conn{a, b} {
		for i := range n {
			f := readEvent(t, conn, alice)
			var m struct{ Content string }
			if f.Headers["x-amz-chime-event-type"] != "CREATE_CHANNEL_MESSAGE" || json.Unmarshal([]byte(f.Payload), &m) != nil || m.Content != "m"+strconv.Itoa(i) {
				t.Fatalf("frame %d: %+v", i, f)
			}
		}
	}
	// Nothing more arrives: each message came once.
	for _, conn := range []*websocket.Conn{a, b} {
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, extra, err := conn.ReadMessage(); err == nil {
			t.Fatalf("extra frame %s", extra)
		}
	}
}

func TestBusFlag(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"", true},
		{"nats://127.0.0.1:4222", true},
		{"nats://a:4222,nats://b:4222", true},
		{"tls://nats.example.com:4222", true},
		{"memory", false},
		{"http://127.0.0.1:4222", false},
		{"nats://", false},
		{"nats://a:4222,", false},
	}
	for _, tc := range tests {
		err := validateBus(tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("--bus %q: error %v, want ok=%v", tc.value, err, tc.ok)
		}
	}
	// An unreachable NATS stops serve before it listens.
	var stderr syncBuffer
	err := run(t.Context(), []string{"serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--tls-listen", "off", "--bus", "nats://127.0.0.1:1"},
		func(string) string { return "" }, &syncBuffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error()+stderr.String(), "--bus") {
		t.Fatalf("serve with an unreachable bus: %v\n%s", err, stderr.String())
	}
}

// TestNATSRestartLosesNothing: NATS goes away while messages are sent and
// comes back; the sessions on the other node receive every message, once,
// in order (the relay keeps them in the outbox until NATS has them).
func TestNATSRestartLosesNothing(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "rootsecret"}
	dir, natsDir := t.TempDir(), t.TempDir()
	port := freeTCPPort(t)
	ns := startNATSAt(t, port, natsDir)
	withBus := func(c *config) { c.Bus = ns.ClientURL(); c.TLSListen = "off" }
	n1 := startServerWith(t, dir, root, withBus)
	n2 := startServerWith(t, dir, root, withBus)
	t.Cleanup(func() {
		if t.Failed() {
			n1.stop()
			n2.stop()
			t.Logf("node 1:\n%s\nnode 2:\n%s", n1.stderr, n2.stderr)
		}
	})

	app := mustCall(t, n1, "POST", "/app-instances", `{"Name":"app","ClientRequestToken":"tok-app"}`, "", 201)["AppInstanceArn"].(string)
	alice := mustCall(t, n1, "POST", "/app-instance-users", `{"AppInstanceArn":"`+app+`","AppInstanceUserId":"alice","Name":"alice","ClientRequestToken":"tok-alice"}`, "", 201)["AppInstanceUserArn"].(string)
	channel := mustCall(t, n1, "POST", "/channels", `{"AppInstanceArn":"`+app+`","Name":"general","Mode":"UNRESTRICTED","Privacy":"PUBLIC","ClientRequestToken":"tok-ch"}`, alice, 201)["ChannelArn"].(string)
	conn, res, err := websocket.DefaultDialer.Dial(presignConnect(t, "ws", strings.TrimPrefix(n2.httpURL, "http://"), root.AccessKeyID, root.SecretAccessKey, url.Values{"userArn": {alice}, "sessionId": {"1"}}), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	defer conn.Close()
	if f := readSessionFrame(t, conn); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %+v", f)
	}
	sendN := func(from, to int) {
		for i := from; i < to; i++ {
			mustCall(t, n1, "POST", "/channels/"+url.PathEscape(channel)+"/messages",
				`{"Content":"m`+strconv.Itoa(i)+`","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-m`+strconv.Itoa(i)+`"}`, alice, 201)
		}
	}
	sendN(0, 5)
	ns.Shutdown()
	ns.WaitForShutdown()
	sendN(5, 15) // acknowledged while NATS is down
	startNATSAt(t, port, natsDir)
	sendN(15, 20)
	for i := range 20 {
		f := readEvent(t, conn, alice)
		var m struct{ Content string }
		if f.Headers["x-amz-chime-event-type"] != "CREATE_CHANNEL_MESSAGE" || json.Unmarshal([]byte(f.Payload), &m) != nil || m.Content != "m"+strconv.Itoa(i) {
			t.Fatalf("frame %d: %+v", i, f)
		}
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, extra, err := conn.ReadMessage(); err == nil {
		t.Fatalf("extra frame %s", extra)
	}
}

func freeTCPPort(t *testing.T) int { return natstest.FreePort(t) }

// TestHealthzSaysWhetherTheNodeCanServe: /healthz is 200 while the node
// reaches its store and NATS, 503 while NATS is away (saying so) and 200
// again once it is back, and 503 once the store is gone.
func TestHealthzSaysWhetherTheNodeCanServe(t *testing.T) {
	root := rootKey{AccessKeyID: "AKIDTESTROOT", SecretAccessKey: "rootsecret"}
	dbURL := pgtest.MigratedURL(t)
	port, natsDir := freeTCPPort(t), t.TempDir()
	ns := startNATSAt(t, port, natsDir)
	ts := startServerWith(t, t.TempDir(), root, func(c *config) {
		c.Bus, c.Store, c.TLSListen, c.NodeID = ns.ClientURL(), dbURL, "off", "node-a"
	})
	health := func() (int, string) {
		res, err := (&http.Client{Timeout: 5 * time.Second}).Get(ts.httpURL + "/healthz")
		if err != nil {
			t.Fatalf("/healthz: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	waitFor := func(what string, wantCode int, wantLines ...string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body := health()
			ok := code == wantCode
			for _, l := range wantLines {
				ok = ok && strings.Contains(body, l+"\n")
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /healthz = %d %q, want %d with %q", what, code, body, wantCode, wantLines)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("all up", 200, "ok", "node: node-a", "store: ok", "bus: connected")
	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor("NATS down", 503, "unavailable", "store: ok", "bus: disconnected")
	startNATSAt(t, port, natsDir)
	waitFor("NATS back", 200, "ok", "bus: connected")

	// The database goes away (dropped, its connections ended).
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(t.Context(), admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	waitFor("store gone", 503, "unavailable", "store: unreachable", "bus: connected")
}
