package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the raw SQLite limit, same driver as the store
)

// LoadResult is one closed-loop load level against one server.
type LoadResult struct {
	Clients  int     `json:"clients"`
	MsgPerS  float64 `json:"msg_per_s"`
	Latency  Latency `json:"latency"`
	Errors   int64   `json:"errors"`
	FirstErr string  `json:"first_error,omitempty"`
	CPU      CPUUse  `json:"cpu"`
	// Answered is every request answered as wanted, warm-up included.
	Answered int64 `json:"answered"`
	// Per request in the measured window: CPU µs of the server (summed
	// over its processes), of the harness (the load generator) and of the
	// PostgreSQL cluster; heap allocations of the server and their bytes
	// (the delta of go_memstats_mallocs_total and
	// go_memstats_alloc_bytes_total on its /metrics; 0 without one).
	ServerCPUus     float64 `json:"server_cpu_us_per_op,omitempty"`
	HarnessCPUus    float64 `json:"harness_cpu_us_per_op,omitempty"`
	DBCPUus         float64 `json:"db_cpu_us_per_op,omitempty"`
	AllocsPerOp     float64 `json:"allocs_per_op,omitempty"`
	AllocBytesPerOp float64 `json:"alloc_bytes_per_op,omitempty"`
}

// SendLevel is Belfry and the hello-world handler at one client count.
type SendLevel struct {
	Clients int        `json:"clients"`
	Belfry  LoadResult `json:"belfry"`
	Trivial LoadResult `json:"trivial_handler,omitempty"`
	// On PostgreSQL: the database's transactions over the level (warm-up
	// included, from pg_stat_database), committed and rolled back: the
	// sends', read-only ones (which end in a rollback), retried ones, and
	// belfry's background work (outbox relay, leases) meanwhile.
	PGCommits   int64 `json:"pg_xact_commit,omitempty"`
	PGRollbacks int64 `json:"pg_xact_rollback,omitempty"`
}

// SQLiteResult is the raw insert limit, of SQLite (in the harness's
// process) or of PostgreSQL (through pgx, one connection).
type SQLiteResult struct {
	BatchSize int     `json:"batch_size"`
	RowsPerS  float64 `json:"rows_per_s"`
	Rows      int64   `json:"rows"`
	Error     string  `json:"error,omitempty"`
	CPU       CPUUse  `json:"cpu"`
	// CPUusPerRow is the CPU µs per row of the inserting process (the
	// harness) plus, for PostgreSQL, its server processes.
	CPUusPerRow float64 `json:"cpu_us_per_row,omitempty"`
}

// SendsResult is measurement 1.
type SendsResult struct {
	Warmup   string         `json:"warmup"`
	Duration string         `json:"duration"`
	Levels   []SendLevel    `json:"levels"`
	SQLite   []SQLiteResult `json:"sqlite_raw_insert,omitempty"`
	// Postgres is the raw limit of the PostgreSQL mode: the same rows
	// inserted into PostgreSQL through pgx on the server belfry used.
	Postgres   []SQLiteResult `json:"postgres_raw_insert,omitempty"`
	ProfileTop string         `json:"profile_top,omitempty"`
	Profile    string         `json:"profile,omitempty"`
	Error      string         `json:"error,omitempty"`
	// Store is "postgres" when the sends ran against the PostgreSQL store;
	// "" is the embedded SQLite store. The PostgreSQL run does not repeat
	// the hello-world handler: its limit is the SQLite run's.
	Store string `json:"store,omitempty"`
}

// messageContent is the Content of every benchmark message: ~100 bytes,
// the size of a short chat line.
const messageContent = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. 0123456789"

// requestFunc builds client c's next request.
type requestFunc func(ctx context.Context, c int) (*http.Request, error)

// closedLoop runs n clients, each on its own keep-alive connection, each
// sending its next request as soon as the previous answer is read, for
// warm+dur; requests that start and end in the last dur are measured.
func closedLoop(ctx context.Context, pids []int, metricsBase string, n int, warm, dur time.Duration, want int, next requestFunc) LoadResult {
	var h hist
	var done, errs, answered atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(dur)
	win := sampleWindow(pids, metricsBase, measureFrom, end)
	ctx, cancel := context.WithDeadline(ctx, end.Add(5*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: newTransport(1)}
			defer hc.CloseIdleConnections()
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				req, err := next(ctx, c)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				res, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				t1 := time.Now()
				if res.StatusCode != want {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d: %s", res.StatusCode, truncateString(string(b), 200)))
					continue
				}
				answered.Add(1)
				if !t0.Before(measureFrom) && !t1.After(end) {
					h.Record(t1.Sub(t0))
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	w := <-win
	r := LoadResult{Clients: n, MsgPerS: round1(float64(done.Load()) / dur.Seconds()), Latency: h.Summary(), Errors: errs.Load(), CPU: w.cpu, Answered: answered.Load()}
	r.perOp(w)
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	return r
}

// runSends is measurement 1: durable SendChannelMessage throughput and
// latency, beside a hello-world handler and raw inserts into the engine
// belfry stores in. On PostgreSQL (pg) the hello-world handler is not run
// again: the SQLite run's is the limit of both.
func runSends(ctx context.Context, s *suite, pg bool) (res SendsResult) {
	cfg := s.cfg
	res.Warmup, res.Duration = cfg.sendWarm.String(), cfg.sendDur.String()
	maxClients := 0
	for _, n := range cfg.sendLevels {
		maxClients = max(maxClients, n)
	}
	name := "sends"
	bin := s.belfry
	if s.belfryProf != "" {
		bin = s.belfryProf
	}
	var extra []string
	var dbURL string
	if pg {
		name = "sends-pg"
		var err error
		if dbURL, err = s.pg.database(ctx, "bench_sends"); err != nil {
			res.Error = err.Error()
			return res
		}
		res.Store, extra = "postgres", []string{"--store", dbURL}
	}
	p, _, err := startBelfry(ctx, serveOpts{bin: bin, dataDir: filepath.Join(s.work, name), pprof: s.belfryProf != "", extra: extra})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer p.Kill()
	a := newAPI(p.base(), 16)
	app, err := a.createAppInstance(ctx, "bench-sends")
	if err != nil {
		res.Error = "setup: " + err.Error()
		return res
	}
	users, err := a.createUsers(ctx, app, "sender", maxClients, 8)
	if err != nil {
		res.Error = "setup: " + err.Error()
		return res
	}
	channel, err := a.createChannel(ctx, app, "sends", users[0])
	if err != nil {
		res.Error = "setup: " + err.Error()
		return res
	}
	if err := a.addMembers(ctx, channel, users[0], users[1:]); err != nil {
		res.Error = "setup: " + err.Error()
		return res
	}
	belfryURL := p.base() + channelPath(channel, "/messages")

	var trivial *helperProc
	var trivialURL string
	if !pg {
		if trivial, err = startHelper("__trivial"); err != nil {
			res.Error = err.Error()
			return res
		}
		defer trivial.Kill()
		trivialURL = "http://" + trivial.addr + channelPath(channel, "/messages")
	}

	reqFor := func(base string) requestFunc {
		return func(ctx context.Context, c int) (*http.Request, error) {
			// A random UUID, the ClientRequestToken the AWS SDKs fill in:
			// a random key in the store's token index, as in production
			// (a per-client counter would be appended at one page).
			body := sendBody(messageContent, uuid.NewString())
			return signedRequest(ctx, "POST", base, body, users[c])
		}
	}
	for _, n := range cfg.sendLevels {
		s.logf("%s: %d clients against belfry (%s warm-up, %s)", name, n, cfg.sendWarm, cfg.sendDur)
		var profDone chan profileResult
		if p.pprofAddr != "" && n == 64 {
			profDone = captureProfile(ctx, p.pprofAddr, cfg.sendWarm+cfg.sendDur/4, cfg.sendDur/2)
		}
		var c0, r0 int64
		if pg {
			c0, r0 = pgXacts(ctx, dbURL)
		}
		b := closedLoop(ctx, []int{p.cmd.Process.Pid}, p.base(), n, cfg.sendWarm, cfg.sendDur, 201, reqFor(belfryURL))
		if profDone != nil {
			pr := <-profDone
			if pr.err != nil {
				s.logf("%s: profile: %v", name, pr.err)
			} else {
				res.Profile, res.ProfileTop = s.saveProfile(name+"-64", bin, pr.data)
			}
		}
		lvl := SendLevel{Clients: n, Belfry: b}
		if pg {
			// The statistics reach pg_stat_database within a second.
			time.Sleep(1100 * time.Millisecond)
			c1, r1 := pgXacts(ctx, dbURL)
			lvl.PGCommits, lvl.PGRollbacks = c1-c0, r1-r0
			s.logf("%s: %d clients: %d transactions committed, %d rolled back, for %d sends", name, n, lvl.PGCommits, lvl.PGRollbacks, b.Answered)
		}
		s.logf("%s: %d clients: belfry %.0f msg/s p99 %.2f ms (%.2f cores, %.0f µs and %.0f allocs a send; harness %.2f; database %.2f)",
			name, n, b.MsgPerS, b.Latency.P99ms, b.CPU.Server, b.ServerCPUus, b.AllocsPerOp, b.CPU.Harness, b.CPU.DB)
		if trivial != nil {
			s.logf("%s: %d clients against the hello-world handler (%s)", name, n, cfg.limitDur)
			lvl.Trivial = closedLoop(ctx, []int{trivial.cmd.Process.Pid}, "", n, cfg.sendWarm/2, cfg.limitDur, 201, reqFor(trivialURL))
			s.logf("%s: %d clients: hello-world %.0f req/s p99 %.2f ms (%.2f cores)", name, n, lvl.Trivial.MsgPerS, lvl.Trivial.Latency.P99ms, lvl.Trivial.CPU.Server)
		}
		res.Levels = append(res.Levels, lvl)
	}
	p.Kill()
	trivial.Kill()

	for _, batch := range []int{100, 1} {
		if pg {
			s.logf("%s: raw PostgreSQL inserts through pgx, %d rows per transaction (%s)", name, batch, cfg.sqliteDur)
			u, err := s.pg.database(ctx, "bench_raw")
			var r SQLiteResult
			if err != nil {
				r = SQLiteResult{BatchSize: batch, Error: err.Error()}
			} else {
				r = measureRaw(func() SQLiteResult { return pgRawInserts(ctx, u, batch, cfg.sqliteDur) })
			}
			res.Postgres = append(res.Postgres, r)
			s.logf("%s: raw PostgreSQL, batch %d: %.0f rows/s, %.1f µs CPU a row", name, batch, r.RowsPerS, r.CPUusPerRow)
			continue
		}
		s.logf("sends: raw SQLite inserts, %d rows per transaction (%s)", batch, cfg.sqliteDur)
		r := measureRaw(func() SQLiteResult {
			return rawInserts(ctx, filepath.Join(s.work, fmt.Sprintf("raw-insert-%d.db", batch)), batch, cfg.sqliteDur)
		})
		res.SQLite = append(res.SQLite, r)
		s.logf("sends: raw SQLite, batch %d: %.0f rows/s, %.1f µs CPU a row", batch, r.RowsPerS, r.CPUusPerRow)
	}
	return res
}

// pgXacts is the database's committed and rolled-back transactions so far.
func pgXacts(ctx context.Context, url string) (commits, rollbacks int64) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0
	}
	defer conn.Close(ctx)
	_ = conn.QueryRow(ctx, "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()").Scan(&commits, &rollbacks)
	return commits, rollbacks
}

// measureRaw runs a raw insert measurement and adds the CPU it took: the
// harness's (it inserts) and the PostgreSQL cluster's.
func measureRaw(run func() SQLiteResult) SQLiteResult {
	stop := cpuWindow()
	r := run()
	r.CPU = stop()
	if r.RowsPerS > 0 {
		r.CPUusPerRow = round3((r.CPU.Harness + r.CPU.DB) * 1e6 / r.RowsPerS)
	}
	return r
}

// pgRawInserts is rawInserts on PostgreSQL through pgx, one connection:
// batch rows a transaction, sent as one pipelined pgx.Batch.
func pgRawInserts(ctx context.Context, url string, batch int, dur time.Duration) SQLiteResult {
	r := SQLiteResult{BatchSize: batch}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer conn.Close(ctx)
	if _, err = conn.Exec(ctx, `CREATE TABLE messages (
		seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		message_id TEXT NOT NULL UNIQUE,
		app_instance_id TEXT NOT NULL,
		channel_id TEXT NOT NULL,
		content TEXT NOT NULL,
		type TEXT NOT NULL,
		sender_kind TEXT NOT NULL,
		sender_id TEXT NOT NULL,
		status TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX messages_by_time ON messages (app_instance_id, channel_id, created_at, seq)`); err != nil {
		r.Error = err.Error()
		return r
	}
	const q = `INSERT INTO messages (message_id, app_instance_id, channel_id, content, type, sender_kind, sender_id, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'STANDARD', 'user', $5, 'SENT', $6, $7)`
	id, app, ch := rawRowKeys()
	start := time.Now()
	end := start.Add(dur)
	var rows int64
	for time.Now().Before(end) && ctx.Err() == nil {
		now := time.Now().UnixMilli()
		if batch == 1 {
			if _, err := conn.Exec(ctx, q, id(), app, ch, messageContent, "sender00001", now, now); err != nil {
				r.Error = err.Error()
				break
			}
			rows++
			continue
		}
		b := &pgx.Batch{}
		for range batch {
			b.Queue(q, id(), app, ch, messageContent, "sender00001", now, now)
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
		if err != nil {
			r.Error = err.Error()
			break
		}
		rows += int64(batch)
	}
	r.Rows = rows
	r.RowsPerS = round1(float64(rows) / time.Since(start).Seconds())
	return r
}

// rawInserts inserts message-shaped rows into a fresh SQLite file in WAL
// mode with synchronous=NORMAL (as the store runs), batch rows per
// transaction, for dur. The table has the store's message columns and its
// unique message id and history index; ids are random hex, like Belfry's.
func rawInserts(ctx context.Context, path string, batch int, dur time.Duration) SQLiteResult {
	r := SQLiteResult{BatchSize: batch}
	defer os.Remove(path)
	defer os.Remove(path + "-wal")
	defer os.Remove(path + "-shm")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, `CREATE TABLE messages (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		message_id TEXT NOT NULL UNIQUE,
		app_instance_id TEXT NOT NULL,
		channel_id TEXT NOT NULL,
		content TEXT NOT NULL,
		type TEXT NOT NULL,
		sender_kind TEXT NOT NULL,
		sender_id TEXT NOT NULL,
		status TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX messages_by_time ON messages (app_instance_id, channel_id, created_at, seq);`)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	id, app, ch := rawRowKeys()
	start := time.Now()
	end := start.Add(dur)
	var rows int64
	for time.Now().Before(end) && ctx.Err() == nil {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			r.Error = err.Error()
			break
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO messages (message_id, app_instance_id, channel_id, content, type, sender_kind, sender_id, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'STANDARD', 'user', ?, 'SENT', ?, ?)`)
		if err != nil {
			_ = tx.Rollback()
			r.Error = err.Error()
			break
		}
		for range batch {
			now := time.Now().UnixMilli()
			if _, err = stmt.ExecContext(ctx, id(), app, ch, messageContent, "sender00001", now, now); err != nil {
				break
			}
		}
		stmt.Close()
		if err != nil {
			_ = tx.Rollback()
			r.Error = err.Error()
			break
		}
		if err := tx.Commit(); err != nil {
			r.Error = err.Error()
			break
		}
		rows += int64(batch)
	}
	r.Rows = rows
	r.RowsPerS = round1(float64(rows) / time.Since(start).Seconds())
	return r
}

// runTrivial is the `bench __trivial` child: a hello-world net/http
// handler answering every request as SendChannelMessage would, without
// verifying anything.
func runTrivial() {
	mux := http.NewServeMux()
	resp := []byte(`{"ChannelArn":"arn:aws:chime:us-east-1:000000000000:app-instance/00000000-0000-0000-0000-000000000000/channel/0000000000000000000000000000000000000000000000000000000000000000","MessageId":"0000000000000000000000000000000000000000000000000000000000000000","Status":{"Value":"SENT"}}`)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write(resp)
	})
	serveHelper(mux)
}

// rawRowKeys returns what the raw inserts of both engines key a
// message-shaped row with: random 256-bit message ids (a fixed seed), and an
// app instance and channel id of Belfry's lengths.
func rawRowKeys() (id func() string, app, ch string) {
	rng := rand.New(rand.NewPCG(1, 2))
	id = func() string {
		return fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	return id, strings.Repeat("a", 36), strings.Repeat("c", 64)
}
