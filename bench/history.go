package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
	"github.com/jackc/pgx/v5"
)

// HistoryPoint is one (sort order, depth) of measurement 4.
type HistoryPoint struct {
	Order    string  `json:"sort_order"`
	Depth    string  `json:"depth"`
	Position int     `json:"position"` // index of the page's first message, counted from the order's start
	Belfry   Latency `json:"belfry"`
	Raw      Latency `json:"raw_keyset_read"`
	Errors   int     `json:"errors"`
	FirstErr string  `json:"first_error,omitempty"`
	CPU      CPUUse  `json:"cpu"` // during the Belfry calls
	Attempts int     `json:"attempt_kept"`
}

// HistoryResult is measurement 4.
type HistoryResult struct {
	Messages int            `json:"messages"`
	PageSize int            `json:"page_size"`
	Calls    int            `json:"calls_per_point"`
	Seed     string         `json:"seeded_by"`
	SeedS    float64        `json:"seed_seconds"`
	DBMiB    float64        `json:"db_mib"`
	Points   []HistoryPoint `json:"points"`
	Error    string         `json:"error,omitempty"`
	// Profile is a CPU profile of belfry serving pages at depth 10k.
	Profile    string `json:"profile,omitempty"`
	ProfileTop string `json:"profile_top,omitempty"`
}

const pageSize = 50

// historyDB is the seeded data dir (and, on PostgreSQL, database) the
// start-up measurement reuses.
type historyDB struct {
	dir   string
	extra []string // --store on PostgreSQL
}

// runHistory is measurement 4: ListChannelMessages, a page of 50, in a
// channel of N messages, at several depths and both sort orders, on SQLite
// or on PostgreSQL (pg). It returns the seeded store, which the start-up
// measurement reuses.
func runHistory(ctx context.Context, s *suite, pg bool) (res HistoryResult, out historyDB) {
	cfg := s.cfg
	n := cfg.historyN
	res.Messages, res.PageSize, res.Calls = n, pageSize, cfg.historyCalls
	name := "history"
	dir := filepath.Join(s.work, "history")
	var extra []string
	var dbURL string
	if pg {
		name, dir = "history-pg", filepath.Join(s.work, "history-pg")
		var err error
		if dbURL, err = s.pg.database(ctx, "bench_history"); err != nil {
			res.Error = err.Error()
			return res, out
		}
		extra = []string{"--store", dbURL}
	}
	fail := func(err error) (HistoryResult, historyDB) {
		res.Error = err.Error()
		return res, historyDB{}
	}

	// The app instance, users and channel through the API...
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: dir, extra: extra})
	if err != nil {
		return fail(err)
	}
	a := newAPI(p.base(), 2)
	app, err := a.createAppInstance(ctx, "bench-history")
	var writer, reader, channel string
	if err == nil {
		writer, err = a.createUser(ctx, app, "writer")
	}
	if err == nil {
		reader, err = a.createUser(ctx, app, "reader")
	}
	if err == nil {
		channel, err = a.createChannel(ctx, app, "history", writer)
	}
	if err == nil {
		err = a.addMembers(ctx, channel, writer, []string{reader})
	}
	if stopErr := p.Stop(15 * time.Second); err == nil {
		err = stopErr
	}
	if err != nil {
		return fail(fmt.Errorf("setup: %w", err))
	}

	// ...the messages straight into the schema belfry created, with belfry
	// stopped: a million SendChannelMessage calls (or store Creates, ~130
	// µs each) would take most of the time budget. One a millisecond, from
	// base on. Should the SQL no longer fit the schema, the store package
	// seeds instead, at most 100,000 messages.
	ch, err := chime.ParseARN(channel)
	if err != nil {
		return fail(err)
	}
	w, err := chime.ParseARN(writer)
	if err != nil {
		return fail(err)
	}
	base := time.Now().Add(-time.Duration(n)*time.Millisecond - time.Hour).Truncate(time.Second)
	s.logf("%s: seeding %d messages", name, n)
	seedStart := time.Now()
	dbPath := filepath.Join(dir, "belfry.db")
	res.Seed = "SQL insert into the schema belfry created (channel_messages)"
	if pg {
		res.Seed = "INSERT … SELECT FROM generate_series into the schema belfry created (channel_messages; its secondary indexes and unique constraint dropped and built again after the rows, in the same transaction), then VACUUM (ANALYZE) and CHECKPOINT"
		if err := seedPG(ctx, dbURL, ch.AppInstanceID, ch.ID, w.ID, n, base); err != nil {
			return fail(fmt.Errorf("seed: %w", err))
		}
		res.DBMiB = pgDatabaseMiB(ctx, dbURL)
	} else if err := seedSQL(ctx, dbPath, ch.AppInstanceID, ch.ID, w.ID, n, base); err != nil {
		s.logf("history: SQL seed failed (%v); seeding through store/sqlite", err)
		n = min(n, 100_000)
		res.Messages = n
		res.Seed = "store/sqlite CreateChannelMessage (the SQL seed failed: " + err.Error() + ")"
		if err := seedStore(ctx, dbPath, ch.AppInstanceID, ch.ID, w.ID, n, base); err != nil {
			return fail(fmt.Errorf("seed: %w", err))
		}
	}
	// Write the seeded gigabyte out now, so that the kernel's writeback
	// does not overlap the measurement.
	syscall.Sync()
	res.SeedS = round1(time.Since(seedStart).Seconds())
	if fi, err := os.Stat(filepath.Join(dir, "belfry.db")); err == nil && !pg {
		res.DBMiB = round1(float64(fi.Size()) / (1 << 20))
	}
	s.logf("%s: seeded in %.1fs (%.0f MiB)", name, res.SeedS, res.DBMiB)

	bin := s.belfry
	if s.belfryProf != "" {
		bin = s.belfryProf
	}
	p, _, err = startBelfry(ctx, serveOpts{bin: bin, dataDir: dir, pprof: s.belfryProf != "", extra: extra})
	if err != nil {
		return fail(err)
	}
	defer p.Stop(15 * time.Second)
	a = newAPI(p.base(), 2)
	var rawPage func(ctx context.Context, desc bool, lo, hi int64) (int, error)
	if pg {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return fail(err)
		}
		defer conn.Close(context.Background())
		rawPage = func(ctx context.Context, desc bool, lo, hi int64) (int, error) {
			return pgKeysetPage(ctx, conn, ch.AppInstanceID, ch.ID, desc, lo, hi)
		}
	} else {
		raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "belfry.db")+"?mode=ro&_pragma=query_only(ON)")
		if err != nil {
			return fail(err)
		}
		defer raw.Close()
		raw.SetMaxOpenConns(1)
		rawPage = func(ctx context.Context, desc bool, lo, hi int64) (int, error) {
			return rawKeysetPage(ctx, raw, ch.AppInstanceID, ch.ID, desc, lo, hi)
		}
	}

	path := channelPath(channel, "/messages")
	depths := []struct {
		name string
		pos  int
	}{{"0", 0}, {"10k", 10_000}, {humanCount(n), n - pageSize}}
	for _, order := range []string{"ASCENDING", "DESCENDING"} {
		for _, d := range depths {
			if d.pos > n-pageSize || d.pos < 0 {
				continue
			}
			pt := HistoryPoint{Order: order, Depth: d.name, Position: d.pos}
			q := url.Values{"max-results": {strconv.Itoa(pageSize)}, "sort-order": {order}}
			// The page starts at position pos of the order: a time bound
			// on the message there (one a millisecond).
			var lo, hi int64 = -1, -1
			if order == "ASCENDING" && d.pos > 0 {
				at := base.Add(time.Duration(d.pos) * time.Millisecond)
				q.Set("not-before", at.UTC().Format("2006-01-02T15:04:05.000Z"))
				lo = at.UnixMilli()
			}
			if order == "DESCENDING" && d.pos > 0 {
				at := base.Add(time.Duration(n-1-d.pos) * time.Millisecond)
				q.Set("not-after", at.UTC().Format("2006-01-02T15:04:05.000Z"))
				hi = at.UnixMilli()
			}
			// A point measured while other processes kept more than a
			// quarter of a core busy is measured again (twice at most);
			// the quietest attempt is kept.
			for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
				try := s.historyPoint(ctx, pt, a, path+"?"+q.Encode(), reader, p.cmd.Process.Pid, rawPage, order == "DESCENDING", lo, hi)
				try.Attempts = attempt + 1
				if attempt == 0 || try.CPU.Other < pt.CPU.Other {
					pt = try
				}
				if pt.CPU.Other <= 0.25 {
					break
				}
			}
			s.logf("%s: %s depth %s: belfry p50 %.2f p99 %.2f ms; raw p50 %.3f p99 %.3f ms (other processes: %.2f cores, attempt %d)", name, order, d.name,
				pt.Belfry.P50ms, pt.Belfry.P99ms, pt.Raw.P50ms, pt.Raw.P99ms, pt.CPU.Other, pt.Attempts)
			res.Points = append(res.Points, pt)
		}
	}
	if p.pprofAddr != "" && ctx.Err() == nil {
		// A profile of pages at depth 10k, newest first: calls for 4 s,
		// profiled over the middle 3.
		q := url.Values{"max-results": {strconv.Itoa(pageSize)}, "sort-order": {"DESCENDING"},
			"not-after": {base.Add(time.Duration(n-1-min(10_000, n-pageSize)) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")}}
		prof := captureProfile(ctx, p.pprofAddr, 500*time.Millisecond, 3*time.Second)
		for end := time.Now().Add(4 * time.Second); time.Now().Before(end) && ctx.Err() == nil; {
			_ = a.call(ctx, "GET", path+"?"+q.Encode(), nil, reader, 200, nil)
		}
		if pr := <-prof; pr.err != nil {
			s.logf("%s: profile: %v", name, pr.err)
		} else {
			res.Profile, res.ProfileTop = s.saveProfile(name, bin, pr.data)
		}
	}
	return res, historyDB{dir: dir, extra: extra}
}

// historyPoint times ListChannelMessages calls at one point, then as
// many raw keyset reads.
func (s *suite) historyPoint(ctx context.Context, pt HistoryPoint, a *api, pathQuery, reader string, pid int, rawPage func(ctx context.Context, desc bool, lo, hi int64) (int, error), desc bool, lo, hi int64) HistoryPoint {
	calls := s.cfg.historyCalls
	var hb, hr hist
	stopCPU := cpuWindow(pid)
	for i := range calls + calls/10 {
		t0 := time.Now()
		var out struct {
			ChannelMessages []struct{ MessageId string }
		}
		err := a.call(ctx, "GET", pathQuery, nil, reader, 200, &out)
		took := time.Since(t0)
		if err == nil && len(out.ChannelMessages) != pageSize {
			err = fmt.Errorf("%d messages, want %d", len(out.ChannelMessages), pageSize)
		}
		if err != nil {
			pt.Errors++
			if pt.FirstErr == "" {
				pt.FirstErr = err.Error()
			}
			continue
		}
		if i >= calls/10 { // the first tenth warms up
			hb.Record(took)
		}
	}
	pt.CPU = stopCPU()
	for i := range calls + calls/10 {
		t0 := time.Now()
		got, err := rawPage(ctx, desc, lo, hi)
		took := time.Since(t0)
		if err == nil && got != pageSize {
			err = fmt.Errorf("raw read: %d rows, want %d", got, pageSize)
		}
		if err != nil {
			pt.Errors++
			if pt.FirstErr == "" {
				pt.FirstErr = err.Error()
			}
			continue
		}
		if i >= calls/10 {
			hr.Record(took)
		}
	}
	pt.Belfry, pt.Raw = hb.Summary(), hr.Summary()
	return pt
}

// seedSQL inserts n messages of one sender into the channel with one
// INSERT ... SELECT per 100,000, ids random like Belfry's.
func seedSQL(ctx context.Context, path, appID, channelID, senderID string, n int, base time.Time) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-1000000)&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const chunk = 100_000
	for from := 0; from < n; from += chunk {
		to := min(n, from+chunk) - 1
		_, err := db.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM i WHERE x < ?)
			INSERT INTO channel_messages (app_instance_id, channel_id, message_id, content, type, sender_kind, sender_id, sender_name, status, created_at, updated_at)
			SELECT ?, ?, lower(hex(randomblob(32))), ?, 'STANDARD', 'user', ?, 'writer', 'SENT', ? + x, ? + x FROM i`,
			from, to, appID, channelID, messageContent, senderID, base.UnixMilli(), base.UnixMilli())
		if err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// seedStore writes n messages of one sender into the channel through
// store/sqlite, the engine belfry runs, 20,000 a transaction.
func seedStore(ctx context.Context, path, appID, channelID, senderID string, n int, base time.Time) error {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	const batch = 20_000
	var idb [32]byte
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := db.Update(ctx, func(tx store.Tx) error {
			for i := done; i < done+k; i++ {
				if _, err := rand.Read(idb[:]); err != nil {
					return err
				}
				at := base.Add(time.Duration(i) * time.Millisecond)
				_, err := tx.CreateChannelMessage(ctx, store.ChannelMessage{
					AppInstanceID: appID, ChannelID: channelID, MessageID: hex.EncodeToString(idb[:]),
					Content: messageContent, Type: "STANDARD",
					Sender: store.Actor{Kind: store.MemberUser, ID: senderID}, SenderName: "writer",
					Status: "SENT", CreatedAt: at, UpdatedAt: at,
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += k
	}
	return nil
}

// keysetQuery is the raw page query of both engines: a page of 50 of one
// channel's history after lo and before hi (each ignored when negative),
// with the n-th argument spelled arg(n).
func keysetQuery(arg func(n int) string, appID, channelID string, desc bool, lo, hi int64) (string, []any) {
	q := `SELECT seq, message_id, content, metadata, content_type, type, sender_kind, sender_id, sender_name, redacted, status,
		created_at, updated_at, edited_at FROM channel_messages WHERE app_instance_id = ` + arg(1) + ` AND channel_id = ` + arg(2)
	args := []any{appID, channelID}
	bound := func(op string, created, seq int64) {
		q += ` AND (created_at, seq) ` + op + ` (` + arg(len(args)+1) + `, ` + arg(len(args)+2) + `)`
		args = append(args, created, seq)
	}
	if lo >= 0 {
		bound(">", lo-1, int64(1<<62))
	}
	if hi >= 0 {
		bound("<", hi+1, -1)
	}
	if desc {
		q += ` ORDER BY created_at DESC, seq DESC`
	} else {
		q += ` ORDER BY created_at, seq`
	}
	return q + ` LIMIT 50`, args
}

// rawKeysetPage reads one page straight from the table with the same
// keyset bound on the history index (app instance, channel, created_at,
// seq) and no Belfry code: the floor for a page of history.
func rawKeysetPage(ctx context.Context, db *sql.DB, appID, channelID string, desc bool, lo, hi int64) (int, error) {
	q, args := keysetQuery(func(int) string { return "?" }, appID, channelID, desc, lo, hi)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]sql.RawBytes, 14)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// seedPG is seedSQL on PostgreSQL: one INSERT … SELECT FROM
// generate_series per 100,000 messages, ids random hex like Belfry's, then
// VACUUM (ANALYZE), so that the planner knows the table's size, and a
// CHECKPOINT. Inserting a million
// random ids into indexes that outgrow the shared buffers is slow, so the
// table's secondary indexes and unique constraints are dropped first and
// built again, with their own definitions, after the rows are in: all in
// one transaction. Where that is refused, the rows go into the indexes.
func seedPG(ctx context.Context, url, appID, channelID, senderID string, n int, base time.Time) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// The rows reference an app instance and a channel that exist: skip
	// the per-row foreign key triggers where the role may (a superuser,
	// as in the harness's own cluster).
	_, _ = conn.Exec(ctx, "SET session_replication_role = replica")
	_, _ = conn.Exec(ctx, "SET maintenance_work_mem = '256MB'")
	insert := func(tx pgx.Tx) error {
		const chunk = 100_000
		for from := 0; from < n; from += chunk {
			to := min(n, from+chunk) - 1
			_, err := tx.Exec(ctx, `INSERT INTO channel_messages (app_instance_id, channel_id, message_id, content, type, sender_kind, sender_id, sender_name, status, created_at, updated_at)
			SELECT $1, $2, md5(random()::text) || md5(random()::text), $3, 'STANDARD', 'user', $4, 'writer', 'SENT', $5::bigint + x, $5::bigint + x
			FROM generate_series($6::bigint, $7::bigint) AS x`,
				appID, channelID, messageContent, senderID, base.UnixMilli(), from, to)
			if err != nil {
				return err
			}
		}
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		type constraint struct{ name, def string }
		var uniques []constraint
		rows, err := tx.Query(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'channel_messages'::regclass AND contype = 'u'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c constraint
			if err := rows.Scan(&c.name, &c.def); err != nil {
				return err
			}
			uniques = append(uniques, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var indexes []string
		rows, err = tx.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.tablename = 'channel_messages' AND i.schemaname = current_schema()
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)`)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				return err
			}
			names, indexes = append(names, name), append(indexes, def)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range uniques {
			if _, err := tx.Exec(ctx, "ALTER TABLE channel_messages DROP CONSTRAINT "+pgx.Identifier{c.name}.Sanitize()); err != nil {
				return err
			}
		}
		for _, name := range names {
			if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{name}.Sanitize()); err != nil {
				return err
			}
		}
		if err := insert(tx); err != nil {
			return err
		}
		for _, def := range indexes {
			if _, err := tx.Exec(ctx, def); err != nil {
				return err
			}
		}
		for _, c := range uniques {
			if _, err := tx.Exec(ctx, "ALTER TABLE channel_messages ADD CONSTRAINT "+pgx.Identifier{c.name}.Sanitize()+" "+c.def); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Refused (not the table's owner, say): into the indexes, then.
		if err := pgx.BeginFunc(ctx, conn, insert); err != nil {
			return err
		}
	}
	// Settle, as the SQLite seed ends with a TRUNCATE checkpoint: a
	// VACUUM sets the new rows' hint bits and visibility map (without it
	// the first reads dirty every page they touch, and autovacuum, which
	// the million inserts trigger, runs during the measurement), and a
	// CHECKPOINT writes the load's dirty buffers now rather than in the
	// background while pages are read. CHECKPOINT needs a superuser or
	// pg_checkpoint: on a server of one's own without either, the
	// checkpointer's own schedule it is.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) channel_messages"); err != nil {
		return err
	}
	_, _ = conn.Exec(ctx, "CHECKPOINT")
	return nil
}

func pgDatabaseMiB(ctx context.Context, url string) float64 {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0
	}
	defer conn.Close(context.Background())
	var size int64
	if conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size) != nil {
		return 0
	}
	return round1(float64(size) / (1 << 20))
}

// pgKeysetPage is rawKeysetPage on PostgreSQL through pgx.
func pgKeysetPage(ctx context.Context, conn *pgx.Conn, appID, channelID string, desc bool, lo, hi int64) (int, error) {
	q, args := keysetQuery(func(n int) string { return fmt.Sprintf("$%d", n) }, appID, channelID, desc, lo, hi)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		_ = rows.RawValues()
		n++
	}
	return n, rows.Err()
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
