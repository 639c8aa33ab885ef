package relay_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/relay"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

const ch = "arn:aws:chime:us-east-1:111122223333:app-instance/app/channel/ch"

func commit(t *testing.T, st store.Store, names ...string) {
	t.Helper()
	err := st.Update(t.Context(), func(tx store.Tx) error {
		var data [][]byte
		for _, n := range names {
			b, err := events.Encode(&events.Event{Type: "CREATE_CHANNEL_MESSAGE", ChannelArn: ch, Members: true, Payload: []byte(`"` + n + `"`)})
			if err != nil {
				return err
			}
			data = append(data, b)
		}
		_, err := tx.AppendOutbox(t.Context(), data...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openStore opens a fresh SQLite store, closed when the test ends.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// watchAll subscribes to every event of bus until the test ends.
func watchAll(t *testing.T, bus events.Bus) events.Subscription {
	t.Helper()
	sub, err := bus.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	sub.Watch(events.AllTopic)
	return sub
}

// next reads one event; the deadline only keeps a broken relay from
// hanging the test.
func next(t *testing.T, sub events.Subscription) events.Event {
	t.Helper()
	select {
	case e := <-sub.C():
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return events.Event{}
	}
}

func run(t *testing.T, st store.Store, bus events.Bus, opts relay.Options) (*relay.Relay, func()) {
	r := relay.New(st, bus, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	return r, func() { cancel(); <-done }
}

// TestSurvivesCrash: events committed by a process that died before its
// relay published them are published by the next process's relay, with
// their outbox sequence as ID, in commit order.
func TestSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, st, "a", "b") // the commit; then the crash: no relay ran
	commit(t, st, "c")
	st.Close()

	st, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := events.NewMemory()
	sub, err := bus.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sub.Watch(events.AudienceTopic(ch))
	_, stop := run(t, st, bus, relay.Options{TrimInterval: time.Millisecond})
	var last uint64
	for _, want := range []string{`"a"`, `"b"`, `"c"`} {
		e := next(t, sub)
		if string(e.Payload) != want || e.ID <= last {
			t.Fatalf("got %s id %d after id %d, want %s in order", e.Payload, e.ID, last, want)
		}
		last = e.ID
	}
	stop()
	// Published and stopped cleanly: the outbox is empty.
	st.View(t.Context(), func(tx store.ReadTx) error {
		rows, err := tx.ListOutbox(t.Context(), 0, 10)
		if err != nil || len(rows) != 0 {
			t.Fatalf("outbox after a clean stop: %d rows, %v", len(rows), err)
		}
		return nil
	})
}

// TestWakeIsPrompt: a woken relay publishes a commit within milliseconds,
// not at a polling interval.
func TestWakeIsPrompt(t *testing.T) {
	st := openStore(t)
	bus := events.NewMemory()
	sub := watchAll(t, bus)
	r, stop := run(t, st, bus, relay.Options{})
	defer stop()
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		commit(t, st, "m")
		r.Wake()
		e := next(t, sub)
		if e.ID == 0 {
			t.Fatalf("event %d without ID", i)
		}
		worst = max(worst, time.Since(start))
	}
	// Generous for a loaded CI machine, far below any polling interval.
	if worst > time.Second {
		t.Fatalf("slowest commit-to-publish took %v", worst)
	}
	t.Logf("slowest commit-to-publish: %v", worst)
}

// TestPaceBatchesWakes: a wake right after a read waits for Pace and then
// publishes every commit of the pause in one read; the first wake after a
// quiet moment is served at once; stopping does not wait for the pace.
func TestPaceBatchesWakes(t *testing.T) {
	st := openStore(t)
	bus := &countingBus{Bus: events.NewMemory()}
	sub := watchAll(t, bus)
	const pace = time.Second
	r, stop := run(t, st, bus, relay.Options{Pace: pace})
	commit(t, st, "a")
	r.Wake()
	// Served within the pace of Run's first read, or at once after it.
	if e := next(t, sub); string(e.Payload) != `"a"` {
		t.Fatalf("got %s, want a", e.Payload)
	}
	publishes := bus.calls()
	start := time.Now()
	for _, n := range []string{"b", "c", "d"} {
		commit(t, st, n)
		r.Wake()
	}
	for _, want := range []string{`"b"`, `"c"`, `"d"`} {
		if e := next(t, sub); string(e.Payload) != want {
			t.Fatalf("got %s, want %s", e.Payload, want)
		}
	}
	if took := time.Since(start); took > pace+5*time.Second {
		t.Errorf("three wakes in a burst published after %v", took)
	}
	if n := bus.calls() - publishes; n != 1 {
		t.Errorf("three commits woken within the pace took %d publishes, want 1", n)
	}
	commit(t, st, "e")
	r.Wake()
	stopped := time.Now()
	stop()
	if took := time.Since(stopped); took > pace/2 {
		t.Errorf("stopping took %v: it waited for the pace", took)
	}
}

type countingBus struct {
	events.Bus
	mu sync.Mutex
	n  int
}

func (b *countingBus) Publish(ctx context.Context, evs ...events.Event) error {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return b.Bus.Publish(ctx, evs...)
}

func (b *countingBus) calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// failingBus fails the first publishes: the relay retries and loses
// nothing.
type failingBus struct {
	events.Bus
	fails int
}

func (b *failingBus) Publish(ctx context.Context, evs ...events.Event) error {
	if b.fails > 0 {
		b.fails--
		return context.DeadlineExceeded
	}
	return b.Bus.Publish(ctx, evs...)
}

func TestRetriesFailedPublish(t *testing.T) {
	st := openStore(t)
	mem := events.NewMemory()
	sub := watchAll(t, mem)
	commit(t, st, "x")
	_, stop := run(t, st, &failingBus{Bus: mem, fails: 2}, relay.Options{Retry: time.Millisecond})
	defer stop()
	if e := next(t, sub); string(e.Payload) != `"x"` {
		t.Fatalf("got %s", e.Payload)
	}
}

// TestMetrics: failed publishes count, and the relay reports how long
// events have waited for the bus until a publish succeeds.
func TestMetrics(t *testing.T) {
	st := openStore(t)
	reg := prometheus.NewRegistry()
	r := relay.New(st, &failingBus{Bus: events.NewMemory(), fails: 2}, relay.Options{Registerer: reg})
	metric := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				m := mf.GetMetric()[0]
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	commit(t, st, "x", "y")
	for i := 1; i <= 2; i++ {
		if err := r.Flush(t.Context()); err == nil {
			t.Fatalf("publish %d succeeded on a failing bus", i)
		}
		if got := metric("belfry_outbox_publish_failures_total"); got != float64(i) {
			t.Errorf("failures after %d = %v", i, got)
		}
	}
	if got := metric("belfry_outbox_stalled_seconds"); got <= 0 {
		t.Errorf("stalled seconds while failing = %v", got)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := metric("belfry_outbox_stalled_seconds"); got != 0 {
		t.Errorf("stalled seconds once published = %v", got)
	}
	if got := metric("belfry_outbox_published_seq"); got != 2 {
		t.Errorf("published seq = %v, want 2", got)
	}
}

// countingStore counts the relay's reads of the outbox.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	views int
}

func (s *countingStore) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	s.mu.Lock()
	s.views++
	s.mu.Unlock()
	return s.Store.View(ctx, fn)
}

func (s *countingStore) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.views
}

// TestHandedEventsSkipTheOutbox: events handed over by Committed, as the
// service hands them after its commits, are published without reading
// the outbox, under the Seqs they committed with; a commit of several
// events, or one the relay was not told of, is a gap that it fills by
// reading the outbox, in commit order.
func TestHandedEventsSkipTheOutbox(t *testing.T) {
	st := &countingStore{Store: openStore(t)}
	bus := events.NewMemory()
	sub := watchAll(t, bus)
	r, stop := run(t, st, bus, relay.Options{})
	defer stop()
	// send commits one event for each name, as the service does: the
	// outbox rows, then Committed with the Seq of the last.
	send := func(names ...string) {
		t.Helper()
		var evs []events.Event
		err := st.Update(t.Context(), func(tx store.Tx) error {
			evs = nil
			var data [][]byte
			for _, n := range names {
				e := events.Event{Type: "CREATE_CHANNEL_MESSAGE", ChannelArn: ch, Members: true, Payload: []byte(`"` + n + `"`)}
				b, err := events.Encode(&e)
				if err != nil {
					return err
				}
				evs, data = append(evs, e), append(data, b)
			}
			last, err := tx.AppendOutbox(t.Context(), data...)
			tx.AfterCommit(func() { r.Committed(last, evs) })
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	expect := func(firstID uint64, names ...string) {
		t.Helper()
		for i, n := range names {
			e := next(t, sub)
			if string(e.Payload) != `"`+n+`"` || e.ID != firstID+uint64(i) || e.ChannelArn != ch || !e.Members {
				t.Fatalf("got event %d %s, want %d %q", e.ID, e.Payload, firstID+uint64(i), n)
			}
		}
	}

	send("a")
	expect(1, "a") // read, or handed: Run's first pass reads the outbox
	reads := st.reads()
	for i, n := range []string{"b", "c", "d"} {
		send(n)
		expect(uint64(2+i), n)
	}
	if got := st.reads(); got != reads {
		t.Errorf("handed events read the outbox %d times", got-reads)
	}

	send("e", "f") // several events: only the last Seq is known
	expect(5, "e", "f")
	if st.reads() == reads {
		t.Error("a commit of two events was published without reading the outbox")
	}
	send("g")
	expect(7, "g")
	reads = st.reads()
	send("h")
	expect(8, "h")
	if got := st.reads(); got != reads {
		t.Errorf("a handed event after a gap read the outbox %d times", got-reads)
	}

	commit(t, st, "i") // a commit the relay is not told of
	send("j")
	expect(9, "i", "j")
}
