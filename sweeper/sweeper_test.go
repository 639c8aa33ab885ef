package sweeper

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

type countingSweeper struct {
	calls atomic.Int32
	fail  bool
}

func (s *countingSweeper) Sweep(context.Context) (int, error) {
	s.calls.Add(1)
	if s.fail {
		return 0, errors.New("store unavailable")
	}
	return 1, nil
}

// TestRunSweepsAtOnceAndOnTimer: Run sweeps when it starts, again each
// interval, carries on after a failure, and returns when ctx ends.
func TestRunSweepsAtOnceAndOnTimer(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := &countingSweeper{fail: fail}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); Run(ctx, s, time.Millisecond, nil) }()
		deadline := time.Now().Add(10 * time.Second)
		for s.calls.Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("fail=%v: %d sweeps", fail, s.calls.Load())
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
	}
}
