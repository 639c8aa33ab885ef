package sqlite

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// BenchmarkListChannelMessages reads pages of a channel of a million
// messages (in an app instance with a second channel as large), where every
// tenth message is another member's PENDING one, hidden from the viewer.
// Building the database takes a while; run it with -bench.
func BenchmarkListChannelMessages(b *testing.B) {
	const n = 1_000_000
	ctx := b.Context()
	db, start := openWithChannels(b, "big", "other")
	// Ten messages a second. The insert goes straight to SQL (outside
	// Update, which holds the one writer connection), as a million Creates
	// would be slow.
	_, err := db.conn.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < ? - 1)
			INSERT INTO channel_messages (app_instance_id, channel_id, message_id, content, type, sender_kind, sender_id, status, sub_channel_id, created_at, updated_at)
			SELECT 'app', c.id, c.id || '-' || x, 'hello', 'STANDARD', 'user', IIF(x % 10 = 0, 'other', 'viewer'),
				IIF(x % 10 = 0, 'PENDING', 'SENT'), IIF(x % 2 = 0, 's1', 's2'), ? + x * 100, ? + x * 100
			FROM i, (SELECT 'big' AS id UNION ALL SELECT 'other') c`, n, start.UnixMilli(), start.UnixMilli())
	if err != nil {
		b.Fatal(err)
	}
	viewer := store.Actor{Kind: store.MemberUser, ID: "viewer"}
	middle := &store.MessageCursor{CreatedAt: start.Add(n / 2 * 100 * time.Millisecond), Seq: 2 * n / 2}
	for _, bc := range []struct {
		name string
		q    store.MessageQuery
	}{
		{"oldest", store.MessageQuery{Viewer: viewer, Limit: 50}},
		{"newest", store.MessageQuery{Viewer: viewer, Limit: 50, Descending: true}},
		{"middle", store.MessageQuery{Viewer: viewer, Limit: 50, After: middle}},
		{"middle descending", store.MessageQuery{Viewer: viewer, Limit: 50, After: middle, Descending: true}},
		{"time range", store.MessageQuery{Viewer: viewer, Limit: 50, NotBefore: middle.CreatedAt, NotAfter: middle.CreatedAt.Add(time.Hour)}},
		{"sub-channel newest", store.MessageQuery{Viewer: viewer, Limit: 50, SubChannelID: "s2", Descending: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				err := db.View(ctx, func(tx store.ReadTx) error {
					ms, err := tx.ListChannelMessages(ctx, "app", "big", bc.q)
					if err == nil && len(ms) != 50 {
						b.Fatalf("%d messages, want 50", len(ms))
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriterStatement measures what database/sql adds to a statement
// of the writer's, against the same statement run on the driver's
// connection (cached prepared statement, driver.NamedValue arguments), and
// what an Update's SAVEPOINT and RELEASE cost: the figures that decided
// group commit's design (groupcommit.go). All in one open transaction.
func BenchmarkWriterStatement(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "belfry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	conn := db.conn
	for _, s := range []string{`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT, w INTEGER)`, `INSERT INTO t VALUES (1, 'x', 1)`, `BEGIN IMMEDIATE`} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	defer func() { _, _ = conn.ExecContext(ctx, "ROLLBACK") }()
	const upd = `UPDATE t SET v = ?, w = ? WHERE k = ?`
	const sel = `SELECT v, w FROM t WHERE k = ?`
	b.Run("database-sql/exec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.ExecContext(ctx, upd, "hello", int64(2), int64(1)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("database-sql/query-row", func(b *testing.B) {
		b.ReportAllocs()
		var v string
		var w int64
		for b.Loop() {
			if err := conn.QueryRowContext(ctx, sel, int64(1)).Scan(&v, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("database-sql/savepoint-release", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.ExecContext(ctx, "SAVEPOINT u"); err != nil {
				b.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "RELEASE u"); err != nil {
				b.Fatal(err)
			}
		}
	})
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		b.Run("driver/exec", func(b *testing.B) {
			b.ReportAllocs()
			args := make([]driver.NamedValue, 3)
			for b.Loop() {
				s, err := c.PrepareContext(ctx, upd)
				if err != nil {
					b.Fatal(err)
				}
				args[0] = driver.NamedValue{Ordinal: 1, Value: "hello"}
				args[1] = driver.NamedValue{Ordinal: 2, Value: int64(2)}
				args[2] = driver.NamedValue{Ordinal: 3, Value: int64(1)}
				if _, err := s.(driver.StmtExecContext).ExecContext(ctx, args); err != nil {
					b.Fatal(err)
				}
				_ = s.Close()
			}
		})
		b.Run("driver/query-row", func(b *testing.B) {
			b.ReportAllocs()
			args := make([]driver.NamedValue, 1)
			dest := make([]driver.Value, 2)
			for b.Loop() {
				s, err := c.PrepareContext(ctx, sel)
				if err != nil {
					b.Fatal(err)
				}
				args[0] = driver.NamedValue{Ordinal: 1, Value: int64(1)}
				r, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Next(dest); err != nil {
					b.Fatal(err)
				}
				_ = r.Close()
				_ = s.Close()
			}
		})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// openWithChannels opens a new database holding app instance "app" and
// its channels of the given ids, created at the returned time.
func openWithChannels(b *testing.B, channels ...string) (*DB, time.Time) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "belfry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ctx := b.Context()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: "app", CreatedAt: start, UpdatedAt: start}); err != nil {
			return err
		}
		for _, c := range channels {
			if _, err := tx.CreateChannel(ctx, store.Channel{AppInstanceID: "app", ChannelID: c, Mode: "UNRESTRICTED", Privacy: "PUBLIC",
				CreatedByKind: store.MemberUser, CreatedByID: "u", CreatedAt: start, UpdatedAt: start}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, start
}
