package postgres_test

import (
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
