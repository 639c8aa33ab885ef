package natsbus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/belfryhq/belfry/events"
)

// holdingReplayer's first LastID is a request the server takes and never
// answers (a responder that keeps it), as a stream read in flight when
// NATS goes down is; its later calls answer at once.
type holdingReplayer struct {
	bus   atomic.Pointer[Bus]
	calls atomic.Int32
}

func (r *holdingReplayer) LastID(ctx context.Context) (uint64, error) {
	if r.calls.Add(1) > 1 {
		return 0, nil
	}
	_, err := r.bus.Load().nc.RequestWithContext(ctx, "test.hold", nil)
	if err == nil {
		err = errors.New("the held request was answered")
	}
	return 0, err
}

func (r *holdingReplayer) EventsAfter(context.Context, uint64, int) ([]Record, error) {
	return nil, nil
}

// publishUntilStored retries the relay's publish until the (restarted)
// server's stream takes it.
func publishUntilStored(t *testing.T, pub *Bus, recs ...Record) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := pub.PublishRecords(ctx, recs...)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nextWithin returns the next event, failing after d.
func nextWithin(t *testing.T, sub events.Subscription, d time.Duration) events.Event {
	t.Helper()
	select {
	case e := <-sub.C():
		return e
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
		return events.Event{}
	}
}

// A request of the Subscription's goroutine in flight when the NATS server
// goes away is never answered, and nats.go does not fail it on a reconnect
// (only on Close). It must not hold the goroutine, which delivers every
// event of the node, for its whole timeout (30 s) after NATS is back.
func TestRequestInFlightAtRestartDoesNotStallDelivery(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	holder, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	held := make(chan struct{}, 1)
	if _, err := holder.Subscribe("test.hold", func(*nats.Msg) {
		select {
		case held <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := holder.Flush(); err != nil {
		t.Fatal(err)
	}

	r := &holdingReplayer{}
	node := connect(t, srv.ClientURL(), Options{Replay: r})
	r.bus.Store(node)
	pub := connect(t, srv.ClientURL(), Options{})
	sub := node.SubscribeScoped() // its goroutine starts with LastID
	defer sub.Close()
	if err := sub.WatchAudience("c1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the server")
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	startServer(t, port, dir)
	deadline := time.Now().Add(10 * time.Second)
	for !node.Connected() || node.nc.Stats().Reconnects == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the node did not reconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	publishUntilStored(t, pub, Record{ID: 1, Event: msg("c1", 1)})
	if e := nextWithin(t, sub, 10*time.Second); e.ID != 1 {
		t.Fatalf("got event %d, want 1", e.ID)
	}
}

// A resume reads the stream from well before the highest ID the node saw
// (ReplayOverlap), so it reaches events of a channel published before the
// node followed it, which the Watch's catch-up passed over on purpose (a
// session that opens does not get a channel's past). The resume must pass
// over them too: delivered now, they would come after the channel's newer
// events (the creator's own CREATE_CHANNEL_MEMBERSHIP after the messages).
func TestResumeSkipsEventsFromBeforeTheWatch(t *testing.T) {
	srv := startServer(t, 0)
	pub := connect(t, srv.ClientURL(), Options{})
	node := connect(t, srv.ClientURL(), Options{})
	ctx := context.Background()
	created := events.Event{Type: "CREATE_CHANNEL_MEMBERSHIP", ChannelArn: "c1", Members: true, Joined: []string{"creator"}, Payload: []byte("created")}
	if err := pub.PublishRecords(ctx, Record{ID: 1, Event: created}); err != nil {
		t.Fatal(err)
	}

	sub := node.SubscribeScoped()
	defer sub.Close()
	if err := sub.WatchAudience("c1"); err != nil {
		t.Fatal(err)
	}
	settle(t, sub)
	for i := 2; i <= 5; i++ {
		if err := pub.PublishRecords(ctx, Record{ID: uint64(i), Event: msg("c1", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i <= 5; i++ {
		if e := nextWithin(t, sub, 10*time.Second); e.ID != uint64(i) {
			t.Fatalf("got event %d, want %d", e.ID, i)
		}
	}

	// The node's connection drops and comes back: it resumes.
	id, err := node.nc.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DisconnectClientByID(id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !node.Connected() || node.nc.Stats().Reconnects == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the node did not reconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := pub.PublishRecords(ctx, Record{ID: 6, Event: msg("c1", 6)}); err != nil {
		t.Fatal(err)
	}
	if e := nextWithin(t, sub, 10*time.Second); e.ID != 6 {
		t.Fatalf("after the resume: event %d (%s), want 6", e.ID, e.Payload)
	}
}

// gatedReplayer holds every read of box until open is closed.
type gatedReplayer struct {
	box  *outbox
	open chan struct{}
}

func (r gatedReplayer) wait(ctx context.Context) error {
	select {
	case <-r.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r gatedReplayer) LastID(ctx context.Context) (uint64, error) {
	if err := r.wait(ctx); err != nil {
		return 0, err
	}
	return r.box.LastID(ctx)
}

func (r gatedReplayer) EventsAfter(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	return r.box.EventsAfter(ctx, after, limit)
}

// A Watch whose catch-up runs after the connection dropped and came back
// reads a head that holds what was published while the node was away:
// those events are not "from before the Watch", and the channel is
// delivered from the last event handed out, not from that head.
func TestWatchInterruptedByADropLosesNothing(t *testing.T) {
	srv := startServer(t, 0)
	box := &outbox{}
	pub := connect(t, srv.ClientURL(), Options{})
	r := gatedReplayer{box: box, open: make(chan struct{})}
	node := connect(t, srv.ClientURL(), Options{Replay: r, NATS: []nats.Option{nats.ReconnectWait(300 * time.Millisecond)}})
	sub := node.SubscribeScoped()
	defer sub.Close()
	if err := sub.WatchAudience("c1"); err != nil { // its catch-up waits for the gate
		t.Fatal(err)
	}
	id, err := node.nc.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DisconnectClientByID(id); err != nil {
		t.Fatal(err)
	}
	for node.nc.IsConnected() {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 3; i++ {
		box.commit(msg("c1", i))
	}
	if !box.relay(context.Background(), pub) {
		t.Fatal("relay failed")
	}
	if node.nc.Stats().Reconnects != 0 {
		t.Fatal("reconnected before the relay published: the test proves nothing")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !node.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the node did not reconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(r.open)
	for i := 1; i <= 3; i++ {
		if e := nextWithin(t, sub, 10*time.Second); e.ID != uint64(i) {
			t.Fatalf("got event %d, want %d", e.ID, i)
		}
	}
}
