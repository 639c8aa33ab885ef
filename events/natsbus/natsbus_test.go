package natsbus

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/events/bustest"
	"github.com/belfryhq/belfry/internal/natstest"
)

// startServer runs an embedded NATS server with JetStream on port (0: any
// free port), keeping the stream in storeDir ("": a new directory).
func startServer(t *testing.T, port int, storeDir ...string) *server.Server {
	t.Helper()
	dir := ""
	if len(storeDir) > 0 {
		dir = storeDir[0]
	}
	return natstest.Start(t, port, dir)
}

func freePort(t *testing.T) int { return natstest.FreePort(t) }

// outbox is an in-memory stand-in for the store's outbox: committed
// records with increasing IDs, and a relay cursor.
type outbox struct {
	mu        sync.Mutex
	recs      []Record
	published int // records the relay has published
	replays   atomic.Int64
}

func (o *outbox) commit(evs ...events.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range evs {
		o.recs = append(o.recs, Record{ID: uint64(len(o.recs) + 1), Event: e})
	}
}

// relay publishes what is committed and not yet published, as the
// outbox relay does, and reports whether everything is published.
func (o *outbox) relay(ctx context.Context, b *Bus) bool {
	o.mu.Lock()
	pending := append([]Record(nil), o.recs[o.published:]...)
	o.mu.Unlock()
	if len(pending) == 0 {
		return true
	}
	if err := b.PublishRecords(ctx, pending...); err != nil {
		return false
	}
	o.mu.Lock()
	o.published += len(pending)
	done := o.published == len(o.recs)
	o.mu.Unlock()
	return done
}

func (o *outbox) EventsAfter(_ context.Context, after uint64, limit int) ([]Record, error) {
	o.replays.Add(1)
	o.mu.Lock()
	defer o.mu.Unlock()
	if after >= uint64(len(o.recs)) {
		return nil, nil
	}
	out := o.recs[after:]
	if len(out) > limit {
		out = out[:limit]
	}
	return append([]Record(nil), out...), nil
}

func (o *outbox) LastID(context.Context) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return uint64(len(o.recs)), nil
}

func connect(t *testing.T, url string, o Options) *Bus {
	t.Helper()
	b, err := Connect(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// settle waits until s's Watch calls have taken effect.
func settle(t *testing.T, s *Subscription) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.Settled() {
		if time.Now().After(deadline) {
			t.Fatal("subscription did not settle")
		}
		time.Sleep(time.Millisecond)
	}
}

// receive reads n events; the timeout only keeps a broken bus from hanging
// the test.
func receive(t *testing.T, s events.Subscription, n int) []events.Event {
	t.Helper()
	var out []events.Event
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-s.C():
			if !ok {
				t.Fatalf("closed after %d of %d events", len(out), n)
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("received %d of %d events: %v", len(out), n, describe(out))
		}
	}
	return out
}

func msg(channel string, i int) events.Event {
	return events.Event{Type: "CREATE_CHANNEL_MESSAGE", ChannelArn: channel, Members: true, Payload: []byte(strconv.Itoa(i))}
}

func describe(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ChannelArn+"/"+string(e.Payload))
	}
	return out
}

func TestScopedSubscription(t *testing.T) {
	srv := startServer(t, 0)
	pub := connect(t, srv.ClientURL(), Options{})
	node := connect(t, srv.ClientURL(), Options{})
	sub := node.SubscribeScoped()
	defer sub.Close()
	sub.WatchAudience("c1")
	sub.WatchAudience(events.AudienceKey("c2", "sub-1"))
	sub.WatchUser("u1")
	settle(t, sub)

	tests := []struct {
		ev   events.Event
		want bool
	}{
		{msg("c1", 1), true},
		{msg("c9", 2), false},
		{events.Event{ChannelArn: "c9", Users: []string{"u1"}, Payload: []byte("3")}, true},
		{events.Event{ChannelArn: "c9", Users: []string{"u9"}, Payload: []byte("4")}, false},
		{events.Event{ChannelArn: "c9", Members: true, Joined: []string{"u1"}, Payload: []byte("5")}, true},
		{events.Event{ChannelArn: "c9", Members: true, Left: []string{"u1"}, Payload: []byte("6")}, true},
		{events.Event{ChannelArn: "c8", Members: true, ChannelDeleted: true, Payload: []byte("7")}, true},
		{events.Event{ChannelArn: "c2", SubChannelID: "sub-1", Members: true, Payload: []byte("8")}, true},
		{events.Event{ChannelArn: "c2", SubChannelID: "sub-2", Members: true, Payload: []byte("9")}, false},
		{msg("c2", 10), false},
		// On the audience and the user's subject: delivered once.
		{events.Event{ChannelArn: "c1", Members: true, Users: []string{"u1"}, Payload: []byte("11")}, true},
	}
	var want []events.Event
	for _, tc := range tests {
		pub.Publish(t.Context(), tc.ev)
		if tc.want {
			want = append(want, tc.ev)
		}
	}
	// A marker: everything before it has arrived.
	pub.Publish(t.Context(), events.Event{ChannelArn: "end", Users: []string{"u1"}, Payload: []byte("end1")})
	want = append(want, events.Event{ChannelArn: "end", Payload: []byte("end1")})
	got := describe(receive(t, sub, len(want)))
	if fmt.Sprint(got) != fmt.Sprint(describe(want)) {
		t.Fatalf("received %v\nwant %v", got, describe(want))
	}

	// Unwatched: no more of c1.
	sub.UnwatchAudience("c1")
	settle(t, sub)
	pub.Publish(t.Context(), msg("c1", 12), events.Event{ChannelArn: "end", Users: []string{"u1"}, Payload: []byte("end2")})
	if got := describe(receive(t, sub, 1)); fmt.Sprint(got) != "[end/end2]" {
		t.Fatalf("after unwatching c1: %v", got)
	}
}

func TestOrderAndDuplicates(t *testing.T) {
	srv := startServer(t, 0)
	box := &outbox{}
	pub := connect(t, srv.ClientURL(), Options{})
	node := connect(t, srv.ClientURL(), Options{Replay: box})
	sub := node.SubscribeScoped()
	defer sub.Close()
	const channels, perChannel = 8, 250
	for c := range channels {
		sub.WatchAudience("c" + strconv.Itoa(c))
	}
	settle(t, sub)

	for i := range perChannel {
		for c := range channels {
			box.commit(msg("c"+strconv.Itoa(c), i))
		}
	}
	ctx := context.Background()
	if !box.relay(ctx, pub) {
		t.Fatal("relay failed")
	}
	// A relay that crashed before recording its progress publishes again
	// (or another node's relay publishes the same events): the stream
	// knows the IDs, so they go no further.
	if err := pub.PublishRecords(ctx, box.recs[:100]...); err != nil {
		t.Fatal(err)
	}
	box.commit(msg("c0", perChannel))
	box.relay(ctx, pub)

	got := receive(t, sub, channels*perChannel+1)
	dedup := map[string]bool{}
	next := map[string]int{}
	for _, e := range got {
		if k := e.ChannelArn + "/" + string(e.Payload); dedup[k] {
			continue
		} else {
			dedup[k] = true
		}
		i, _ := strconv.Atoi(string(e.Payload))
		if i != next[e.ChannelArn] {
			t.Fatalf("%s: got %d, want %d (out of order or duplicated)", e.ChannelArn, i, next[e.ChannelArn])
		}
		next[e.ChannelArn]++
	}
	select {
	case e := <-sub.C():
		t.Fatalf("extra event %s/%s", e.ChannelArn, e.Payload)
	case <-time.After(100 * time.Millisecond):
	}
}

// A node learns that its user joined a channel before it follows the
// channel; a message published in between reaches it from the outbox.
func TestWatchReplaysWhatTheSubscriptionMissed(t *testing.T) {
	srv := startServer(t, 0)
	box := &outbox{}
	pub := connect(t, srv.ClientURL(), Options{})
	node := connect(t, srv.ClientURL(), Options{Replay: box})
	sub := node.SubscribeScoped()
	defer sub.Close()
	sub.WatchUser("u1")
	settle(t, sub)

	box.commit(
		msg("c1", 0), // before the join: not for u1
		events.Event{ChannelArn: "c1", Members: true, Joined: []string{"u1"}, Payload: []byte("1")},
		msg("c1", 2),
		msg("c1", 3),
	)
	if !box.relay(context.Background(), pub) {
		t.Fatal("relay failed")
	}
	joined := receive(t, sub, 1)
	if string(joined[0].Payload) != "1" {
		t.Fatalf("first event %s, want the join", joined[0].Payload)
	}
	// What the hub does on a join: follow the channel.
	sub.WatchAudience("c1")
	box.commit(msg("c1", 4))
	box.relay(context.Background(), pub)
	got := describe(receive(t, sub, 3))
	if want := "[c1/2 c1/3 c1/4]"; fmt.Sprint(got) != want {
		t.Fatalf("after the join: %v, want %s", got, want)
	}
}

// A node whose connection drops while others publish gets, after it
// reconnects, every event committed meanwhile, once and in order.
func TestDisconnectLosesNothing(t *testing.T) {
	srv := startServer(t, 0)
	box := &outbox{}
	pub := connect(t, srv.ClientURL(), Options{})
	// Slow to reconnect, so that the relay publishes while it is away;
	// it reads what it missed from the stream.
	node := connect(t, srv.ClientURL(), Options{NATS: []nats.Option{nats.ReconnectWait(300 * time.Millisecond)}})
	sub := node.SubscribeScoped()
	defer sub.Close()
	sub.WatchAudience("c1")
	settle(t, sub)
	ctx := context.Background()

	box.commit(msg("c1", 0))
	box.relay(ctx, pub)
	receive(t, sub, 1)

	id, err := node.nc.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DisconnectClientByID(id); err != nil {
		t.Fatal(err)
	}
	for node.nc.IsConnected() { // the drop is seen by the client's reader
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 50; i++ {
		box.commit(msg("c1", i))
	}
	if !box.relay(ctx, pub) {
		t.Fatal("relay failed")
	}
	if node.nc.Stats().Reconnects != 0 {
		t.Fatal("reconnected before the relay published: the test proves nothing")
	}
	got := receive(t, sub, 50)
	for i, e := range got {
		if string(e.Payload) != strconv.Itoa(i+1) {
			t.Fatalf("event %d is %s", i, describe(got))
		}
	}
}

// The NATS server restarts: events committed while it is down are
// published by the relay once it is back, and events published just before
// it went down are not lost.
func TestServerRestartLosesNothing(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	box := &outbox{}
	pub := connect(t, srv.ClientURL(), Options{})
	node := connect(t, srv.ClientURL(), Options{})
	sub := node.SubscribeScoped()
	defer sub.Close()
	sub.WatchAudience("c1")
	sub.WatchUser("u1")
	settle(t, sub)
	ctx := context.Background()

	for i := range 20 {
		box.commit(msg("c1", i))
	}
	box.relay(ctx, pub)
	srv.Shutdown()
	srv.WaitForShutdown()
	for i := 20; i < 40; i++ {
		box.commit(msg("c1", i))
	}
	shortCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if box.relay(shortCtx, pub) {
		t.Fatal("relay published with the server down")
	}
	cancel()
	startServer(t, port, dir)
	deadline := time.Now().Add(20 * time.Second)
	for !box.relay(ctx, pub) {
		if time.Now().After(deadline) {
			t.Fatal("relay never published after the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A publish that timed out while the server was down may still have
	// gone out from the connection's buffer on reconnect, and the relay
	// publishes it again: delivery is at least once, and the hub drops
	// repeated IDs, as done here.
	var got []events.Event
	seen := map[string]bool{}
	timeout := time.After(20 * time.Second)
	for len(got) < 40 {
		select {
		case e := <-sub.C():
			if !seen[string(e.Payload)] {
				seen[string(e.Payload)] = true
				got = append(got, e)
			}
		case <-timeout:
			t.Fatalf("received %v", describe(got))
		}
	}
	for i, e := range got {
		if string(e.Payload) != strconv.Itoa(i) {
			t.Fatalf("received %v", describe(got))
		}
	}
}

// BenchmarkFanOut measures events per second from a relay's connection
// through NATS to a node's subscription, in relay-sized batches.
func BenchmarkFanOut(b *testing.B) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		b.Fatal("not ready")
	}
	defer srv.Shutdown()
	pub, err := Connect(srv.ClientURL(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	node, err := Connect(srv.ClientURL(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	sub := node.SubscribeScoped()
	defer sub.Close()
	sub.WatchAudience("c1")
	for !sub.Settled() {
		time.Sleep(time.Millisecond)
	}
	const batch = 256
	recs := make([]Record, batch)
	for i := range recs {
		recs[i] = Record{ID: uint64(i + 1), Event: msg("c1", i)}
		recs[i].Event.Payload = make([]byte, 300)
	}
	done := make(chan struct{})
	go func() {
		for range b.N * batch {
			<-sub.C()
		}
		close(done)
	}()
	b.ResetTimer()
	for n := range b.N {
		for i := range recs { // new IDs: the stream sends a stored ID out once
			recs[i].ID = uint64(n*batch + i + 1)
		}
		if err := pub.PublishRecords(context.Background(), recs...); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// The stream finds the events after an ID wherever it is: the stream's
// end, middle or start, gaps in the IDs, a page limit.
func TestStreamEventsAfter(t *testing.T) {
	srv := startServer(t, 0)
	b := connect(t, srv.ClientURL(), Options{})
	r := b.opts.Replay
	ctx := context.Background()
	if id, err := r.LastID(ctx); err != nil || id != 0 {
		t.Fatalf("LastID of an empty stream: %d, %v", id, err)
	}
	if recs, err := r.EventsAfter(ctx, 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("EventsAfter on an empty stream: %v, %v", recs, err)
	}
	// IDs 2, 4, ..., 200 (a PostgreSQL sequence leaves gaps); the user
	// copy of each event is not stored twice.
	var recs []Record
	for i := 1; i <= 100; i++ {
		e := msg("c1", i)
		e.Users = []string{"u1"}
		recs = append(recs, Record{ID: uint64(2 * i), Event: e})
	}
	if err := b.PublishRecords(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	if id, err := r.LastID(ctx); err != nil || id != 200 {
		t.Fatalf("LastID: %d, %v", id, err)
	}
	tests := []struct {
		after     uint64
		limit     int
		wantFirst uint64
		wantN     int
	}{
		{0, 1000, 2, 100},
		{1, 1000, 2, 100},
		{2, 1000, 4, 99},
		{99, 1000, 100, 51},
		{100, 10, 102, 10},
		{197, 1000, 198, 2},
		{198, 1000, 200, 1},
		{200, 1000, 0, 0},
		{500, 1000, 0, 0},
	}
	for _, tc := range tests {
		got, err := r.EventsAfter(ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("after %d: %v", tc.after, err)
		}
		if len(got) != tc.wantN || (tc.wantN > 0 && got[0].ID != tc.wantFirst) {
			t.Errorf("after %d limit %d: %d events from %v, want %d from %d", tc.after, tc.limit, len(got), got, tc.wantN, tc.wantFirst)
			continue
		}
		for i := 1; i < len(got); i++ {
			if got[i].ID != got[i-1].ID+2 {
				t.Errorf("after %d: IDs %d then %d", tc.after, got[i-1].ID, got[i].ID)
			}
		}
	}
}

// TestBus runs the events.Bus conformance suite on NATS with the stream.
func TestBus(t *testing.T) {
	bustest.Run(t, func(t *testing.T) events.Bus {
		srv := startServer(t, 0)
		return connect(t, srv.ClientURL(), Options{})
	})
}
