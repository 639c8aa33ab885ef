package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// embeddedMigrations holds the schema, one file per version, applied in
// order. Files are never edited once released: a change is a new file.
// They translate package sqlite's migrations, step by step.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// migration is one schema step.
type migration = sqlstore.Migration

// migrate brings the database up to the last of ms in one transaction. A
// transaction-scoped advisory lock makes nodes starting at once take turns:
// each step is applied once.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration, now time.Time) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The key is arbitrary, fixed: "belfry" in ASCII, 0x62656c667279.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(108187749872249)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at BIGINT  NOT NULL -- Unix milliseconds
		)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("schema version %d, this binary knows up to %d (upgrade Belfry, or restore a backup): %w",
				current, len(ms), store.ErrSchemaTooNew)
		}
		for _, m := range ms[current:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, now.UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
