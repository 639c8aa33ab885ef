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
	"github.com/belfryhq/belfry/store/postgres"
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
		st, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
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
