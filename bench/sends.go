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
}

// SendLevel is Belfry and the hello-world handler at one client count.
type SendLevel struct {
	Clients int        `json:"clients"`
	Belfry  LoadResult `json:"belfry"`
	Trivial LoadResult `json:"trivial_handler"`
}

// SQLiteResult is the raw insert limit.
type SQLiteResult struct {
	BatchSize int     `json:"batch_size"`
	RowsPerS  float64 `json:"rows_per_s"`
	Rows      int64   `json:"rows"`
	Error     string  `json:"error,omitempty"`
}

// SendsResult is measurement 1.
type SendsResult struct {
	Warmup     string         `json:"warmup"`
	Duration   string         `json:"duration"`
	Levels     []SendLevel    `json:"levels"`
	SQLite     []SQLiteResult `json:"sqlite_raw_insert"`
	ProfileTop string         `json:"profile_top,omitempty"`
	Profile    string         `json:"profile,omitempty"`
	Error      string         `json:"error,omitempty"`
	// Store is "postgres" when the sends ran against the PostgreSQL store
	// (-postgres); "" is the embedded SQLite store.
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
func closedLoop(ctx context.Context, serverPid, n int, warm, dur time.Duration, want int, next requestFunc) LoadResult {
	var h hist
	var done, errs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(dur)
	cpu := sampleCPU(serverPid, measureFrom, end)
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
				if !t0.Before(measureFrom) && !t1.After(end) {
					h.Record(t1.Sub(t0))
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r := LoadResult{Clients: n, MsgPerS: round1(float64(done.Load()) / dur.Seconds()), Latency: h.Summary(), Errors: errs.Load(), CPU: <-cpu}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	return r
}

// runSends is measurement 1: durable SendChannelMessage throughput and
// latency, beside a hello-world handler and raw SQLite inserts.
func runSends(ctx context.Context, s *suite) (res SendsResult) {
	cfg := s.cfg
	res.Warmup, res.Duration = cfg.sendWarm.String(), cfg.sendDur.String()
	maxClients := 0
	for _, n := range cfg.sendLevels {
		maxClients = max(maxClients, n)
	}
	dir := filepath.Join(s.work, "sends")
	bin := s.belfry
	if s.belfryProf != "" {
		bin = s.belfryProf
	}
	var extra []string
	if s.postgres != "" {
		url, err := freshDatabase(ctx, s.postgres, "bench_sends")
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Store, extra = "postgres", []string{"--store", url}
	}
	p, _, err := startBelfry(ctx, serveOpts{bin: bin, dataDir: dir, pprof: s.belfryProf != "", extra: extra})
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

	trivial, err := startHelper("__trivial")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer trivial.Kill()
	trivialURL := "http://" + trivial.addr + channelPath(channel, "/messages")

	var seq atomic.Int64
	reqFor := func(base string) requestFunc {
		return func(ctx context.Context, c int) (*http.Request, error) {
			i := seq.Add(1)
			body := sendBody(messageContent, fmt.Sprintf("s%d-%d", c, i))
			return signedRequest(ctx, "POST", base, body, users[c])
		}
	}
	for _, n := range cfg.sendLevels {
		s.logf("sends: %d clients against belfry (%s warm-up, %s)", n, cfg.sendWarm, cfg.sendDur)
		var profDone chan profileResult
		if p.pprofAddr != "" && n == 64 {
			profDone = captureProfile(ctx, p.pprofAddr, cfg.sendWarm+cfg.sendDur/4, cfg.sendDur/2)
		}
		b := closedLoop(ctx, p.cmd.Process.Pid, n, cfg.sendWarm, cfg.sendDur, 201, reqFor(belfryURL))
		if profDone != nil {
			pr := <-profDone
			if pr.err != nil {
				s.logf("sends: profile: %v", pr.err)
			} else {
				res.Profile, res.ProfileTop = s.saveProfile("sends-64", bin, pr.data)
			}
		}
		s.logf("sends: %d clients against the hello-world handler (%s)", n, cfg.limitDur)
		t := closedLoop(ctx, trivial.cmd.Process.Pid, n, cfg.sendWarm/2, cfg.limitDur, 201, reqFor(trivialURL))
		res.Levels = append(res.Levels, SendLevel{Clients: n, Belfry: b, Trivial: t})
		s.logf("sends: %d clients: belfry %.0f msg/s p99 %.2f ms (%.2f cores; harness %.2f); hello-world %.0f req/s p99 %.2f ms (%.2f cores)",
			n, b.MsgPerS, b.Latency.P99ms, b.CPU.Server, b.CPU.Harness, t.MsgPerS, t.Latency.P99ms, t.CPU.Server)
	}
	p.Kill()
	trivial.Kill()

	for _, batch := range []int{100, 1} {
		s.logf("sends: raw SQLite inserts, %d rows per transaction (%s)", batch, cfg.sqliteDur)
		r := rawInserts(ctx, filepath.Join(s.work, fmt.Sprintf("raw-insert-%d.db", batch)), batch, cfg.sqliteDur)
		res.SQLite = append(res.SQLite, r)
		s.logf("sends: raw SQLite, batch %d: %.0f rows/s", batch, r.RowsPerS)
	}
	return res
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
	rng := rand.New(rand.NewPCG(1, 2))
	id := func() string {
		return fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	app := strings.Repeat("a", 36)
	ch := strings.Repeat("c", 64)
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
