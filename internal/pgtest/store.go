package pgtest

import (
	"context"
	"testing"

	"github.com/belfryhq/belfry/store/postgres"
)

// Store opens a postgres store on a new database with the current schema
// (copied from a template migrated once per test binary), closed when t
// ends. Without PostgreSQL it skips t, or fails it when CI=true.
func Store(t testing.TB) *postgres.DB {
	t.Helper()
	return Open(t, MigratedURL(t))
}

// Open opens a postgres store on the database at u, closed when t ends:
// one node of several sharing a MigratedURL.
func Open(t testing.TB, u string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// MigratedURL returns the URL of a new database with the current schema,
// for tests that open several stores on it (nodes). Without PostgreSQL it
// skips t, or fails it when CI=true.
func MigratedURL(t testing.TB) string {
	t.Helper()
	return URLFrom(t, "belfry", func(ctx context.Context, u string) error {
		db, err := postgres.Open(ctx, u)
		if err != nil {
			return err
		}
		return db.Close()
	})
}
