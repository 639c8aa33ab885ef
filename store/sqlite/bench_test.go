package sqlite

import (
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
		for _, c := range []string{"big", "other"} {
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
	// Ten messages a second. The insert goes straight to SQL (outside
	// Update, which holds the one writer connection), as a million Creates
	// would be slow.
	_, err = db.conn.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < ? - 1)
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
