package service

import (
	"context"
	"time"

	"github.com/belfryhq/belfry/store"
)

// Sweep deletes the users and channels whose expiration has passed (as
// DeleteAppInstanceUser and DeleteChannel would), the messages app
// instances' retention settings no longer keep, and forgets
// ClientRequestTokens older than IdempotencyWindow. It returns how many
// users, channels and messages it deleted. Each batch of sweepBatch
// records is one transaction, so a crash mid-sweep leaves every record
// either whole or gone; the next sweep carries on.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	channels, err := s.sweepChannels(ctx)
	if err != nil {
		return channels, err
	}
	messages, err := s.sweepRetention(ctx)
	if err != nil {
		return channels + messages, err
	}
	users, err := s.sweepUsers(ctx)
	return channels + messages + users, err
}

// sweepChannels deletes expired channels, telling their members.
func (s *Service) sweepChannels(ctx context.Context) (int, error) {
	deleted := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx store.Tx) error {
			chs, err := tx.ListExpiredChannels(ctx, s.now(), sweepBatch)
			if err != nil {
				return err
			}
			for _, ch := range chs {
				if err := s.deleteChannel(ctx, tx, ch); err != nil {
					return err
				}
			}
			n = len(chs)
			return nil
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

// sweepRetention deletes, in app instances whose retention grace period has
// ended, the messages older than their retention period.
func (s *Service) sweepRetention(ctx context.Context) (int, error) {
	var due []store.RetentionSettings
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		due, err = tx.ListDueRetentionSettings(ctx, s.now())
		return err
	})
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, r := range due {
		cutoff := s.now().Add(-time.Duration(*r.ChannelRetentionDays) * 24 * time.Hour)
		from := ""
		for {
			var n int
			var last string
			err := s.store.Update(ctx, func(tx store.Tx) error {
				var err error
				n, last, err = tx.DeleteChannelMessagesBefore(ctx, r.AppInstanceID, from, cutoff, sweepBatch)
				return err
			})
			if err != nil {
				return deleted, err
			}
			deleted += n
			if n < sweepBatch {
				break
			}
			from = last
		}
	}
	return deleted, nil
}

// sweepUsers deletes expired users and forgets old ClientRequestTokens.
func (s *Service) sweepUsers(ctx context.Context) (int, error) {
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
				if _, err = tx.DeleteIdempotencyRecordsBefore(ctx, now.Add(-IdempotencyWindow)); err != nil {
					return err
				}
				// Past the callback window a flow job is forgotten: its
				// processor can no longer answer (ForbiddenException).
				_, err = tx.DeleteFlowJobsBefore(ctx, now, 0)
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
