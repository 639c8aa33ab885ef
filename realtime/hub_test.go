package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
)

func TestConnectRefusals(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	th.dir.errs[carol] = chime.Errorf(chime.Forbidden, "no such user")
	th.dir.errs[bob] = errors.New("disk on fire")
	gone := testApp + "/user/gone"
	th.dir.errs[gone] = fmt.Errorf("wrapped: %w", chime.Errorf(chime.NotFound, "deleted"))

	tests := []struct {
		name   string
		url    string
		code   int
		reason string
	}{
		{"bad signature", th.connectURL(alice, "s", "bad"), CloseUnauthorized, "Unauthorized"},
		{"authentication fails internally", th.connectURL(alice, "s", "boom"), CloseInternalError, "Internal error"},
		{"scoped key of another user", th.connectURL(alice, "s", "bound:"+bob), CloseForbidden, "Forbidden"},
		{"no userArn", th.connectURL("", "s", "root"), CloseForbidden, "Forbidden"},
		{"no such user", th.connectURL(carol, "s", "root"), CloseForbidden, "Forbidden"},
		{"deleted user", th.connectURL(gone, "s", "root"), CloseForbidden, "Forbidden"},
		{"directory fails", th.connectURL(bob, "s", "root"), CloseInternalError, "Internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, nil, tt.url) // the upgrade always succeeds
			defer c.Close()
			expectClose(t, c, tt.code, tt.reason)
		})
	}

	// A key bound to alice may connect as alice; no sessionId is fine.
	c := dial(t, nil, th.connectURL(alice, "", "bound:"+alice))
	defer c.Close()
	if f := readFrame(t, c); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("scoped key of the user itself: %s", f.raw)
	}
}

func TestNotAWebsocketHandshake(t *testing.T) {
	th := startHub(t, Options{}, nil)
	res, err := httpGet(strings.Replace(th.connectURL(alice, "s", "root"), "ws://", "http://", 1))
	if err != nil {
		t.Fatal(err)
	}
	if res != 400 {
		t.Errorf("plain GET /connect: %d, want 400", res)
	}
}

func TestSessionEstablishedAndPrefetch(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1, ch2)
	th.dir.details = []events.ChannelDetails{
		{Channel: events.ChannelSummary{ChannelArn: ch1, Name: "one"}, ChannelMessages: []events.ChannelMessageSummary{}, ChannelMemberships: []events.ChannelMembershipSummary{}},
		{Channel: events.ChannelSummary{ChannelArn: ch2, Name: "two"}, ChannelMessages: []events.ChannelMessageSummary{}, ChannelMemberships: []events.ChannelMembershipSummary{}, ChannelMessagesHasMore: true},
	}

	// Without prefetch: SESSION_ESTABLISHED, exactly as documented, then events.
	c := dial(t, nil, th.connectURL(alice, "plain", "root"))
	defer c.Close()
	f := readFrame(t, c)
	if want := `{"Headers":{"x-amz-chime-event-type":"SESSION_ESTABLISHED","x-amz-chime-message-type":"SYSTEM"}}`; string(f.raw) != want {
		t.Errorf("first frame\n got %s\nwant %s", f.raw, want)
	}
	th.bus.Publish(message(ch1, "m1"))
	expectMessages(t, c, "m1")

	// With prefetch: SESSION_ESTABLISHED, then one CHANNEL_DETAILS per channel.
	for _, tc := range []struct{ sortParam, want string }{{"", SortUnread}, {SortLastMessageTimestamp, SortLastMessageTimestamp}, {"nonsense", SortUnread}} {
		extra := []string{"prefetch-on", "connect"}
		if tc.sortParam != "" {
			extra = append(extra, "prefetch-sort-by", tc.sortParam)
		}
		c := dial(t, nil, th.connectURL(alice, "prefetch-"+tc.sortParam, "root", extra...))
		if f := readFrame(t, c); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
			t.Fatalf("first frame %s", f.raw)
		}
		for _, name := range []string{"one", "two"} {
			f := readFrame(t, c)
			if f.Headers["x-amz-chime-event-type"] != "CHANNEL_DETAILS" || f.Headers["x-amz-chime-message-type"] != "SYSTEM" || f.Payload == nil {
				t.Fatalf("prefetch frame %s", f.raw)
			}
			var d events.ChannelDetails
			if err := json.Unmarshal([]byte(*f.Payload), &d); err != nil || d.Channel.Name != name {
				t.Fatalf("prefetch payload %s (%v), want channel %q", *f.Payload, err, name)
			}
		}
		th.dir.mu.Lock()
		got := th.dir.sortBy[len(th.dir.sortBy)-1]
		th.dir.mu.Unlock()
		if got != tc.want {
			t.Errorf("prefetch-sort-by %q: Directory asked for %q, want %q", tc.sortParam, got, tc.want)
		}
		c.Close()
	}

	// prefetch-sort-by alone does not prefetch.
	c2 := dial(t, nil, th.connectURL(alice, "sort-only", "root", "prefetch-sort-by", SortUnread))
	defer c2.Close()
	readFrame(t, c2)
	th.bus.Publish(message(ch1, "m2"))
	expectMessages(t, c2, "m2")
}

func TestFrameFormat(t *testing.T) {
	e := events.Event{Type: "DELETE_CHANNEL_MEMBERSHIP", MessageType: "SYSTEM", Reason: "subchannel_DELETED", ChannelArn: ch1,
		Payload: []byte(`{"ChannelArn":"` + ch1 + `","Member":{"Arn":"a","Name":"<b>&"}}`)}
	want := `{"Headers":{"x-amz-chime-event-type":"DELETE_CHANNEL_MEMBERSHIP","x-amz-chime-message-type":"SYSTEM","x-amz-chime-event-reason":"subchannel_DELETED"},` +
		`"Payload":"{\"ChannelArn\":\"` + ch1 + `\",\"Member\":{\"Arn\":\"a\",\"Name\":\"<b>&\"}}"}`
	if got := string(eventFrame(&e)); got != want {
		t.Errorf("frame\n got %s\nwant %s", got, want)
	}
	m := message(ch1, "m1")
	var f wireFrame
	if err := json.Unmarshal(eventFrame(&m), &f); err != nil {
		t.Fatal(err)
	}
	if f.Headers["x-amz-chime-persistence-type"] != "PERSISTENT" || f.Headers["x-amz-chime-message-type"] != "STANDARD" || *f.Payload != string(m.Payload) {
		t.Errorf("message frame %+v", f)
	}
}

func TestDeliveryRules(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1, ch2)
	th.dir.set(bob, ch1)
	a := th.connect(t, alice, "a")
	b := th.connect(t, bob, "b")
	c := th.connect(t, carol, "c")

	// Members: every member's sessions, nobody else.
	th.bus.Publish(message(ch1, "to-ch1"), message(ch2, "to-ch2"), marker("end1", alice, bob, carol))
	expectMessages(t, a, "to-ch1", "to-ch2", "end1")
	expectMessages(t, b, "to-ch1", "end1")
	expectMessages(t, c, "end1")

	// Users: delivered whether or not they are members; a member listed
	// in Users as well gets the frame once.
	targeted := message(ch1, "targeted")
	targeted.Members = false
	targeted.Users = []string{carol, alice}
	both := message(ch1, "both")
	both.Users = []string{alice, carol}
	th.bus.Publish(targeted, both, marker("end2", alice, bob, carol))
	expectMessages(t, a, "targeted", "both", "end2")
	expectMessages(t, b, "both", "end2")
	expectMessages(t, c, "targeted", "both", "end2")

	// Joined applies before delivery: carol gets her own
	// CREATE_CHANNEL_MEMBERSHIP, then the channel's messages.
	join := message(ch1, "carol-joined")
	join.Type, join.MessageType, join.Joined = "CREATE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{carol}
	th.bus.Publish(join, message(ch1, "after-join"))
	expectMessages(t, a, "carol-joined", "after-join")
	expectMessages(t, b, "carol-joined", "after-join")
	expectMessages(t, c, "carol-joined", "after-join")

	// Left applies after delivery: bob learns of his removal, then
	// nothing more of ch1.
	leave := message(ch1, "bob-left")
	leave.Type, leave.MessageType, leave.Left = "DELETE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{bob}
	th.bus.Publish(leave, message(ch1, "after-leave"), marker("end3", alice, bob, carol))
	expectMessages(t, a, "bob-left", "after-leave", "end3")
	expectMessages(t, b, "bob-left", "end3")
	expectMessages(t, c, "bob-left", "after-leave", "end3")

	// ChannelDeleted: the members hear of it, then every session forgets it.
	del := message(ch1, "deleted")
	del.Type, del.MessageType, del.ChannelDeleted = "DELETE_CHANNEL", "SYSTEM", true
	th.bus.Publish(del, message(ch1, "after-delete"), message(ch2, "ch2-still"), marker("end4", alice, bob, carol))
	expectMessages(t, a, "deleted", "ch2-still", "end4")
	expectMessages(t, b, "end4")
	expectMessages(t, c, "deleted", "end4")

	// Every session of a user receives the user's events.
	a2 := th.connect(t, alice, "a2")
	th.bus.Publish(message(ch2, "two-sessions"))
	expectMessages(t, a, "two-sessions")
	expectMessages(t, a2, "two-sessions")
}

func TestSessionReplaced(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	old := th.connect(t, alice, "tab")
	other := th.connect(t, alice, "other-tab")
	newer := th.connect(t, alice, "tab")
	expectClose(t, old, ClosePolicyViolation, "Session replaced by a newer connection with the same sessionId")
	th.bus.Publish(message(ch1, "m1"))
	expectMessages(t, newer, "m1")
	expectMessages(t, other, "m1")
}

func TestSessionLimit(t *testing.T) {
	th := startHub(t, Options{MaxSessionsPerUser: 2}, nil)
	th.dir.set(alice, ch1)
	th.dir.set(bob, ch1)
	a1 := th.connect(t, alice, "1")
	th.connect(t, alice, "2")
	c := dial(t, nil, th.connectURL(alice, "3", "root"))
	defer c.Close()
	expectClose(t, c, ClosePolicyViolation, "Too many sessions for this user")
	// Replacing one of the two is not a third.
	a2 := th.connect(t, alice, "2")
	b := th.connect(t, bob, "1")
	th.bus.Publish(message(ch1, "m1"))
	for _, c := range []*websocket.Conn{a1, a2, b} {
		expectMessages(t, c, "m1")
	}
}

func TestSlowConsumer(t *testing.T) {
	skipSlowConsumer(t)
	slowDropped := make(chan string, 1)
	reg := prometheus.NewRegistry()
	th := startHub(t, Options{SendQueueLimit: 4, WriteTimeout: time.Minute, Registerer: reg,
		onSlowConsumer: func(user, _ string) { slowDropped <- user }}, smallSendBuffers)
	th.dir.set(alice, ch1)
	th.dir.set(bob, ch1)
	fast := th.connect(t, alice, "fast")
	slow := dial(t, smallReceiveBufferDialer(), th.connectURL(bob, "slow", "root"))
	defer slow.Close()
	if f := readFrame(t, slow); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %s", f.raw)
	}

	// bob stops reading; alice keeps up. Publish one large message at a
	// time until bob's queue overflows.
	var sent int
	for dropped := false; !dropped; {
		if sent == 500 {
			t.Fatal("500 messages and the slow consumer is still connected")
		}
		th.bus.Publish(bigMessage(ch1, fmt.Sprintf("m%03d", sent), 4096))
		expectMessages(t, fast, fmt.Sprintf("m%03d", sent))
		sent++
		select {
		case u := <-slowDropped:
			if u != bob {
				t.Fatalf("dropped %s", u)
			}
			dropped = true
		default:
		}
	}
	// alice is unaffected.
	th.bus.Publish(message(ch1, "after"))
	expectMessages(t, fast, "after")

	// bob reads what reached his socket, in order, then the retryable close.
	for i := 0; ; i++ {
		slow.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := slow.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseTryAgainLater {
				t.Fatalf("slow consumer: %v, want close %d", err, CloseTryAgainLater)
			}
			t.Logf("slow consumer got %d of %d messages before close %d %q", i, sent, ce.Code, ce.Text)
			if i >= sent {
				t.Errorf("slow consumer received everything (%d) yet was dropped", i)
			}
			break
		}
		var f wireFrame
		json.Unmarshal(b, &f)
		f.raw = b
		if got, want := messageID(t, f), fmt.Sprintf("m%03d", i); got != want {
			t.Fatalf("slow consumer got %s, want %s", got, want)
		}
	}
	if n := testutil.ToFloat64(th.metrics.slowConsumers); n != 1 {
		t.Errorf("slow-consumer counter = %v, want 1", n)
	}
	if n := testutil.ToFloat64(th.metrics.closes.WithLabelValues("1013")); n != 1 {
		t.Errorf("closes{code=1013} = %v, want 1", n)
	}
}

func TestDrain(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	b := th.connect(t, bob, "b")
	th.bus.Publish(message(ch1, "before-drain"))
	expectMessages(t, a, "before-drain")

	done := make(chan error, 1)
	go func() { done <- th.Shutdown(context.Background()) }()
	expectClose(t, a, CloseGoingAway, "Going away")
	expectClose(t, b, CloseGoingAway, "Going away")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// A connection after the drain is upgraded and told to go away.
	c := dial(t, nil, th.connectURL(alice, "late", "root"))
	defer c.Close()
	expectClose(t, c, CloseGoingAway, "Going away")
}

// TestMembershipChangesWhileLoading covers the race between a session
// loading its channel list and membership changes committed meanwhile: the
// list is a snapshot from before the changes, and the changes must not be
// lost when the session joins the index.
func TestMembershipChangesWhileLoading(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(bob, ch1, ch2, ch3)
	b := th.connect(t, bob, "b")

	// alice's list, as the store had it before the changes below.
	th.dir.set(alice, ch1, ch3)
	release := make(chan struct{})
	th.dir.mu.Lock()
	th.dir.block[alice] = release
	th.dir.mu.Unlock()
	a := dial(t, nil, th.connectURL(alice, "a", "root"))
	defer a.Close()
	if u := <-th.dir.called; u != alice {
		t.Fatalf("directory called for %s", u)
	}

	joined := message(ch2, "alice-joined-ch2")
	joined.Type, joined.MessageType, joined.Joined = "CREATE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{alice}
	left := message(ch1, "alice-left-ch1")
	left.Type, left.MessageType, left.Left = "DELETE_CHANNEL_MEMBERSHIP", "SYSTEM", []string{alice}
	deleted := message(ch3, "ch3-deleted")
	deleted.Type, deleted.MessageType, deleted.ChannelDeleted = "DELETE_CHANNEL", "SYSTEM", true
	th.bus.Publish(joined, left, deleted, marker("hub-has-seen-them", bob))
	// bob receives them in the hub's order, so when the marker arrives the
	// hub has processed the three changes while alice was loading.
	expectMessages(t, b, "alice-joined-ch2", "alice-left-ch1", "ch3-deleted", "hub-has-seen-them")

	close(release)
	if f := readFrame(t, a); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %s", f.raw)
	}
	th.bus.Publish(message(ch1, "in-ch1"), message(ch2, "in-ch2"), message(ch3, "in-ch3"), marker("end", alice))
	expectMessages(t, a, "in-ch2", "end")
}

// TestEventsDuringLoadAreNotDelivered: nothing reaches a session before its
// SESSION_ESTABLISHED, not even an event addressed to its user.
func TestEventsDuringLoadAreNotDelivered(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	release := make(chan struct{})
	th.dir.block[alice] = release
	a := dial(t, nil, th.connectURL(alice, "a", "root"))
	defer a.Close()
	<-th.dir.called
	b := th.connect(t, bob, "b")
	th.bus.Publish(marker("early", alice, bob))
	expectMessages(t, b, "early")
	close(release)
	if f := readFrame(t, a); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %s, want SESSION_ESTABLISHED", f.raw)
	}
	th.bus.Publish(message(ch1, "later"))
	expectMessages(t, a, "later")
}

func TestPings(t *testing.T) {
	// Long enough that a loaded machine answers in time, short enough
	// for a quick test.
	th := startHub(t, Options{PingInterval: 150 * time.Millisecond}, nil)
	th.dir.set(alice, ch1)

	// A client that answers pings stays connected well past two intervals.
	a := th.connect(t, alice, "a")
	pings := make(chan struct{}, 100)
	a.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return a.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	frames := make(chan []byte, 10)
	go func() {
		defer close(frames)
		for {
			_, b, err := a.ReadMessage()
			if err != nil {
				return
			}
			frames <- b
		}
	}()
	deadline := time.After(30 * time.Second)
	for got := 0; got < 4; { // four pings: past the two-interval limit
		select {
		case <-pings:
			got++
		case _, ok := <-frames:
			if !ok {
				t.Fatalf("the client that answers pings was dropped after %d pings", got)
			}
		case <-deadline:
			t.Fatalf("%d pings in 30 s at an interval of 150 ms", got)
		}
	}

	// A client that never answers is dropped.
	b := th.connect(t, bob, "b")
	b.SetPingHandler(func(string) error { return nil })
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := b.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("silent client: %v, want the connection dropped", err)
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept a client that answers no pings")
		}
		break
	}
	// alice is still there.
	th.bus.Publish(message(ch1, "still-here"))
	b2, ok := <-frames
	if !ok || !strings.Contains(string(b2), "still-here") {
		t.Fatalf("the client that answers pings: %q, %v", b2, ok)
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	th := startHub(t, Options{Registerer: reg}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	th.bus.Publish(message(ch1, "m1"))
	expectMessages(t, a, "m1")
	if n := testutil.ToFloat64(th.metrics.sessions); n != 1 {
		t.Errorf("sessions = %v, want 1", n)
	}
	names, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range names {
		got = append(got, mf.GetName())
	}
	for _, want := range []string{"belfry_realtime_sessions", "belfry_realtime_frames_sent_total"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("registry lacks %s: %v", want, got)
		}
	}
	if _, err := NewHub(Options{Directory: th.dir, Auth: fakeAuth{}, Bus: th.bus.Memory, Registerer: reg}); err == nil {
		t.Error("a second hub on the same registry must fail, not panic")
	}
}

// TestClientFramesIgnored: whatever a client sends is read and dropped;
// the session carries on.
func TestClientFramesIgnored(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	for _, m := range []struct {
		typ  int
		data string
	}{{websocket.TextMessage, "hello"}, {websocket.BinaryMessage, strings.Repeat("\x00", 100000)}, {websocket.TextMessage, "{}"}} {
		if err := a.WriteMessage(m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	th.bus.Publish(message(ch1, "m1"))
	expectMessages(t, a, "m1")
}

// TestFrameLengths sends frames around the boundaries of the three length
// encodings of RFC 6455 and checks that a client reads them intact.
func TestFrameLengths(t *testing.T) {
	th := startHub(t, Options{}, nil)
	a := th.connect(t, alice, "a")
	for _, size := range []int{125, 126, 127, 65535, 65536, 70000} {
		e := events.Event{Type: "UPDATE_CHANNEL", MessageType: "SYSTEM", ChannelArn: ch1, Users: []string{alice}}
		e.Payload = []byte(`{"P":""}`)
		pad := size - len(eventFrame(&e))
		if pad < 0 {
			t.Fatalf("size %d is below the envelope", size)
		}
		e.Payload = []byte(`{"P":"` + strings.Repeat("p", pad) + `"}`)
		want := eventFrame(&e)
		if len(want) != size {
			t.Fatalf("built a %d-byte frame, want %d", len(want), size)
		}
		th.bus.Publish(e)
		if got := readFrame(t, a); string(got.raw) != string(want) {
			t.Fatalf("%d-byte frame arrived as %d bytes", size, len(got.raw))
		}
	}
}

// An elastic channel's sub-channels are audiences of their own: a
// sub-channel event reaches that sub-channel's members only; a transfer
// moves a member between them; deleting the channel forgets them all.
func TestSubChannelDelivery(t *testing.T) {
	th := startHub(t, Options{}, nil)
	s1, s2 := events.AudienceKey(ch1, "s1"), events.AudienceKey(ch1, "s2")
	th.dir.set(alice, s1)
	th.dir.set(bob, s2)
	th.dir.set(carol, s1, s2) // a moderator in both
	a := th.connect(t, alice, "a")
	b := th.connect(t, bob, "b")
	c := th.connect(t, carol, "c")

	inSub := func(sub, id string) events.Event {
		e := message(ch1, id)
		e.SubChannelID = sub
		return e
	}
	th.bus.Publish(inSub("s1", "to-s1"), inSub("s2", "to-s2"), message(ch1, "to-channel"), marker("end1", alice, bob, carol))
	expectMessages(t, a, "to-s1", "end1")
	expectMessages(t, b, "to-s2", "end1")
	expectMessages(t, c, "to-s1", "to-s2", "end1")

	// alice moves from s1 to s2 (UPDATE_CHANNEL_MEMBERSHIP, to her alone).
	move := marker("alice-moved", alice)
	move.Type, move.MessageType, move.SubChannelID, move.FromSubChannelID, move.Joined = "UPDATE_CHANNEL_MEMBERSHIP", "SYSTEM", "s2", "s1", []string{alice}
	th.bus.Publish(move, inSub("s1", "s1-after"), inSub("s2", "s2-after"), marker("end2", alice, bob, carol))
	expectMessages(t, a, "alice-moved", "s2-after", "end2")
	expectMessages(t, b, "s2-after", "end2")
	expectMessages(t, c, "s1-after", "s2-after", "end2")

	// carol's s2 membership ends; her s1 one stays.
	left := inSub("s2", "carol-left-s2")
	left.Members, left.Users, left.Left = false, []string{carol}, []string{carol}
	th.bus.Publish(left, inSub("s1", "s1-later"), inSub("s2", "s2-later"), marker("end3", alice, bob, carol))
	expectMessages(t, a, "s2-later", "end3")
	expectMessages(t, b, "s2-later", "end3")
	expectMessages(t, c, "carol-left-s2", "s1-later", "end3")

	// Deleting the channel forgets its sub-channels.
	del := message(ch1, "deleted")
	del.Type, del.MessageType, del.ChannelDeleted, del.Members, del.Users = "DELETE_CHANNEL", "SYSTEM", true, false, []string{alice, bob, carol}
	th.bus.Publish(del, inSub("s1", "gone-s1"), inSub("s2", "gone-s2"), marker("end4", alice, bob, carol))
	for _, conn := range []*websocket.Conn{a, b, c} {
		expectMessages(t, conn, "deleted", "end4")
	}
}

// TestMemoryReleasedAfterStorm: once ReleaseAfter sessions have been
// established and a second passes without another, the hub returns free
// memory to the OS, once.
func TestMemoryReleasedAfterStorm(t *testing.T) {
	th := startHub(t, Options{ReleaseAfter: 3}, nil)
	for _, u := range []string{alice, bob, carol} {
		th.dir.set(u, ch1)
		th.connect(t, u, "s")
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(th.metrics.memoryReleases) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no release after the storm")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	th.bus.Publish(message(ch1, "after"))
	th.mu.Lock()
	n, due := th.stormN, th.stormCheckDue
	th.mu.Unlock()
	if n != 0 || due {
		t.Errorf("after the release: %d sessions counted, check due %v", n, due)
	}
}
