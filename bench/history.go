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
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
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
}

// HistoryResult is measurement 4.
type HistoryResult struct {
	Messages int            `json:"messages"`
	PageSize int            `json:"page_size"`
	Calls    int            `json:"calls_per_point"`
	SeedS    float64        `json:"seed_seconds"`
	DBMiB    float64        `json:"db_mib"`
	Points   []HistoryPoint `json:"points"`
	Error    string         `json:"error,omitempty"`
}

const pageSize = 50

// runHistory is measurement 4: ListChannelMessages, a page of 50, in a
// channel of N messages, at several depths and both sort orders. It
// returns the data dir, which the start-up measurement reuses.
func runHistory(ctx context.Context, s *suite) (res HistoryResult, dir string) {
	cfg := s.cfg
	n := cfg.historyN
	res.Messages, res.PageSize, res.Calls = n, pageSize, cfg.historyCalls
	dir = filepath.Join(s.work, "history")

	// The app instance, users and channel through the API...
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: dir})
	if err != nil {
		res.Error = err.Error()
		return res, ""
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
		res.Error = "setup: " + err.Error()
		return res, ""
	}

	// ...the messages through the store package, in big transactions, with
	// belfry stopped: a million SendChannelMessage calls would take most
	// of the time budget. One a millisecond, from base on.
	ch, err := chime.ParseARN(channel)
	if err != nil {
		res.Error = err.Error()
		return res, ""
	}
	w, err := chime.ParseARN(writer)
	if err != nil {
		res.Error = err.Error()
		return res, ""
	}
	base := time.Now().Add(-time.Duration(n)*time.Millisecond - time.Hour).Truncate(time.Second)
	s.logf("history: seeding %d messages through store/sqlite", n)
	seedStart := time.Now()
	if err := seedMessages(ctx, filepath.Join(dir, "belfry.db"), ch.AppInstanceID, ch.ID, w.ID, n, base); err != nil {
		res.Error = "seed: " + err.Error()
		return res, ""
	}
	res.SeedS = round1(time.Since(seedStart).Seconds())
	if fi, err := os.Stat(filepath.Join(dir, "belfry.db")); err == nil {
		res.DBMiB = round1(float64(fi.Size()) / (1 << 20))
	}
	s.logf("history: seeded in %.1fs (%.0f MiB)", res.SeedS, res.DBMiB)

	p, _, err = startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: dir})
	if err != nil {
		res.Error = err.Error()
		return res, ""
	}
	defer p.Stop(15 * time.Second)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "belfry.db")+"?mode=ro&_pragma=query_only(ON)")
	if err != nil {
		res.Error = err.Error()
		return res, ""
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

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
			var hb, hr hist
			for i := range cfg.historyCalls + cfg.historyCalls/10 {
				t0 := time.Now()
				var out struct {
					ChannelMessages []struct{ MessageId string }
				}
				err := a.call(ctx, "GET", path+"?"+q.Encode(), nil, reader, 200, &out)
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
				if i >= cfg.historyCalls/10 { // the first tenth warms up
					hb.Record(took)
				}
			}
			for i := range cfg.historyCalls + cfg.historyCalls/10 {
				t0 := time.Now()
				got, err := rawKeysetPage(ctx, raw, ch.AppInstanceID, ch.ID, order == "DESCENDING", lo, hi)
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
				if i >= cfg.historyCalls/10 {
					hr.Record(took)
				}
			}
			pt.Belfry, pt.Raw = hb.Summary(), hr.Summary()
			s.logf("history: %s depth %s: belfry p50 %.2f p99 %.2f ms; raw p50 %.3f p99 %.3f ms", order, d.name,
				pt.Belfry.P50ms, pt.Belfry.P99ms, pt.Raw.P50ms, pt.Raw.P99ms)
			res.Points = append(res.Points, pt)
		}
	}
	return res, dir
}

// seedMessages writes n messages of one sender into the channel through
// store/sqlite, the engine belfry runs, 20,000 a transaction.
func seedMessages(ctx context.Context, path, appID, channelID, senderID string, n int, base time.Time) error {
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

// rawKeysetPage reads one page straight from the table with the same
// keyset bound on the history index (app instance, channel, created_at,
// seq) and no Belfry code: the floor for a page of history.
func rawKeysetPage(ctx context.Context, db *sql.DB, appID, channelID string, desc bool, lo, hi int64) (int, error) {
	q := `SELECT seq, message_id, content, metadata, content_type, type, sender_kind, sender_id, sender_name, redacted, status,
		created_at, updated_at, edited_at FROM channel_messages WHERE app_instance_id = ? AND channel_id = ?`
	args := []any{appID, channelID}
	if lo >= 0 {
		q += ` AND (created_at, seq) > (?, ?)`
		args = append(args, lo-1, int64(1<<62))
	}
	if hi >= 0 {
		q += ` AND (created_at, seq) < (?, ?)`
		args = append(args, hi+1, int64(-1))
	}
	if desc {
		q += ` ORDER BY created_at DESC, seq DESC`
	} else {
		q += ` ORDER BY created_at, seq`
	}
	q += ` LIMIT 50`
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

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
