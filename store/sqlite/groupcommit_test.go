package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// One batch of Updates, some failing before they write, some after, one
// panicking, one cancelled while it runs: each failure undoes exactly its
// own writes, the others commit, and AfterCommit runs once per committed
// Update in commit order, however often the batch ran its fns.
func TestBatchUndoesOnlyTheFailedUpdates(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	cred := func(id string) store.Credential {
		return store.Credential{AccessKeyID: id, SecretAccessKey: "s", UserArn: "arn:" + id, CreatedAt: time.UnixMilli(1)}
	}
	errRefused := errors.New("refused")
	cancelled, cancel := context.WithCancel(ctx)

	var mu sync.Mutex
	var hooks []string
	type update struct {
		name string
		ctx  context.Context
		fn   func(tx store.Tx) error
		want error // nil, errRefused, context.Canceled; "panic" below
	}
	create := func(name string, then func() error) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			if err := tx.CreateCredential(ctx, cred(name)); err != nil {
				return err
			}
			tx.AfterCommit(func() { mu.Lock(); hooks = append(hooks, name); mu.Unlock() })
			return then()
		}
	}
	ok := func() error { return nil }
	updates := []update{
		{"a", ctx, create("a", ok), nil},
		{"refused-before-writing", ctx, func(tx store.Tx) error {
			if _, err := tx.GetCredential(ctx, "a"); err != nil {
				return err
			}
			return errRefused
		}, errRefused},
		{"b", ctx, create("b", ok), nil},
		{"refused-after-writing", ctx, create("refused-after-writing", func() error { return errRefused }), errRefused},
		{"duplicate", ctx, create("a", ok), store.ErrConflict},
		{"cancelled-while-running", cancelled, create("cancelled-while-running", func() error { cancel(); return nil }), context.Canceled},
		{"panics", ctx, create("panics", func() error { panic("boom") }), nil},
		{"c", ctx, create("c", ok), nil},
	}

	ctxs := make([]context.Context, len(updates))
	fns := make([]func(store.Tx) error, len(updates))
	for i, u := range updates {
		ctxs[i], fns[i] = u.ctx, u.fn
	}
	errs, panics := runOneBatch(t, db, ctxs, fns, func() {})

	for i, u := range updates {
		if u.name == "panics" {
			if panics[i] != "boom" {
				t.Errorf("%s: panic %v, want boom", u.name, panics[i])
			}
			continue
		}
		if !errors.Is(errs[i], u.want) || panics[i] != nil {
			t.Errorf("%s: err %v (panic %v), want %v", u.name, errs[i], panics[i], u.want)
		}
	}
	for _, id := range []string{"a", "b", "c", "refused-after-writing", "cancelled-while-running", "panics"} {
		err := db.View(ctx, func(tx store.ReadTx) error { _, err := tx.GetCredential(ctx, id); return err })
		kept := id == "a" || id == "b" || id == "c"
		if kept && err != nil || !kept && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("credential %s: %v (kept: %v)", id, err, kept)
		}
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(hooks, want) {
		t.Errorf("AfterCommit ran %v, want %v", hooks, want)
	}
	if s := db.Stats(); s.Batches != 1 {
		t.Errorf("%d batches committed, want 1 (the holder's, which took in all the others)", s.Batches)
	}
}

// A batch takes in, before its COMMIT, the Updates queued while it ran, up
// to maxBatch: here the holder's batch takes in maxBatch-1 of the Updates
// queued behind it, and the rest make the next batch; every Update commits
// once, and AfterCommit runs in queue order.
func TestBatchTakesInWhatQueuedWhileItRan(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	n := maxBatch + 5
	var mu sync.Mutex
	var hooks []int
	ctxs := make([]context.Context, n)
	fns := make([]func(store.Tx) error, n)
	for i := range n {
		ctxs[i] = ctx
		fns[i] = func(tx store.Tx) error {
			id := fmt.Sprint("k", i)
			if err := tx.CreateCredential(ctx, store.Credential{AccessKeyID: id, SecretAccessKey: "s", UserArn: "arn:" + id, CreatedAt: time.UnixMilli(1)}); err != nil {
				return err
			}
			tx.AfterCommit(func() { mu.Lock(); hooks = append(hooks, i); mu.Unlock() })
			return nil
		}
	}
	errs, panics := runOneBatch(t, db, ctxs, fns, func() {})
	for i := range n {
		if errs[i] != nil || panics[i] != nil {
			t.Errorf("update %d: err %v, panic %v", i, errs[i], panics[i])
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(hooks, want) {
		t.Errorf("AfterCommit ran for %v, want %v", hooks, want)
	}
	if s := db.Stats(); s.Batches != 2 || s.Committed != int64(n+1) {
		t.Errorf("%d batches, %d Updates committed; want 2 (maxBatch each at most) and %d", s.Batches, s.Committed, n+1)
	}
}

// runOneBatch runs fns as one batch of the write loop, in order: they are
// queued while an Update holds the writer, whose batch takes them in (up to
// maxBatch) once it is released. It returns their errors and panics.
// queued runs once they are all queued, before the batch starts.
func runOneBatch(t *testing.T, db *DB, ctxs []context.Context, fns []func(store.Tx) error, queued func()) ([]error, []any) {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan struct{})
	go func() {
		defer close(holderDone)
		// The holder's batch takes in the queued fns, and the holder runs
		// again with them when the batch does.
		var once sync.Once
		_ = db.Update(t.Context(), func(tx store.Tx) error { once.Do(func() { close(held) }); <-release; return nil })
	}()
	<-held
	errs := make([]error, len(fns))
	panics := make([]any, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = db.Update(ctxs[i], fn)
		}()
		// In the queue, not only counted (Updates counts an Update before
		// it reaches the queue): the next one must queue behind it.
		for len(db.queue) < i+1 {
			runtime.Gosched()
		}
	}
	queued()
	close(release)
	wg.Wait()
	<-holderDone
	return errs, panics
}

// Group commit runs a batch without savepoints and runs it again, each fn
// under its savepoint, only when an fn must be undone: one that failed,
// panicked or was cancelled after writing. Each case is one batch; runs
// is how often each fn ran: the fns up to the one to undo run again, that
// one too (unless its ctx has ended), and one whose ctx ended before the
// batch never runs. Whatever
// the runs, AfterCommit runs once per committed Update, and nothing of a
// refused one or of a discarded run stays.
func TestBatchRunsAgainOnlyToUndo(t *testing.T) {
	errRefused := errors.New("refused")
	type step struct {
		name  string // the credential it creates, if it writes
		kind  string // ok, refuse-before, refuse-after, conflict, write-then-conflict, panic-before, panic-after, cancel-after, cancelled, before-commit
		want  error  // or "boom" panics
		runs  int
		keeps bool // its credential exists afterwards
	}
	ok := func(name string, runs int) step { return step{name, "ok", nil, runs, true} }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"all succeed", []step{ok("a", 1), ok("b", 1), ok("c", 1)}},
		{"refused before writing", []step{ok("a", 1), {"x", "refuse-before", errRefused, 1, false}, ok("b", 1)}},
		{"refused after writing", []step{ok("a", 2), {"x", "refuse-after", errRefused, 2, false}, ok("b", 1)}},
		{"constraint error, nothing written", []step{ok("a", 1), {"seed", "conflict", store.ErrConflict, 1, true}, ok("b", 1)}},
		{"constraint error after writing", []step{ok("a", 2), {"x", "write-then-conflict", store.ErrConflict, 2, false}, ok("b", 1)}},
		{"panic before writing", []step{ok("a", 1), {"x", "panic-before", nil, 1, false}, ok("b", 1)}},
		{"panic after writing", []step{ok("a", 2), {"x", "panic-after", nil, 2, false}, ok("b", 1)}},
		{"cancelled while running, after writing", []step{ok("a", 2), {"x", "cancel-after", context.Canceled, 1, false}, ok("b", 1)}},
		{"cancelled before running", []step{ok("a", 1), {"x", "cancelled", context.Canceled, 0, false}, ok("b", 1)}},
		{"BeforeCommit of a discarded run", []step{{"a", "before-commit", nil, 2, true}, {"x", "refuse-after", errRefused, 2, false}, ok("b", 1)}},
		{"only failures", []step{{"x", "refuse-before", errRefused, 2, false}, {"y", "refuse-after", errRefused, 2, false}, {"z", "panic-before", nil, 1, false}}},
		{"mixed", []step{
			ok("a", 2),
			{"r", "refuse-before", errRefused, 2, false},
			{"x", "refuse-after", errRefused, 2, false},
			ok("b", 1),
			{"y", "panic-after", nil, 1, false}, // under its savepoint in the second run
			{"seed", "conflict", store.ErrConflict, 1, true},
			{"z", "cancel-after", context.Canceled, 1, false},
			ok("c", 1),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
			ctx := t.Context()
			cred := func(id string) store.Credential {
				return store.Credential{AccessKeyID: id, SecretAccessKey: "s", UserArn: "arn:" + id, CreatedAt: time.UnixMilli(1)}
			}
			if err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateCredential(ctx, cred("seed")) }); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var hooks []string
			runs := make([]int, len(tc.steps))
			ctxs := make([]context.Context, len(tc.steps))
			fns := make([]func(store.Tx) error, len(tc.steps))
			var cancelQueued []context.CancelFunc
			for i, s := range tc.steps {
				sctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if s.kind == "cancelled" {
					cancelQueued = append(cancelQueued, cancel)
				}
				ctxs[i] = sctx
				fns[i] = func(tx store.Tx) error {
					mu.Lock()
					runs[i]++
					mu.Unlock()
					write := func() error {
						if err := tx.CreateCredential(ctx, cred(s.name)); err != nil {
							return err
						}
						tx.AfterCommit(func() { mu.Lock(); hooks = append(hooks, s.name); mu.Unlock() })
						return nil
					}
					read := func() error { _, err := tx.GetCredential(ctx, "seed"); return err }
					switch s.kind {
					case "ok", "cancelled":
						return write()
					case "refuse-before":
						if err := read(); err != nil {
							return err
						}
						return errRefused
					case "refuse-after":
						if err := write(); err != nil {
							return err
						}
						return errRefused
					case "conflict":
						return tx.CreateCredential(ctx, cred("seed"))
					case "write-then-conflict":
						if err := write(); err != nil {
							return err
						}
						return tx.CreateCredential(ctx, cred("seed"))
					case "panic-before":
						if err := read(); err != nil {
							return err
						}
						panic("boom")
					case "panic-after":
						if err := write(); err != nil {
							return err
						}
						panic("boom")
					case "cancel-after":
						if err := write(); err != nil {
							return err
						}
						cancel()
						return nil
					case "before-commit":
						// Its write would conflict with the discarded
						// run's, had that been kept.
						tx.BeforeCommit(func(ctx context.Context) error { return tx.CreateCredential(ctx, cred(s.name+"-before")) })
						return write()
					}
					t.Errorf("unknown kind %s", s.kind) // not Fatal: this is the writer's goroutine
					return errRefused
				}
			}
			errs, panics := runOneBatch(t, db, ctxs, fns, func() {
				for _, c := range cancelQueued {
					c()
				}
			})

			var wantHooks []string
			for i, s := range tc.steps {
				if strings.HasPrefix(s.kind, "panic") {
					if panics[i] != "boom" {
						t.Errorf("%s: panic %v, want boom", s.name, panics[i])
					}
				} else if !errors.Is(errs[i], s.want) || s.want == nil && errs[i] != nil || panics[i] != nil {
					t.Errorf("%s: err %v (panic %v), want %v", s.name, errs[i], panics[i], s.want)
				}
				if runs[i] != s.runs {
					t.Errorf("%s (%s): fn ran %d times, want %d", s.name, s.kind, runs[i], s.runs)
				}
				err := db.View(ctx, func(tx store.ReadTx) error { _, err := tx.GetCredential(ctx, s.name); return err })
				if s.keeps && err != nil || !s.keeps && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("credential %s: %v (kept: %v)", s.name, err, s.keeps)
				}
				if s.kind == "before-commit" {
					if err := db.View(ctx, func(tx store.ReadTx) error { _, err := tx.GetCredential(ctx, s.name+"-before"); return err }); err != nil {
						t.Errorf("BeforeCommit's credential %s-before: %v", s.name, err)
					}
				}
				if s.keeps && s.kind != "conflict" {
					wantHooks = append(wantHooks, s.name)
				}
			}
			if !slices.Equal(hooks, wantHooks) {
				t.Errorf("AfterCommit ran %v, want %v", hooks, wantHooks)
			}
			// The seed's batch, and the holder's, which took in the others.
			wantBatches := int64(2)
			if s := db.Stats(); s.Batches != wantBatches || s.Committed != 2+int64(len(wantHooks)) {
				t.Errorf("stats: %d batches, %d Updates committed; want %d and %d", s.Batches, s.Committed, wantBatches, 2+len(wantHooks))
			}
		})
	}
}

// The write loop's signal that an fn wrote (detachedQuerier.wrote), and
// that the transaction may be gone (broken), statement by statement.
func TestDetachedQuerierNotesWrites(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	bg := context.Background()
	for _, s := range []string{
		`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT UNIQUE)`,
		`CREATE TABLE log (v TEXT)`,
		`CREATE TRIGGER t_log AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (NEW.v); END`,
		`INSERT INTO t VALUES (1, 'one')`,
	} {
		if _, err := db.conn.ExecContext(bg, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, kind, sql string
		args            []any
		wrote, broken   bool
	}{
		{"select", "row", `SELECT v FROM t WHERE k = ?`, []any{1}, false, false},
		{"select, no row", "row", `SELECT v FROM t WHERE k = ?`, []any{2}, false, false},
		{"select, lower case and indented", "row", "\n\t select v FROM t WHERE k = ?", []any{1}, false, false},
		{"select, rows", "rows", `SELECT v FROM t`, nil, false, false},
		{"insert", "exec", `INSERT INTO t VALUES (2, 'two')`, nil, true, false},
		{"update firing a trigger", "exec", `UPDATE t SET v = 'uno' WHERE k = 1`, nil, true, false},
		{"update of no row", "exec", `UPDATE t SET v = 'x' WHERE k = 99`, nil, true, false},
		{"insert doing nothing on conflict", "exec", `INSERT INTO t VALUES (1, 'one') ON CONFLICT DO NOTHING`, nil, true, false},
		{"insert failing on a constraint", "exec", `INSERT INTO t VALUES (1, 'again')`, nil, false, false},
		{"update returning", "row", `UPDATE t SET v = 'un' WHERE k = 1 RETURNING v`, nil, true, false},
		{"insert returning, failing on a constraint", "row", `INSERT INTO t VALUES (1, 'again') RETURNING k`, nil, true, false},
		{"with ... insert", "row", `WITH n(x) AS (SELECT 3) INSERT INTO t SELECT x, 'three' FROM n RETURNING k`, nil, true, false},
		{"selected is not select", "row", `SELECTED`, nil, true, true},
		{"syntax error", "exec", `INSRT INTO t VALUES (4, 'four')`, nil, true, true},
		{"read error", "rows", `SELECT nosuchcolumn FROM t`, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			defer func() { _, _ = db.conn.ExecContext(bg, "ROLLBACK") }()
			q := &detachedQuerier{conn: db.conn}
			switch tc.kind {
			case "exec":
				_, _ = q.Exec(bg, tc.sql, tc.args...)
			case "row":
				var v any
				_ = q.QueryRow(bg, tc.sql, tc.args...).Scan(&v)
			case "rows":
				rs, err := q.Query(bg, tc.sql, tc.args...)
				if err == nil {
					for rs.Next() {
						var v any
						_ = rs.Scan(&v)
					}
					_ = rs.Err()
					rs.Close()
				}
			}
			if q.wrote != tc.wrote || q.broken != tc.broken {
				t.Errorf("wrote %v, broken %v; want %v, %v", q.wrote, q.broken, tc.wrote, tc.broken)
			}
		})
	}
}

// Group commit counts on a statement that fails on a constraint having
// undone its own writes (detachedQuerier): SQLite's default ABORT
// resolution. OR FAIL would keep a failed statement's earlier rows, OR
// ROLLBACK and RAISE(ROLLBACK) would end the whole transaction; none may
// appear in the schema or in the records' SQL.
func TestSQLKeepsAbortResolution(t *testing.T) {
	bad := regexp.MustCompile(`(?i)\bOR\s+(FAIL|ROLLBACK)\b|\bRAISE\s*\(\s*(FAIL|ROLLBACK)\b|\bON\s+CONFLICT\s+(FAIL|ROLLBACK)\b`)
	check := func(name string, b []byte) {
		for _, m := range bad.FindAll(b, -1) {
			t.Errorf("%s: %q: group commit needs the ABORT conflict resolution (see detachedQuerier)", name, m)
		}
	}
	files, err := fs.Glob(embeddedMigrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(files))
	}
	sources, err := filepath.Glob("../sqlstore/*.go")
	if err != nil || len(sources) == 0 {
		t.Fatalf("sqlstore sources: %v, %d files", err, len(sources))
	}
	for _, f := range files {
		b, err := fs.ReadFile(embeddedMigrations, f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, b)
	}
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, b)
	}
}

// A failed fn's outcome may rest on what an earlier fn of its batch wrote;
// when the batch runs again, that earlier fn writes something else (here
// a new secret, as a send makes a new message id), so the failed fn must
// run again too: its answer names what was committed, not what was
// discarded. (A retried send answered with the discarded run's message id
// named a message that did not exist.)
func TestBatchRunAgainAnswersFromTheCommittedRun(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	var secrets atomic.Int64
	create := func(tx store.Tx) error {
		return tx.CreateCredential(ctx, store.Credential{AccessKeyID: "a", SecretAccessKey: fmt.Sprint("s", secrets.Add(1)), UserArn: "arn:a", CreatedAt: time.UnixMilli(1)})
	}
	var answer string
	errSeen := errors.New("seen")
	// Writes, then reads the first fn's secret and fails with it: the
	// failure after a write sends the batch to its second run.
	readBack := func(tx store.Tx) error {
		if err := tx.CreateCredential(ctx, store.Credential{AccessKeyID: "b", SecretAccessKey: "s", UserArn: "arn:b", CreatedAt: time.UnixMilli(1)}); err != nil {
			return err
		}
		c, err := tx.GetCredential(ctx, "a")
		if err != nil {
			return err
		}
		answer = c.SecretAccessKey
		return errSeen
	}
	errs, panics := runOneBatch(t, db, []context.Context{ctx, ctx}, []func(store.Tx) error{create, readBack}, func() {})
	if errs[0] != nil || !errors.Is(errs[1], errSeen) || panics[0] != nil || panics[1] != nil {
		t.Fatalf("errors %v, panics %v; want nil and %v", errs, panics, errSeen)
	}
	if secrets.Load() != 2 {
		t.Fatalf("the first fn ran %d times, want 2 (the batch ran again)", secrets.Load())
	}
	var committed string
	if err := db.View(ctx, func(tx store.ReadTx) error {
		c, err := tx.GetCredential(ctx, "a")
		committed = c.SecretAccessKey
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if answer != committed {
		t.Errorf("the failed fn answered %q, but %q was committed", answer, committed)
	}
}
