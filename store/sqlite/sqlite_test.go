package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
	"github.com/belfryhq/belfry/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	})
}

// openTemp opens the database at path and closes it when t ends, unless
// the test closed it already.
func openTemp(t *testing.T, path string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// appliedMigrations returns the versions recorded in schema_migrations.
func appliedMigrations(t *testing.T, db *DB) []int {
	t.Helper()
	rows, err := db.readers.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestMigrationsApplyOnceAndReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	c := store.Credential{AccessKeyID: "AKIAREOPEN", SecretAccessKey: "s", UserArn: "arn:u", CreatedAt: time.UnixMilli(1)}

	db := openTemp(t, path)
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateCredential(t.Context(), c) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 3 {
		db := openTemp(t, path)
		if got := appliedMigrations(t, db); len(got) != len(ms) {
			t.Errorf("open #%d: schema_migrations has %v, want versions 1..%d once each", i+2, got, len(ms))
		}
		err := db.View(t.Context(), func(tx store.ReadTx) error {
			_, err := tx.GetCredential(t.Context(), c.AccessKeyID)
			return err
		})
		if err != nil {
			t.Errorf("open #%d: credential written before reopening: %v", i+2, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Two handles on one file opening at once stand for `belfry serve` and a
// `belfry credentials` command: each migration must still run once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	const n = 4
	errs := make(chan error, n)
	dbs := make(chan *DB, n)
	for range n {
		go func() {
			db, err := Open(t.Context(), path)
			errs <- err
			dbs <- db
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
		if db := <-dbs; db != nil {
			t.Cleanup(func() { _ = db.Close() })
			// Each version once, in order: 1, 2, ...
			got := appliedMigrations(t, db)
			for i, v := range got {
				if v != i+1 {
					t.Errorf("schema_migrations = %v, want each version once", got)
					break
				}
			}
			if len(got) == 0 {
				t.Errorf("schema_migrations is empty")
			}
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	db := openTemp(t, path)
	// As if a newer Belfry had migrated the file.
	if _, err := db.conn.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, err := Open(t.Context(), path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("error %q does not say which version the file has", err)
	}
}

func TestPragmas(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"), WithBusyTimeout(1234*time.Millisecond))

	tests := []struct {
		pool   string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "foreign_keys", "1"},
		{"writer", "synchronous", "1"}, // NORMAL
		{"writer", "wal_autocheckpoint", fmt.Sprint(backstopPages)},
		{"writer", "busy_timeout", "1234"},
		{"writer", "query_only", "0"},
		{"writer", "temp_store", "2"}, // MEMORY
		{"writer", "cache_size", "-8192"},
		{"readers", "journal_mode", "wal"},
		{"readers", "busy_timeout", "1234"},
		{"readers", "query_only", "1"},
	}
	for _, tc := range tests {
		t.Run(tc.pool+"/"+tc.pragma, func(t *testing.T) {
			var pool interface {
				QueryRowContext(context.Context, string, ...any) *sql.Row
			} = db.conn // the writer's one connection, which the write loop holds
			if tc.pool == "readers" {
				pool = db.readers
			}
			var got string
			if err := pool.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
}

func TestPoolSizes(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"), WithReadConns(3))
	if got := db.writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", got)
	}
	if got := db.Stats().Readers.MaxOpenConnections; got != 3 {
		t.Errorf("readers MaxOpenConnections = %d, want 3", got)
	}
}

func TestReadersCannotWrite(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	_, err := db.readers.ExecContext(t.Context(),
		`INSERT INTO credentials (access_key_id, secret_access_key, user_arn, created_at) VALUES ('k', 's', 'u', 0)`)
	if err == nil {
		t.Fatal("a read pool connection wrote to the database")
	}
}

// With one writer connection, a second Update queues in the pool for the
// connection instead of meeting SQLite's lock (and, after busy_timeout,
// SQLITE_BUSY); once the first commits, it runs and sees the first's write.
func TestUpdatesQueueForTheWriter(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"), WithBusyTimeout(50*time.Millisecond))
	c := store.Credential{AccessKeyID: "AKIAFIRST", SecretAccessKey: "s", UserArn: "arn:u", CreatedAt: time.UnixMilli(1)}

	held := make(chan struct{})
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.CreateCredential(t.Context(), c); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held

	second := make(chan error, 1)
	go func() {
		second <- db.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetCredential(t.Context(), c.AccessKeyID)
			return err
		})
	}()
	// Spin (no timer) until the second Update waits for the writer. Had it
	// got a connection of its own, it would instead fail with SQLITE_BUSY
	// after busy_timeout and end the loop.
	for db.Stats().Updates < 2 {
		select {
		case err := <-second:
			close(release)
			t.Fatalf("second Update ended while the first held the writer: %v", err)
		default:
			runtime.Gosched()
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second Update: %v", err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared", "file:belfry.db?mode=ro"} {
		if db, err := Open(t.Context(), path); err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// Directory names that look like URI syntax must not change which file is
// opened.
func TestOpenPathWithURICharacters(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "we?ird#dir%20 name")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "belfry.db")
	db := openTemp(t, path)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no database at %s: %v", path, err)
	}
	// Nothing was created beside the intended directory, say at "we".
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 1 {
		t.Errorf("files in %s: %v (err %v), want only the directory", parent, entries, err)
	}
}

// The checkpointer, not the writer, copies committed pages from the WAL
// into the database file: after commits, it reports frames checkpointed
// without the writer's backstop having run (the WAL is far below it), and
// a reader still sees every commit.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	for i := range 50 {
		c := store.Credential{AccessKeyID: "AKIACKPT" + strings.Repeat("X", i), SecretAccessKey: "s", UserArn: "arn:u", CreatedAt: time.UnixMilli(1)}
		if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateCredential(t.Context(), c) }); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.Stats().CheckpointedFrames == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no frame checkpointed 30 s after 50 commits: %+v", db.Stats())
		}
		time.Sleep(checkpointEvery / 4) // polling the loop's counter, not synchronising
	}
	if f := db.Stats().CheckpointFailures; f != 0 {
		t.Errorf("%d checkpoint rounds failed", f)
	}
	var n int
	if err := db.readers.QueryRowContext(t.Context(), `SELECT count(*) FROM credentials WHERE access_key_id LIKE 'AKIACKPT%'`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("a reader sees %d of 50 credentials (%v)", n, err)
	}
}

// Under steady writes the WAL restarts without the writer's backstop: once
// it holds restartFrames, the checkpointer's round asks the writer to
// finish the checkpoint between two batches, so that a batch written after
// the round is copied too and the next one starts the WAL over. (A PASSIVE
// checkpoint alone never catches up with a writer that keeps appending.)
func TestWriterFinishesTheCheckpoint(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	db.stopCheckpointer() // its rounds are run below, one at a time
	walFrames := func() int64 {
		t.Helper()
		var busy, log, done int64
		if err := db.ckpt.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	n := 0
	write := func(rows, size int) { t.Helper(); writeCredentials(t, db, "AKIAWAL", &n, rows, size) }
	for range 20 {
		write(100, 3000) // about 1,600 pages in all
	}
	db.checkpoint() // the checkpointer's round: past restartFrames, it asks the writer
	write(50, 3000) // appended after the round; the writer finishes after this batch
	write(1, 10)    // so this one begins a fresh WAL
	if got := db.Stats().FinishedCheckpoints; got != 1 {
		t.Fatalf("FinishedCheckpoints = %d after a round past %d frames and two batches, want 1", got, restartFrames)
	}
	if got := walFrames(); got > 20 {
		t.Errorf("the WAL holds %d frames after the writer finished the checkpoint, want it started over (a few)", got)
	}
	if f := db.Stats().CheckpointFailures; f != 0 {
		t.Errorf("%d checkpoint rounds failed", f)
	}
	var count int
	if err := db.readers.QueryRowContext(t.Context(), `SELECT count(*) FROM credentials WHERE access_key_id LIKE 'AKIAWAL%'`).Scan(&count); err != nil || count != n {
		t.Fatalf("a reader sees %d of %d credentials (%v)", count, n, err)
	}
}

// The writer's finishing checkpoint pauses every queued send, so the
// checkpointer asks for one at most every finishEvery while the WAL is
// shorter than restartMaxFrames, and at once past it.
func TestFinishDue(t *testing.T) {
	for _, c := range []struct {
		name      string
		logFrames int64
		since     time.Duration
		want      bool
	}{
		{"short WAL", restartFrames - 1, time.Hour, false},
		{"busy checkpoint (-1)", -1, time.Hour, false},
		{"never finished", restartFrames, time.Duration(time.Now().UnixNano()), true},
		{"finished just now", restartFrames, 0, false},
		{"finished within finishEvery", restartMaxFrames - 1, finishEvery - time.Millisecond, false},
		{"finishEvery passed", restartFrames, finishEvery, true},
		{"long WAL, finished just now", restartMaxFrames, 0, true},
		{"long WAL, short WAL bound kept", restartMaxFrames + 1, time.Millisecond, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := finishDue(c.logFrames, c.since); got != c.want {
				t.Errorf("finishDue(%d, %v) = %v, want %v", c.logFrames, c.since, got, c.want)
			}
		})
	}
	if restartMaxFrames >= backstopPages {
		t.Errorf("restartMaxFrames %d must stay below the backstop %d, or the backstop's checkpoint runs inside a commit first", restartMaxFrames, backstopPages)
	}
}

// A round past restartFrames within finishEvery of the writer's last finish
// copies but does not ask the writer; once finishEvery has passed it does,
// and the writer's finish is counted and restarts the WAL.
func TestCheckpointerSpacesTheFinishes(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	db.stopCheckpointer() // its rounds are run below, one at a time
	n := 0
	write := func(rows int) { t.Helper(); writeCredentials(t, db, "AKIAGAP", &n, rows, 3000) }
	for range 20 {
		write(100) // about 1,600 pages: past restartFrames, below restartMaxFrames
	}
	db.finishedAt.Store(time.Now().UnixNano()) // as if the writer had just finished
	db.checkpoint()
	if db.finish.Load() {
		t.Fatal("a round within finishEvery of the last finish asked the writer to finish")
	}
	if f := db.Stats().CheckpointedFrames; f == 0 {
		t.Fatal("the round copied nothing")
	}
	db.finishedAt.Store(time.Now().Add(-finishEvery).UnixNano())
	db.checkpoint()
	if !db.finish.Load() {
		t.Fatal("a round finishEvery after the last finish did not ask the writer")
	}
	before := db.finishedAt.Load()
	write(1) // the writer finishes after this batch,
	write(1) // so this one begins a fresh WAL
	if got := db.Stats().FinishedCheckpoints; got != 1 {
		t.Fatalf("FinishedCheckpoints = %d, want 1", got)
	}
	if db.finishedAt.Load() <= before {
		t.Error("the writer's finish did not record its time")
	}
	var busy, log, done int64
	if err := db.ckpt.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		t.Fatal(err)
	}
	if log > 20 {
		t.Errorf("the WAL holds %d frames after the writer finished, want it started over (a few)", log)
	}
}

// writeCredentials writes rows credentials of secrets size bytes long in
// one Update, numbered on from *n with prefix: WAL pages for the
// checkpoint tests.
func writeCredentials(t *testing.T, db *DB, prefix string, n *int, rows, size int) {
	t.Helper()
	err := db.Update(t.Context(), func(tx store.Tx) error {
		for range rows {
			*n++
			c := store.Credential{AccessKeyID: fmt.Sprintf("%s%08d", prefix, *n), SecretAccessKey: strings.Repeat("s", size), UserArn: "arn:u", CreatedAt: time.UnixMilli(1)}
			if err := tx.CreateCredential(t.Context(), c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
