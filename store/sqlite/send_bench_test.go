package sqlite

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// BenchmarkSendStatements runs a durable send's statements (the message
// insert with its ClientRequestToken, the channel touch, the outbox event)
// in group-commit batches of 16 on a channel that already holds 100,000
// messages, with Belfry's id shapes (a UUID app instance, 64-hex channel
// and message ids, UUID tokens). Besides ns/op it reports the WAL frames
// (pages) a send writes: the connection has the writer's settings but
// no checkpoints, so the WAL only grows. Build the same history by hand
// to compare schemas: the prefill is plain SQL.
func BenchmarkSendStatements(b *testing.B) {
	const (
		prefill = 100_000
		batch   = 16
	)
	ctx := b.Context()
	path := filepath.Join(b.TempDir(), "belfry.db")
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	const app = "9f1c2a7e-3b4d-4c5e-8f60-718293a4b5c6"
	channel := hexID(1)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: app, CreatedAt: start, UpdatedAt: start}); err != nil {
			return err
		}
		_, err := tx.CreateChannel(ctx, store.Channel{AppInstanceID: app, ChannelID: channel, Mode: "UNRESTRICTED", Privacy: "PUBLIC",
			CreatedByKind: store.MemberUser, CreatedByID: "u", CreatedAt: start, UpdatedAt: start})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.conn.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < ? - 1)
			INSERT INTO channel_messages (app_instance_id, channel_id, message_id, content, type, sender_kind, sender_id, status,
				created_at, updated_at, client_token, request_fingerprint, token_channel)
			SELECT ?, ?, printf('%016x', x) || hex(randomblob(24)), 'hello', 'STANDARD', 'user', 'sender-' || (x % 64), 'SENT',
				? + x, ? + x, lower(hex(randomblob(18))), hex(randomblob(16)), (SELECT seq FROM channels)
			FROM i`, prefill, app, channel, start.UnixMilli(), start.UnixMilli())
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}

	conn, err := openDB(dsn(path, url.Values{"_pragma": {"synchronous(NORMAL)", "foreign_keys(ON)", "cache_size(-8192)",
		"temp_store(MEMORY)", "wal_autocheckpoint(0)"}, "_txlock": {"immediate"}}))
	if err != nil {
		b.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	b.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	data := make([]byte, 300)
	at := start.Add(prefill * time.Millisecond)
	sent := 0
	wal0 := walSize()
	cpu0 := processCPU()
	b.ResetTimer()
	for sent < b.N {
		n := min(batch, b.N-sent)
		if err := sendBatch(ctx, conn, app, channel, at, sent, n, data); err != nil {
			b.Fatal(err)
		}
		sent += n
		at = at.Add(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	const frame = 24 + 4096
	b.ReportMetric(float64(walSize()-wal0)/frame/float64(b.N), "pages/op")
}

// sendBatch runs n sends in one transaction, each in its own savepoint
// as the writer runs an Update.
func sendBatch(ctx context.Context, conn *sql.DB, app, channel string, at time.Time, first, n int, data []byte) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var hooks []func()
	var before []func(context.Context) error
	t := sqlstore.NewTx(querier{tx}, &dialect, &hooks, &before)
	since := at.Add(-24 * time.Hour)
	for i := range n {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT send`); err != nil {
			return err
		}
		seq := first + i
		m := store.ChannelMessage{AppInstanceID: app, ChannelID: channel, MessageID: hexID(uint64(at.UnixNano()) + uint64(seq)),
			Content: "hello", Type: "STANDARD", Sender: store.Actor{Kind: store.MemberUser, ID: "sender-" + strconv.Itoa(seq%64)},
			SenderName: "Sender", Status: "SENT", CreatedAt: at, UpdatedAt: at, ClientToken: uuid(), RequestFingerprint: "0123456789abcdef0123456789abcdef"}
		if _, ok, err := t.CreateChannelMessageOnce(ctx, m, "SendChannelMessage\x00arn\x00bearer", since); err != nil || !ok {
			return cmp.Or(err, errors.New("token taken"))
		}
		if _, err := t.TouchChannel(ctx, app, channel, at, nil); err != nil {
			return err
		}
		if _, err := t.AppendOutbox(ctx, data); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `RELEASE send`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// hexID is a 64-hex id whose first 8 bytes are t, like the service's
// time-ordered ids.
func hexID(t uint64) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], t)
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
