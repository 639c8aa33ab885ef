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
		db, err := postgres.Open(t.Context(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
