package claimloop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestLoopRunsEveryClaimedItemWithinTheBound(t *testing.T) {
	const n, bound = 20, 3
	var mu sync.Mutex
	next, inFlight, maxInFlight := 0, 0, 0
	done := map[int]bool{}
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		Loop[int]{
			Concurrency: bound,
			Claim: func(_ context.Context, limit int) ([]int, error) {
				mu.Lock()
				defer mu.Unlock()
				if limit > bound {
					t.Errorf("claim limit %d > bound %d", limit, bound)
				}
				var out []int
				for ; next < n && len(out) < limit; next++ {
					out = append(out, next)
				}
				return out, nil
			},
			Do: func(_ context.Context, it int) error {
				mu.Lock()
				inFlight++
				maxInFlight = max(maxInFlight, inFlight)
				mu.Unlock()
				time.Sleep(time.Millisecond) // hold the slot so the bound matters
				mu.Lock()
				inFlight--
				done[it] = true
				mu.Unlock()
				return nil
			},
			Wake: wake,
			Poke: func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			},
			ClaimFailed: func(err error) { t.Error(err) },
			DoFailed:    func(_ int, err error) { t.Error(err) },
		}.Run(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		all := len(done) == n
		mu.Unlock()
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d items done", len(done), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-stopped
	if maxInFlight > bound {
		t.Errorf("%d items in flight, bound %d", maxInFlight, bound)
	}
}

func TestEachJoinsErrors(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	seen := map[int]bool{}
	err := Each(t.Context(), []int{1, 2, 3}, func(_ context.Context, it int) error {
		mu.Lock()
		seen[it] = true
		mu.Unlock()
		if it == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || len(seen) != 3 {
		t.Fatalf("err = %v, seen %v; want boom and all three run", err, seen)
	}
	if err := Each(t.Context(), []int(nil), func(context.Context, int) error { return boom }); err != nil {
		t.Fatalf("no items: err = %v", err)
	}
}
