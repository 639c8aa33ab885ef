package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/belfryhq/belfry/store"
)

// Sweep deletes the users whose expiration has passed (as
// DeleteAppInstanceUser would) and forgets ClientRequestTokens older than
// IdempotencyWindow. It returns how many users it deleted. Each batch of
// sweepBatch users is one transaction, so a crash mid-sweep leaves every
// user either whole or gone; the next sweep carries on.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	deleted := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx store.Tx) error {
			now := s.now()
			users, err := tx.ListExpiredAppInstanceUsers(ctx, now, sweepBatch)
			if err != nil {
				return err
			}
			for _, u := range users {
				if err := s.deleteUser(ctx, tx, u.AppInstanceID, u.UserID); err != nil {
					return err
				}
			}
			n = len(users)
			if n < sweepBatch {
				_, err = tx.DeleteIdempotencyRecordsBefore(ctx, now.Add(-IdempotencyWindow))
			}
			return err
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
		if n < sweepBatch {
			return deleted, nil
		}
	}
}

// RunSweeper calls Sweep now and then every interval until ctx ends,
// logging failures to log (nil: discard) and carrying on. AWS deletes
// expired users within about 6 hours; Belfry within one interval. An
// interval of zero or less means DefaultSweepInterval.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = DefaultSweepInterval
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
			log.Info("deleted expired AppInstanceUsers", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
