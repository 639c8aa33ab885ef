package postgres_test

import (
	"sync"
	"testing"

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
