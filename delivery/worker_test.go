package delivery

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

// fakeSink records what it delivered and fails as its fail function says.
type fakeSink struct {
	mu        sync.Mutex
	delivered []string
	attempts  map[string]int
	fail      func(body string, attempt int) error
}

func (f *fakeSink) Deliver(_ context.Context, d store.Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.attempts == nil {
		f.attempts = map[string]int{}
	}
	f.attempts[d.Body]++
	if f.fail != nil {
		if err := f.fail(d.Body, f.attempts[d.Body]); err != nil {
			return err
		}
	}
	f.delivered = append(f.delivered, d.Body)
	return nil
}

func (f *fakeSink) Target(store.Delivery) string { return "fake" }

func (f *fakeSink) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.delivered)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// queue adds stream records body to channel ch (ordered per channel), or
// pushes when ch is "".
func queue(t testing.TB, st store.Store, now time.Time, ch string, bodies ...string) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, b := range bodies {
			d := store.Delivery{Kind: store.DeliveryPush, AppInstanceID: "app", Body: b, State: store.DeliveryPending,
				NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
			if ch != "" {
				d.Kind, d.ChannelArn, d.OrderKey, d.Target, d.PartitionKey = store.DeliveryStream, ch, "s "+ch, "s", ch
			}
			if _, err := tx.CreateDelivery(context.Background(), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func listAll(t *testing.T, st store.Store, kind store.DeliveryKind) []store.Delivery {
	t.Helper()
	var ds []store.Delivery
	err := st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		ds, err = tx.ListDeliveries(t.Context(), store.DeliveryFilter{Kind: kind})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// drain runs rounds, advancing the clock past every backoff, until nothing
// is pending or rounds run out.
func drain(t *testing.T, w *Worker, clk *clock, rounds int) {
	t.Helper()
	for range rounds {
		if err := w.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
}

func TestStreamOrderSurvivesRetries(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sink := &fakeSink{fail: func(body string, n int) error {
		if body == "a1" && n < 4 {
			return errors.New("503 Service Unavailable")
		}
		return nil
	}}
	reg := prometheus.NewRegistry()
	w := New(Config{Store: st, Stream: sink, Now: clk.Now, Registerer: reg, RetryBase: 100 * time.Millisecond, RetryMax: time.Second})
	queue(t, st, clk.Now(), "A", "a1", "a2", "a3")
	queue(t, st, clk.Now(), "B", "b1", "b2")

	if err := w.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A's head failed, so A waits; B is not held up by A.
	if got := sink.got(); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("first round delivered %v", got)
	}
	drain(t, w, clk, 10)
	var a, b []string
	for _, s := range sink.got() {
		if s[0] == 'a' {
			a = append(a, s)
		} else {
			b = append(b, s)
		}
	}
	if !slices.Equal(a, []string{"a1", "a2", "a3"}) || !slices.Equal(b, []string{"b1", "b2"}) {
		t.Errorf("delivered A %v, B %v", a, b)
	}
	for _, d := range listAll(t, st, store.DeliveryStream) {
		if d.State != store.DeliveryDelivered {
			t.Errorf("%s is %s", d.Body, d.State)
		}
	}
	if got := testutil.ToFloat64(w.failures.WithLabelValues("stream")); got != 3 {
		t.Errorf("failures = %v, want 3", got)
	}
	if got := testutil.ToFloat64(w.attempts.WithLabelValues("stream")); got != 8 {
		t.Errorf("attempts = %v, want 8", got)
	}
	if got := testutil.ToFloat64(w.depth.WithLabelValues("stream")); got != 0 {
		t.Errorf("queue depth = %v, want 0", got)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	w := New(Config{Store: nil, RetryBase: 250 * time.Millisecond, RetryMax: 2 * time.Second})
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, w.backoff(n))
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
}

func TestPermanentFailureAndMaxAgeGiveUp(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sink := &fakeSink{fail: func(body string, n int) error {
		switch body {
		case "refused":
			return permanent{errors.New("400 Bad Request")}
		case "down":
			return errors.New("connection refused")
		}
		return nil
	}}
	w := New(Config{Store: st, Push: sink, Now: clk.Now, MaxAge: time.Minute, RetryMax: time.Second})
	queue(t, st, clk.Now(), "", "refused", "down", "fine")
	drain(t, w, clk, 3)
	states := map[string]store.Delivery{}
	for _, d := range listAll(t, st, store.DeliveryPush) {
		states[d.Body] = d
	}
	if d := states["refused"]; d.State != store.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "400") {
		t.Errorf("refused: %+v", d)
	}
	if d := states["down"]; d.State != store.DeliveryPending || d.Attempts < 2 {
		t.Errorf("down, early: %+v", d)
	}
	if d := states["fine"]; d.State != store.DeliveryDelivered {
		t.Errorf("fine: %+v", d)
	}
	clk.Advance(time.Minute)
	drain(t, w, clk, 1)
	for _, d := range listAll(t, st, store.DeliveryPush) {
		if d.Body == "down" && d.State != store.DeliveryFailed {
			t.Errorf("down after MaxAge: %+v", d)
		}
	}
}

func TestNoSinkMarksUnsentAndPruneKeepsTheNewest(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := New(Config{Store: st, Now: clk.Now, Keep: 3})
	for i := range 5 {
		queue(t, st, clk.Now(), "", fmt.Sprint("p", i))
		queue(t, st, clk.Now(), "C", fmt.Sprint("s", i))
	}
	drain(t, w, clk, 6)
	for _, k := range kinds {
		ds := listAll(t, st, k)
		var bodies []string
		for _, d := range ds {
			if d.State != store.DeliveryUnsent {
				t.Errorf("%s is %s", d.Body, d.State)
			}
			bodies = append(bodies, d.Body)
		}
		p := "p"
		if k == store.DeliveryStream {
			p = "s"
		}
		if want := []string{p + "4", p + "3", p + "2"}; !slices.Equal(bodies, want) {
			t.Errorf("%s kept %v, want %v", k, bodies, want)
		}
	}
}

// A worker that dies with deliveries leased (kill -9 mid-attempt) leaves
// them to the next process, which delivers them at once.
func TestRestartTakesOverLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := openStore(t, path)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	queue(t, st, clk.Now(), "C", "c1", "c2")
	first := New(Config{Store: st, Stream: &fakeSink{}, Now: clk.Now})
	leased, err := first.claim(t.Context(), 10)
	if err != nil || len(leased) != 1 || leased[0].Body != "c1" {
		t.Fatalf("claim: %v %v", leased, err)
	}
	// The process dies here. A new one, on the same database:
	sink := &fakeSink{}
	second := New(Config{Store: st, Stream: sink, Now: clk.Now})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); second.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.got()) < 2 && time.Now().Before(deadline) {
		second.Wake()
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if got := sink.got(); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("after restart delivered %v", got)
	}
}
