package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/postgres"
	"github.com/belfryhq/belfry/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// A database of its own, copied from a migrated template.
		return pgtest.Store(t)
	})
}

// TestMigrateFromEmpty migrates an empty database, twice: the second Open
// finds nothing to do.
func TestMigrateFromEmpty(t *testing.T) {
	u := pgtest.URL(t)
	for range 2 {
		db, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
}

// TestNodesMigrateAtOnce: nodes starting together on an empty database
// take turns migrating it; all open.
func TestNodesMigrateAtOnce(t *testing.T) {
	u := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), u)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// TestSerializeOn: a node's Updates that declare one key queue, so that
// concurrent sends to one channel never collide and retry; waiting for
// the key ends with the caller's context.
func TestSerializeOn(t *testing.T) {
	db := pgtest.Store(t)
	epoch := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	err := db.Update(t.Context(), func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(t.Context(), store.AppInstance{ID: "a1", Name: "app", CreatedAt: epoch, UpdatedAt: epoch}); err != nil {
			return err
		}
		_, err := tx.CreateChannel(t.Context(), store.Channel{AppInstanceID: "a1", ChannelID: "general", Name: "general",
			Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedByKind: store.MemberUser, CreatedByID: "alice", CreatedAt: epoch, UpdatedAt: epoch})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := db.Retries()
	ctx := store.SerializeOn(t.Context(), "general")
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			err := db.Update(ctx, func(tx store.Tx) error {
				_, err := tx.TouchChannel(t.Context(), "a1", "general", epoch.Add(time.Duration(i)*time.Second), nil)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := db.Retries() - before; n != 0 {
		t.Errorf("%d Updates of one key retried; they should have queued", n)
	}

	// While one Update holds the key, another gives up with its context.
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(ctx, func(tx store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = db.Update(cctx, func(tx store.Tx) error { return nil })
	close(release)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("an Update waiting for a held key with a cancelled context: %v, want context.Canceled", err)
	}
}
