// Package sqlite is the embedded store engine: a store.Store on one SQLite
// file, through the pure-Go driver modernc.org/sqlite (no cgo, so the belfry
// binary stays static). The records' SQL is package sqlstore's, run
// through this package's connections with its dialect (where SQLite's SQL
// differs from PostgreSQL's); the schema, the connections and the
// transactions are this package's.
//
// # Connections
//
// The database runs in WAL mode, where readers never block the writer or
// each other, and it has two pools:
//
//   - the writer: exactly one connection, held by the write loop, so
//     Update transactions run one at a time and never meet SQLITE_BUSY from
//     each other: they queue for the loop instead. The loop commits the
//     Updates queued meanwhile together (group commit, groupcommit.go):
//     one commit for all, and a failing fn undoes only its own writes (the
//     batch runs again under a SAVEPOINT per fn when one must be undone),
//     without changing the store.Store contract.
//   - the readers: a pool of read-only connections (mode=ro and query_only)
//     for View transactions, 2 × GOMAXPROCS by default.
//
// Write transactions begin IMMEDIATE, taking the write lock up front: a
// DEFERRED transaction that reads and then writes can fail with SQLITE_BUSY
// when another process (a `belfry credentials` command run next to
// `belfry serve`) wrote in between, whereas an IMMEDIATE one just waits
// busy_timeout for the lock.
//
// Every connection keeps its prepared statements (stmtcache.go): SQLite
// parses and plans each statement text once per connection, not once per
// call.
//
// synchronous=NORMAL: in WAL mode a commit survives a crash of the process;
// a power loss or OS crash may lose the last commits but never corrupts the
// file.
//
// # Adding a table
//
// See package store for the whole recipe. Here: add
// migrations/NNNN_description.sql (never edit a released one; migrate runs
// it inside the migration transaction with foreign keys off, so it may
// rebuild a table others reference but cannot count on cascades, and a
// PRAGMA there changes nothing), then the record's methods in package
// sqlstore; a query SQLite must word differently goes in dialect. Keep
// SQLite's default ABORT conflict resolution (no OR FAIL, OR ROLLBACK, or
// RAISE(FAIL|ROLLBACK) in a trigger): group commit counts on a statement
// failing on a constraint having undone its own writes (detachedQuerier).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// DB is a store.Store backed by one SQLite file. It is safe for concurrent
// use; see store.Store for the transaction guarantees.
type DB struct {
	writer  *sql.DB // MaxOpenConns(1): the one connection that writes
	readers *sql.DB // read-only connections for View
	// conn is the writer's connection, held by the write loop for the life
	// of the DB (groupcommit.go).
	conn *sql.Conn
	writeQueue
	checkpointer
}

var _ store.Store = (*DB)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	readConns   int
	busyTimeout time.Duration
}

// WithReadConns sets the size of the read pool; the default is
// 2 × GOMAXPROCS. Values below 1 are ignored.
func WithReadConns(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.readConns = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process (or, rarely, a checkpoint) before failing with
// SQLITE_BUSY; the default is 5s. Negative values are ignored.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.busyTimeout = d
		}
	}
}

// Open opens the SQLite database at path, creating the file if needed, and
// migrates its schema to the version this binary knows, applying any pending
// migrations in one transaction. It returns an error wrapping
// store.ErrSchemaTooNew if a newer Belfry has migrated the file.
//
// path is a file system path. In-memory databases are refused: each
// connection would see its own empty database, and the shared-cache
// workaround gives up WAL and fails with SQLITE_LOCKED instead of waiting;
// use a file in a temporary directory instead.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	cfg := config{readConns: 2 * runtime.GOMAXPROCS(0), busyTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need a file system path (in-memory and URI names are not supported)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	timeout := strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)

	writer, err := openDB(dsn(abs, url.Values{
		"_pragma": {
			"busy_timeout(" + timeout + ")",
			"synchronous(NORMAL)",
			"foreign_keys(ON)",
			// The writer's page cache, 8 MiB instead of 2: a send inserts
			// into five B-trees, one with random keys (the token index),
			// whose pages otherwise come back from the OS (a pread) on
			// many sends once the history outgrows the cache. Not more:
			// SQLite scans the whole cache's hash table at the end of
			// every transaction (pcache1TruncateUnsafe, 3 % of a send's
			// CPU at 32 MiB), and message ids are time-ordered, so their
			// index no longer needs a random page per send.
			"cache_size(-8192)",
			// The sub-journal (each Update's SAVEPOINT and each statement's
			// own) in memory: SQLite otherwise moves it to a temporary file
			// once it passes 64 KiB, which a batch of sends does, and then
			// opens, writes and deletes that file in every batch. Nothing
			// durable is kept there: a commit's pages go to the WAL.
			"temp_store(MEMORY)",
			// Checkpoints are the checkpointer's (checkpoint.go); this is
			// its backstop.
			"wal_autocheckpoint(" + strconv.Itoa(backstopPages) + ")",
		},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	writer.SetMaxOpenConns(1)
	// Keep the connection for the life of the DB: reopening costs the pragmas
	// and, for the last connection, a WAL checkpoint.
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	// Connect the writer and migrate before any reader opens: the read-only
	// connections need the file, WAL mode and the schema to exist already.
	if err := setWAL(ctx, writer, cfg.busyTimeout); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err) // a build defect; tests catch it
	}
	if err := migrate(ctx, writer, ms, time.Now()); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}

	readers, err := openDB(dsn(abs, url.Values{
		"mode": {"ro"},
		"_pragma": {
			"busy_timeout(" + timeout + ")",
			"query_only(ON)",
		},
	}))
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	readers.SetMaxOpenConns(cfg.readConns)
	readers.SetMaxIdleConns(cfg.readConns)
	readers.SetConnMaxLifetime(0)
	readers.SetConnMaxIdleTime(0)
	if err := readers.PingContext(ctx); err != nil {
		_ = readers.Close()
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	conn, err := writer.Conn(ctx)
	if err != nil {
		_ = readers.Close()
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	ckpt, err := openDB(dsn(abs, url.Values{
		"_pragma": {
			"busy_timeout(" + timeout + ")",
			"synchronous(NORMAL)",
		},
	}))
	if err == nil {
		ckpt.SetMaxOpenConns(1)
		ckpt.SetMaxIdleConns(1)
		ckpt.SetConnMaxLifetime(0)
		ckpt.SetConnMaxIdleTime(0)
		err = ckpt.PingContext(ctx)
	}
	if err != nil {
		if ckpt != nil {
			_ = ckpt.Close()
		}
		_ = conn.Close()
		_ = readers.Close()
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db := &DB{writer: writer, readers: readers, conn: conn}
	db.startWriter()
	db.startCheckpointer(ckpt)
	return db, nil
}

// setWAL switches the database file to WAL mode. The mode is persistent,
// so this changes something only for a new file; but then SQLite fails at
// once with SQLITE_BUSY, without waiting busy_timeout, if another process
// creating the same file holds a lock. So retry, for up to busy_timeout.
func setWAL(ctx context.Context, db *sql.DB, busyTimeout time.Duration) error {
	deadline := time.Now().Add(busyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil {
			if mode != "wal" {
				// SQLite keeps the old mode where WAL cannot work, as on
				// some network file systems.
				return fmt.Errorf("cannot use WAL mode (journal_mode is %s); is the file on a network file system?", mode)
			}
			return nil
		}
		var se *msqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// openDB opens a pool of connections to dsn with the statement cache
// (stmtcache.go). It cannot fail; it returns an error like sql.Open does.
func openDB(dsn string) (*sql.DB, error) {
	return sql.OpenDB(cachingConnector{dsn: dsn, drv: &msqlite.Driver{}}), nil
}

// dsn builds a modernc.org/sqlite URI name for the file at abs. The path is
// escaped so that '?', '#' or '%' in a directory name cannot be taken for
// URI syntax; SQLite decodes it again.
func dsn(abs string, params url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(abs), RawQuery: params.Encode()}
	return u.String()
}

// View implements store.Store. It runs on the read pool, so it never waits
// for Update.
func (db *DB) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	tx, err := db.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	// Ends the read snapshot whatever happens in fn, panics included. A
	// read-only transaction has nothing to commit.
	defer func() { _ = tx.Rollback() }()
	return fn(sqlstore.NewReadTx(querier{tx}, &dialect))
}

// Ping implements store.Store, checking both pools: the writer by running
// an empty Update through it.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Update(ctx, func(store.Tx) error { return nil }); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := db.readers.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	return nil
}

// Close implements store.Store. The writer closes last so that its close,
// as the file's last connection, checkpoints the WAL into the database file.
func (db *DB) Close() error {
	db.stopWriter()
	db.stopCheckpointer()
	return errors.Join(db.readers.Close(), db.ckpt.Close(), db.conn.Close(), db.writer.Close())
}

// Stats reports the writer and the read pool, for metrics.
type Stats struct {
	// Updates is how many Updates are queued for the writer or running.
	Updates int64
	// Batches and Committed count the writer's transactions and the Updates
	// they committed: Committed/Batches is the mean group-commit size.
	Batches, Committed int64
	// CheckpointedFrames counts the WAL frames the checkpointer copied
	// into the database file, CheckpointFailures its failed rounds.
	CheckpointedFrames, CheckpointFailures int64
	// FinishedCheckpoints counts the writer's finishing checkpoints,
	// which let the WAL restart under steady writes.
	FinishedCheckpoints int64
	Readers             sql.DBStats
}

// Stats returns the current statistics.
func (db *DB) Stats() Stats {
	return Stats{Updates: db.queued.Load(), Batches: db.batches.Load(), Committed: db.committed.Load(),
		CheckpointedFrames: db.frames.Load(), CheckpointFailures: db.failures.Load(),
		FinishedCheckpoints: db.finished.Load(), Readers: db.readers.Stats()}
}

// dialect is SQLite's SQL for package sqlstore.
var dialect = sqlstore.Dialect{
	Name:      "sqlite",
	NoRows:    sql.ErrNoRows,
	Translate: translate,
	NoLimit:   -1,
	// The spelling of the channel_memberships unique indexes
	// (migrations/0005_elastic.sql): SQLite uses an index on an expression
	// only for that very expression.
	IfNull:                      "IFNULL",
	DeleteCredentialsContaining: `DELETE FROM credentials WHERE instr(user_arn, ?) > 0`,
	DeleteCredentialsWithPrefix: `DELETE FROM credentials WHERE substr(user_arn, 1, ?) = ?`,
	DeleteCredentialsWithSuffix: `DELETE FROM credentials WHERE substr(user_arn, -length(?)) = ?`,
	DeleteTagsWithSuffix:        `DELETE FROM tags WHERE app_instance_id = ? AND substr(resource_arn, -length(?)) = ?`,
	// CROSS JOIN keeps the memberships as the outer loop.
	MembershipJoin: "CROSS JOIN",
	// As sqlstore's deleteMessagesBeforeQuery, the oldest first from the
	// index, which holds the rowids the delete looks the rows up by.
	DeleteFlowJobsBefore: `DELETE FROM flow_jobs WHERE rowid IN (
		SELECT rowid FROM flow_jobs WHERE deadline < ? ORDER BY deadline LIMIT ?)`,
	// TEXT holds NUL bytes.
	Bytes:        func(s string) any { return s },
	LastInsertID: true,
	// The single writer commits in order already.
}

// querier runs a transaction's statements with the caller's context.
type querier struct{ tx *sql.Tx }

// detachedQuerier runs a write transaction's statements ignoring the
// caller's cancellation. Several Updates share one SQLite transaction
// (group commit), and SQLite answers an interrupted write by rolling back
// the whole transaction, the others' writes too; so an Update that has
// started runs to its end.
//
// It runs them on the writer's connection itself, not through a *sql.Tx:
// the write loop begins and commits with statements (groupcommit.go), as a
// *sql.Tx would start a goroutine per query to watch its context, and a
// detached transaction has nothing to watch.
//
// It notes whether the fn may have written, so that the write loop knows
// whether a failing fn needs an undo: every Exec and every QueryRow but a
// SELECT counts as a write (triggers run only inside those), whether it
// changed rows or not (ON CONFLICT DO NOTHING), but an Exec that failed
// with a constraint error, which SQLite has undone (the ABORT resolution:
// Belfry's SQL uses no OR FAIL, OR ROLLBACK or RAISE, which would keep a
// failed statement's writes or end the transaction). Any other failed
// statement marks the transaction broken: SQLite may have rolled it back
// (SQLITE_FULL, SQLITE_IOERR, ...), so the write loop runs the batch again
// under savepoints, which notice.
type detachedQuerier struct {
	conn          *sql.Conn
	wrote, broken bool
}

func (q querier) Exec(ctx context.Context, s string, args ...any) (sqlstore.Result, error) {
	return q.tx.ExecContext(ctx, s, args...)
}

func (q querier) Query(ctx context.Context, s string, args ...any) (sqlstore.Rows, error) {
	return query(ctx, q.tx, s, args)
}

func (q querier) QueryRow(ctx context.Context, s string, args ...any) sqlstore.Row {
	return q.tx.QueryRowContext(ctx, s, args...)
}

func (q *detachedQuerier) Exec(ctx context.Context, s string, args ...any) (sqlstore.Result, error) {
	res, err := q.conn.ExecContext(context.WithoutCancel(ctx), s, args...)
	if err == nil || !isConstraint(err) {
		q.wrote = true
	}
	q.check(err)
	return res, err
}

// Query runs a read (sqlstore.Querier); a statement that is not a SELECT
// counts as a write all the same.
func (q *detachedQuerier) Query(ctx context.Context, s string, args ...any) (sqlstore.Rows, error) {
	if !isSelect(s) {
		q.wrote = true
	}
	r, err := q.conn.QueryContext(context.WithoutCancel(ctx), s, args...)
	if err != nil {
		q.check(err)
		return nil, err
	}
	return checkedRows{rows{r}, q}, nil
}

func (q *detachedQuerier) QueryRow(ctx context.Context, s string, args ...any) sqlstore.Row {
	if !isSelect(s) {
		q.wrote = true
	}
	return checkedRow{q.conn.QueryRowContext(context.WithoutCancel(ctx), s, args...), q}
}

// check marks the transaction broken if err may have ended it: any error
// but no rows and a constraint error, which undoes only its statement.
func (q *detachedQuerier) check(err error) {
	if err != nil && !errors.Is(err, sql.ErrNoRows) && !isConstraint(err) {
		q.broken = true
	}
}

// checkedRow and checkedRows report their errors to the querier.
type checkedRow struct {
	*sql.Row
	q *detachedQuerier
}

func (r checkedRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	r.q.check(err)
	return err
}

type checkedRows struct {
	rows
	q *detachedQuerier
}

func (r checkedRows) Err() error {
	err := r.rows.Err()
	r.q.check(err)
	return err
}

func (r checkedRows) Scan(dest ...any) error {
	err := r.rows.Scan(dest...)
	r.q.check(err)
	return err
}

func isConstraint(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// isSelect reports whether the statement s is a plain SELECT, which cannot
// write (a WITH may introduce an INSERT: not a SELECT here).
func isSelect(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n(")
	return len(s) > 6 && strings.EqualFold(s[:6], "SELECT") && !isIdentChar(s[6])
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func query(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, s string, args []any) (sqlstore.Rows, error) {
	r, err := q.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// rows is *sql.Rows as sqlstore.Rows.
type rows struct{ *sql.Rows }

// Close closes the rows. Its error is dropped, as a deferred Close drops it:
// the read has succeeded or Err has told.
func (r rows) Close() { _ = r.Rows.Close() }

// translate maps SQLite errors onto the store's errors; call it on every
// error from a write before wrapping it with context. Errors it does not
// know pass through unchanged, and count as internal.
func translate(err error) error {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return store.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// The record refers to one that does not exist.
			return store.ErrNotFound
		}
	}
	return err
}
