package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
)

const (
	testApp = "arn:aws:chime:us-east-1:111122223333:app-instance/app"
	alice   = testApp + "/user/alice"
	bob     = testApp + "/user/bob"
	carol   = testApp + "/user/carol"
	ch1     = testApp + "/channel/ch1"
	ch2     = testApp + "/channel/ch2"
	ch3     = testApp + "/channel/ch3"
)

// fakeAuth takes the principal from the test's "key" query parameter:
// "root", "bound:<userArn>", "bad" (a signature failure) or "boom" (an
// internal failure).
type fakeAuth struct{}

func (fakeAuth) AuthenticatePresigned(r *http.Request) (chime.Principal, error) {
	k := r.URL.Query().Get("key")
	switch {
	case k == "root":
		return chime.Principal{AccessKeyID: "ROOT"}, nil
	case strings.HasPrefix(k, "bound:"):
		return chime.Principal{AccessKeyID: "SCOPED", UserArn: strings.TrimPrefix(k, "bound:")}, nil
	case k == "boom":
		return chime.Principal{}, errors.New("store unavailable")
	}
	return chime.Principal{}, chime.Errorf(chime.InvalidSignature, "The request signature we calculated does not match the signature you provided.")
}

// fakeDirectory answers from a map; a user with an entry in block waits
// for that channel to be closed before answering (after signalling on
// called), so tests can act while a session loads.
type fakeDirectory struct {
	mu       sync.Mutex
	channels map[string][]string
	errs     map[string]error
	details  []events.ChannelDetails
	sortBy   []string
	block    map[string]chan struct{}
	called   chan string
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{channels: map[string][]string{}, errs: map[string]error{}, block: map[string]chan struct{}{}, called: make(chan string, 100)}
}

func (d *fakeDirectory) set(user string, channels ...string) {
	d.mu.Lock()
	d.channels[user] = channels
	d.mu.Unlock()
}

func (d *fakeDirectory) SessionChannels(ctx context.Context, userArn string) ([]string, error) {
	d.mu.Lock()
	block := d.block[userArn]
	d.mu.Unlock()
	if block != nil {
		d.called <- userArn
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.errs[userArn]; err != nil {
		return nil, err
	}
	return append([]string(nil), d.channels[userArn]...), nil
}

func (d *fakeDirectory) Prefetch(ctx context.Context, userArn, sortBy string) ([]events.ChannelDetails, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sortBy = append(d.sortBy, sortBy)
	return d.details, nil
}

type testHub struct {
	*Hub
	bus    testBus
	dir    *fakeDirectory
	url    string            // ws://host/connect or wss://host/connect
	dialer *websocket.Dialer // trusts the test server's certificate
}

// startHub serves a hub on a loopback test server. wrapListener, when not
// nil, wraps the server's listener (to shrink socket buffers).
func startHub(t testing.TB, opts Options, wrapListener func(net.Listener) net.Listener) *testHub {
	t.Helper()
	return startHubServer(t, opts, wrapListener, false)
}

// startHubTLS is startHub over TLS.
func startHubTLS(t testing.TB, opts Options) *testHub {
	t.Helper()
	return startHubServer(t, opts, nil, true)
}

func startHubServer(t testing.TB, opts Options, wrapListener func(net.Listener) net.Listener, useTLS bool) *testHub {
	t.Helper()
	th := &testHub{bus: testBus{events.NewMemory()}, dir: newFakeDirectory()}
	if opts.Directory == nil {
		opts.Directory = th.dir
	}
	opts.Auth = fakeAuth{}
	opts.Bus = th.bus.Memory
	h, err := NewHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	th.Hub = h
	srv := httptest.NewUnstartedServer(h)
	if wrapListener != nil {
		srv.Listener = wrapListener(srv.Listener)
	}
	th.dialer = websocket.DefaultDialer
	if useTLS {
		// As TLSListener does, under httptest's own TLS listener.
		srv.Listener = nbListener{srv.Listener}
		srv.StartTLS()
		th.dialer = &websocket.Dialer{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	} else {
		srv.Start()
	}
	th.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/connect"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return th
}

// connectURL is a /connect URL for the fake authenticator.
func (th *testHub) connectURL(user, sessionID, key string, extra ...string) string {
	q := url.Values{}
	if user != "" {
		q.Set("userArn", user)
	}
	if sessionID != "" {
		q.Set("sessionId", sessionID)
	}
	q.Set("key", key)
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return th.url + "?" + q.Encode()
}

// dial connects and checks that the upgrade itself succeeded.
func dial(t testing.TB, d *websocket.Dialer, u string) *websocket.Conn {
	t.Helper()
	if d == nil {
		d = websocket.DefaultDialer
	}
	c, res, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, res)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status %d, want 101", res.StatusCode)
	}
	return c
}

// connect dials as user with the root key and waits for SESSION_ESTABLISHED.
func (th *testHub) connect(t testing.TB, user, sessionID string) *websocket.Conn {
	t.Helper()
	c := dial(t, th.dialer, th.connectURL(user, sessionID, "root"))
	t.Cleanup(func() { c.Close() })
	if f := readFrame(t, c); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %+v, want SESSION_ESTABLISHED", f)
	}
	return c
}

type wireFrame struct {
	Headers map[string]string
	Payload *string
	raw     []byte
}

// readFrame reads one text frame; the deadline only keeps a broken test
// from hanging.
func readFrame(t testing.TB, c *websocket.Conn) wireFrame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("frame type %d, want text", typ)
	}
	var f wireFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame is not JSON: %s", b)
	}
	f.raw = b
	return f
}

// expectClose reads until the close frame and checks its code.
func expectClose(t testing.TB, c *websocket.Conn, code int, reason string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err == nil {
			t.Logf("frame before close: %s", b)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read error %v, want close %d", err, code)
		}
		if ce.Code != code || (reason != "" && ce.Text != reason) {
			t.Fatalf("close %d %q, want %d %q", ce.Code, ce.Text, code, reason)
		}
		return
	}
}

// message is a CREATE_CHANNEL_MESSAGE event for channel with id.
func message(channel, id string) events.Event {
	p, _ := json.Marshal(events.ChannelMessage{ChannelArn: channel, MessageId: id, Content: &id, Type: "STANDARD", Persistence: "PERSISTENT", Status: &events.MessageStatus{Value: "SENT"}})
	return events.Event{Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT", ChannelArn: channel, Payload: p, Members: true}
}

// marker is an event addressed to users only; as events arrive in order,
// receiving it proves that nothing published before it is still coming.
func marker(id string, users ...string) events.Event {
	e := message(ch1, id)
	e.Members = false
	e.Users = users
	return e
}

func messageID(t testing.TB, f wireFrame) string {
	t.Helper()
	if f.Payload == nil {
		t.Fatalf("frame without payload: %s", f.raw)
	}
	var m struct{ MessageId, ChannelArn string }
	if err := json.Unmarshal([]byte(*f.Payload), &m); err != nil {
		t.Fatalf("payload is not a JSON object in a string: %s", f.raw)
	}
	return m.MessageId
}

// expectMessages reads frames and checks their message ids, in order.
func expectMessages(t testing.TB, c *websocket.Conn, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := messageID(t, readFrame(t, c)); got != id {
			t.Fatalf("got message %q, want %q", got, id)
		}
	}
}

// skipSlowConsumer skips tests that need small socket buffers where they
// cannot be set.
var skipSlowConsumer = func(testing.TB) {}

func httpGet(u string) (int, error) {
	res, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// bigMessage is a message with size bytes of metadata.
func bigMessage(channel, id string, size int) events.Event {
	meta := strings.Repeat("x", size)
	p, _ := json.Marshal(events.ChannelMessage{ChannelArn: channel, MessageId: id, Content: &id, Metadata: &meta, Type: "STANDARD", Persistence: "PERSISTENT"})
	e := message(channel, id)
	e.Payload = p
	return e
}

// testBus publishes without a context, as the tests were written.
type testBus struct{ *events.Memory }

func (b testBus) Publish(evs ...events.Event) {
	if err := b.Memory.Publish(context.Background(), evs...); err != nil {
		panic(err)
	}
}
