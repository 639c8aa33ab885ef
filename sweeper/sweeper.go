// Package sweeper runs the service's expiry sweep on a timer: expired
// users and channels, messages past their app instance's retention, and
// old ClientRequestTokens and flow jobs. What a sweep deletes, and how it
// tells members, is the service's rule (service.Service.Sweep); this
// package only decides when.
package sweeper

import (
	"context"
	"log/slog"
	"time"
)

// Sweeper is what is swept; *service.Service implements it. Sweep returns
// how many records it deleted.
type Sweeper interface {
	Sweep(ctx context.Context) (int, error)
}

// DefaultInterval is how often Run sweeps unless told otherwise: AWS
// deletes expired users within about 6 hours; Belfry within one interval.
const DefaultInterval = time.Minute

// Run calls s.Sweep now and then every interval until ctx ends, logging
// failures to log (nil: discard) and carrying on. An interval of zero or
// less means DefaultInterval.
func Run(ctx context.Context, s Sweeper, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("expiry sweep failed", "err", err)
		case n > 0:
			log.Info("swept expired users, channels and retained messages", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
