package sqlite

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store/sqlstore"
)

// The embedded migrations are well formed: a broken file name would only
// show when Open fails.
func TestEmbeddedMigrations(t *testing.T) {
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
}

// Migrations run with foreign keys off, so one that leaves a row
// referencing a missing one is caught by the check before the commit: the
// whole migration is rolled back, and the connection gets its foreign keys
// back either way.
func TestMigrateChecksForeignKeys(t *testing.T) {
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "belfry.db"),
		url.Values{"_pragma": {"foreign_keys(ON)"}, "_txlock": {"immediate"}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1) // the pragma is the connection's: check the same one
	foreignKeys := func() int {
		t.Helper()
		var on int
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil {
			t.Fatal(err)
		}
		return on
	}

	bad := append(slices.Clone(ms), migration{Version: len(ms) + 1, Name: "9999_orphan.sql",
		SQL: `INSERT INTO app_instance_users (app_instance_id, user_id, name, created_at, updated_at) VALUES ('ghost', 'u', '', 0, 0)`})
	err = migrate(ctx, db, bad, time.UnixMilli(0))
	if err == nil || !strings.Contains(err.Error(), "app_instance_users") {
		t.Errorf("migrating with an orphan row = %v, want an error naming its table", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d schema objects after the failed migration (%v), want none", n, err)
	}
	if on := foreignKeys(); on != 1 {
		t.Errorf("foreign_keys after a failed migration = %d, want 1", on)
	}

	if err := migrate(ctx, db, ms, time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
	if on := foreignKeys(); on != 1 {
		t.Errorf("foreign_keys after migrating = %d, want 1", on)
	}
	// Up to date: nothing to do, nothing to check.
	if err := migrate(ctx, db, ms, time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
	if on := foreignKeys(); on != 1 {
		t.Errorf("foreign_keys after an up-to-date migrate = %d, want 1", on)
	}
}
