package delivery

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestNodesShareTheQueue: workers of three nodes, each on its own pool to
// one PostgreSQL database, drain one queue at once: every delivery is made
// exactly once, and each channel's records in order.
func TestNodesShareTheQueue(t *testing.T) {
	u := pgtest.MigratedURL(t)
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	sink := &fakeSink{}
	var workers []*Worker
	var first store.Store
	for range 3 {
		st := pgtest.Open(t, u)
		if first == nil {
			first = st
		}
		workers = append(workers, New(Config{Store: st, Push: sink, Stream: sink, Now: clk.Now}))
	}
	var want []string
	for c := range 4 {
		ch := fmt.Sprintf("ch%d", c)
		var bodies []string
		for i := range 15 {
			bodies = append(bodies, fmt.Sprintf("%s/%02d", ch, i))
		}
		queue(t, first, clk.Now(), ch, bodies...)
		want = append(want, bodies...)
	}
	queue(t, first, clk.Now(), "", "push-a", "push-b", "push-c")
	want = append(want, "push-a", "push-b", "push-c")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for len(sink.got()) < len(want) && ctx.Err() == nil {
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(func() {
				if err := w.RunOnce(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	got := sink.got()
	if len(got) != len(want) {
		t.Fatalf("delivered %d, want %d: %v", len(got), len(want), got)
	}
	seen := map[string]bool{}
	last := map[string]string{}
	for _, b := range got {
		if seen[b] {
			t.Errorf("%s delivered twice", b)
		}
		seen[b] = true
		ch, _, ok := cut(b)
		if !ok {
			continue
		}
		if last[ch] > b {
			t.Errorf("%s delivered after %s", b, last[ch])
		}
		last[ch] = b
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("delivered %v, want %v", sorted(got), sorted(want))
	}
}

func cut(b string) (string, string, bool) {
	for i := range len(b) {
		if b[i] == '/' {
			return b[:i], b[i+1:], true
		}
	}
	return "", "", false
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestNodeTakesBackItsOwnLeases: on a shared store, a node that restarts
// (same Node name) takes back the deliveries it had leased at once, while a
// node of another name leaves them alone until the lease runs out, and
// then takes them over.
func TestNodeTakesBackItsOwnLeases(t *testing.T) {
	u := pgtest.MigratedURL(t)
	open := func() store.Store {
		st := pgtest.Open(t, u)
		return st
	}
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	st := open()
	queue(t, st, clk.Now(), "", "a1", "b1")

	// Node a leases a1, node b leases b1; then both die mid-attempt.
	for _, c := range []struct{ node, body string }{{"a", "a1"}, {"b", "b1"}} {
		w := New(Config{Store: open(), Push: &fakeSink{}, Now: clk.Now, Node: c.node})
		got, err := w.claim(t.Context(), 1)
		if err != nil || len(got) != 1 || got[0].Body != c.body || got[0].LeaseOwner != c.node {
			t.Fatalf("node %s claimed %+v, %v", c.node, got, err)
		}
	}
	// a starts again: its own lease is due at once, b's is not.
	sink := &fakeSink{}
	a := New(Config{Store: open(), Push: sink, Now: clk.Now, Node: "a"})
	if err := a.reclaim(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sink.got(); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("restarted node a delivered %v, want [a1]", got)
	}
	// b's lease runs out: a takes it over.
	clk.Advance(31 * time.Second)
	if err := a.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sink.got(); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("after b's lease ran out node a delivered %v, want [a1 b1]", got)
	}
}
