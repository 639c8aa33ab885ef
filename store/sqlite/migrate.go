package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// embeddedMigrations holds the schema, one file per version, applied in
// order. Files are never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// migration is one schema step.
type migration = sqlstore.Migration

// migrate brings the database up to the last of ms, in one transaction: a
// failed step leaves the schema as it was. It returns an error wrapping
// store.ErrSchemaTooNew if the database has versions beyond ms.
//
// db must be the writer, whose transactions begin IMMEDIATE: that takes
// the write lock before the version is read, so two processes opening the
// same file at once (say `belfry serve` and `belfry credentials create`)
// apply each step once.
//
// The migrations run with foreign keys off, as SQLite's procedure for
// changing a table's definition requires
// (https://sqlite.org/lang_altertable.html#otheralter): with them on,
// dropping a table that others reference ON DELETE CASCADE would delete
// the rows referencing it. The pragma cannot change inside a transaction,
// so it is set on the connection around it, and the transaction commits
// only if PRAGMA foreign_key_check finds no row referencing a missing one.
// A migration therefore cannot count on cascades (one that deletes a
// parent without its children fails that check). The check reads every
// table that has a foreign key, so it runs only when there is something
// to migrate.
func migrate(ctx context.Context, db *sql.DB, ms []migration, now time.Time) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	// Deferred before the rollback, so it runs after it: the pragma is a
	// no-op inside a transaction.
	defer func() {
		if rerr := restoreForeignKeys(context.WithoutCancel(ctx), conn); rerr != nil && err == nil {
			err = rerr
		}
	}()

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- Unix milliseconds
	) STRICT`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("schema version %d, this binary knows up to %d (upgrade Belfry, or restore a backup): %w",
			current, len(ms), store.ErrSchemaTooNew)
	}
	if current == len(ms) {
		return tx.Commit() // up to date; schema_migrations may be new
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, now.UnixMilli()); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	if err := foreignKeyCheck(ctx, tx); err != nil {
		return fmt.Errorf("migrations %s to %s: %w", ms[current].Name, ms[len(ms)-1].Name, err)
	}
	return tx.Commit()
}

// foreignKeyCheck returns an error naming the first row, if any, that
// references a missing one.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid, fkid sql.NullInt64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("foreign key check: row %d of %s references a missing row of %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// restoreForeignKeys turns foreign keys back on and checks that they are:
// were the connection still in a transaction, the pragma would do nothing.
// Should that fail, the connection is discarded rather than returned to the
// pool without foreign keys.
func restoreForeignKeys(ctx context.Context, conn *sql.Conn) error {
	var on int
	_, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	if err == nil {
		err = conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on)
	}
	if err == nil && on != 1 {
		err = errors.New("foreign keys stay off")
	}
	if err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("turning foreign keys back on after migrating: %w", err)
	}
	return nil
}
