package natsbus

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/realtime"
)

// Two nodes, each a real-time hub on its own NATS connection; the relay
// publishes from a third. Sessions get what a single node would give them.

const (
	app   = "arn:aws:chime:us-east-1:111122223333:app-instance/app"
	alice = app + "/user/alice"
	bob   = app + "/user/bob"
	carol = app + "/user/carol"
	ch1   = app + "/channel/ch1"
	ch2   = app + "/channel/ch2"
	ch3   = app + "/channel/ch3"
)

type rootAuth struct{}

func (rootAuth) AuthenticatePresigned(*http.Request) (chime.Principal, error) {
	return chime.Principal{AccessKeyID: "ROOT"}, nil
}

type directory map[string][]string

func (d directory) SessionChannels(_ context.Context, userArn string) ([]string, error) {
	return d[userArn], nil
}

func (directory) Prefetch(context.Context, string, string) ([]events.ChannelDetails, error) {
	return nil, nil
}

type node struct {
	bus *Bus
	url string
}

func startNode(t *testing.T, natsURL string, dir directory, box *outbox) *node {
	t.Helper()
	bus := connect(t, natsURL, Options{Replay: box})
	h, err := realtime.NewHub(realtime.Options{Directory: dir, Auth: rootAuth{}, Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return &node{bus: bus, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/connect"}
}

// connectSession opens a session and waits until its node follows what it
// needs.
func (n *node) connectSession(t *testing.T, user, id string) *websocket.Conn {
	t.Helper()
	q := url.Values{"userArn": {user}, "sessionId": {id}}
	c, _, err := websocket.DefaultDialer.Dial(n.url+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if typ := frameType(t, readFrame(t, c)); typ != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %s", typ)
	}
	waitSettled(t, n.bus)
	return c
}

func waitSettled(t *testing.T, b *Bus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !b.Settled() {
		if time.Now().After(deadline) {
			t.Fatal("bus did not settle")
		}
		time.Sleep(time.Millisecond)
	}
}

type frame struct {
	Headers map[string]string
	Payload *string
}

func readFrame(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

func frameType(t *testing.T, f frame) string { return f.Headers["x-amz-chime-event-type"] }

func expect(t *testing.T, c *websocket.Conn, ids ...string) {
	t.Helper()
	for _, id := range ids {
		f := readFrame(t, c)
		var m struct{ MessageId string }
		if f.Payload != nil {
			json.Unmarshal([]byte(*f.Payload), &m)
		}
		if m.MessageId != id {
			t.Fatalf("got %s %q, want %q", frameType(t, f), m.MessageId, id)
		}
	}
}

func message(channel, id string) events.Event {
	p, _ := json.Marshal(events.ChannelMessage{ChannelArn: channel, MessageId: id, Content: &id, Type: "STANDARD", Persistence: "PERSISTENT"})
	return events.Event{Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT", ChannelArn: channel, Payload: p, Members: true}
}

// marker is addressed to users only; receiving it proves nothing published
// before it is still coming.
func marker(id string, users ...string) events.Event {
	e := message(ch1, id)
	e.Members, e.Users = false, users
	return e
}

func TestHubsOnTwoNodes(t *testing.T) {
	srv := startServer(t, 0)
	box := &outbox{}
	relay := connect(t, srv.ClientURL(), Options{})
	dir := directory{alice: {ch1}, bob: {ch1, ch2}}
	a := startNode(t, srv.ClientURL(), dir, box)
	b := startNode(t, srv.ClientURL(), dir, box)
	aliceA := a.connectSession(t, alice, "a")
	bobB := b.connectSession(t, bob, "b")
	carolB := b.connectSession(t, carol, "c")
	publish := func(evs ...events.Event) {
		t.Helper()
		box.commit(evs...)
		if !box.relay(context.Background(), relay) {
			t.Fatal("relay failed")
		}
	}

	publish(message(ch1, "m1"), message(ch2, "m2"), marker("end1", alice, bob, carol))
	expect(t, aliceA, "m1", "end1")
	expect(t, bobB, "m1", "m2", "end1")
	expect(t, carolB, "end1")

	// carol joins ch3, which nobody on her node follows, and messages
	// follow at once: her node learns of the join before it follows ch3,
	// and gets them all the same (from the outbox), once and in order.
	join := message(ch3, "carol-joined")
	join.Type, join.MessageType, join.Joined = "CREATE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{carol}
	publish(join, message(ch3, "m3"), message(ch3, "m3b"), marker("end2", alice, bob, carol))
	expect(t, aliceA, "end2")
	expect(t, bobB, "end2")
	expect(t, carolB, "carol-joined", "m3", "m3b", "end2")
	publish(message(ch3, "m3c"))
	expect(t, carolB, "m3c")

	// bob leaves ch1: node B stops following it; alice on A goes on.
	leave := message(ch1, "bob-left")
	leave.Type, leave.MessageType, leave.Left = "DELETE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{bob}
	publish(leave, message(ch1, "m4"), marker("end3", alice, bob, carol))
	expect(t, aliceA, "bob-left", "m4", "end3")
	expect(t, bobB, "bob-left", "end3")
	expect(t, carolB, "end3")

	// ch2 deleted: its members hear of it, then nothing more of it.
	del := message(ch2, "ch2-deleted")
	del.Type, del.MessageType, del.ChannelDeleted = "DELETE_CHANNEL", "SYSTEM", true
	publish(del, message(ch2, "after-delete"), marker("end4", alice, bob, carol))
	expect(t, aliceA, "end4")
	expect(t, bobB, "ch2-deleted", "end4")
	expect(t, carolB, "end4")

	// A second session of alice on node B.
	alice2 := b.connectSession(t, alice, "a2")
	publish(message(ch1, "m5"))
	expect(t, aliceA, "m5")
	expect(t, alice2, "m5")
}
