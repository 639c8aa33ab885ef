// Package claimloop is the loop the background workers (channel-flow jobs,
// push and streaming deliveries) share: claim a batch of due items with a
// lease, run each on its own within a concurrency bound, and look again
// when woken, when an item finishes, or on a timer for retries.
package claimloop

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Interval is how often Run looks for due items without being woken: the
// granularity of retry backoff.
const Interval = 250 * time.Millisecond

// Loop describes one worker's loop.
type Loop[T any] struct {
	// Concurrency bounds the items in flight.
	Concurrency int
	// Claim leases up to limit due items.
	Claim func(ctx context.Context, limit int) ([]T, error)
	// Do runs one claimed item and records its outcome.
	Do func(ctx context.Context, item T) error
	// Wake is signalled to look again at once; a finished item signals it
	// through Poke, as its slot is free and the next of its order may be due.
	Wake <-chan struct{}
	Poke func()
	// Round, when not nil, runs first in every round (housekeeping).
	Round func(ctx context.Context)
	// ClaimFailed and DoFailed report errors while ctx is live.
	ClaimFailed func(err error)
	DoFailed    func(item T, err error)
}

// Run loops until ctx ends, then waits for the items in flight.
func (l Loop[T]) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, l.Concurrency)
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if l.Round != nil {
			l.Round(ctx)
		}
		if free := cap(slots) - len(slots); free > 0 {
			items, err := l.Claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				l.ClaimFailed(err)
			}
			for _, it := range items {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := l.Do(ctx, it); err != nil && ctx.Err() == nil {
						l.DoFailed(it, err)
					}
					<-slots
					l.Poke()
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.Wake:
		case <-t.C:
		}
	}
}

// Each runs do on every item concurrently and returns when all are done,
// with their errors joined: the body of one synchronous round (for tests).
func Each[T any](ctx context.Context, items []T, do func(context.Context, T) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(ctx, it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
