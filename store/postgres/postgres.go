// Package postgres is the scale-out store engine: a store.Store on a
// PostgreSQL database, through pgx v5 and its pool, which any number of
// Belfry nodes share. The records' SQL is package sqlstore's, run through
// this package's transactions with its dialect (where PostgreSQL's SQL
// differs from SQLite's); the schema (migrations/) mirrors package
// sqlite's.
//
// # Transactions and many writers
//
// Update runs fn in a SERIALIZABLE transaction and, when PostgreSQL
// reports a serialization failure or a deadlock, runs it again from the
// start (the store.Store contract allows it; fn has no outside effects).
// So every Update, on any node, behaves as if the Updates of all nodes ran
// one at a time, which is what the SQLite engine's single writer gives:
// read-then-write rules (quotas counted before an insert, the idempotency
// record looked up before a create, a flow job or delivery claimed by
// moving its next attempt) hold across nodes without any lock in the
// process. Two sends in one channel both write the channel's row, so one
// of them retries after the other commits: a channel's messages get their
// seq in commit order. Unique keys and foreign keys still say the last
// word: a conflicting insert fails with store.ErrConflict.
//
// Each write statement runs under its own savepoint, so that a statement
// failing on a constraint undoes only itself, as in SQLite, and fn may go
// on (PostgreSQL otherwise aborts the whole transaction); the send's writes
// that nothing can fail that the transaction survives go without
// (fatalOnly).
//
// Round trips: a transaction's opening (the advisory locks, in a short
// transaction of their own, then BEGIN) goes out in one batch with its
// first statement, and its outbox appends and the unlocks with its COMMIT:
// a cached send is three round trips.
//
// View runs REPEATABLE READ, READ ONLY: one consistent snapshot.
//
// AfterCommit functions of the Updates of this process run in commit
// order: commit and hooks run under one mutex. Across nodes there is no
// such order; cross-node fan-out reads the committed rows (an outbox).
//
// # Adding a table
//
// As for SQLite: add migrations/NNNN_description.sql (never edit a
// released one), then the record's methods in package sqlstore; a query
// PostgreSQL must word differently goes in dialect.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// retryLaneKey is the advisory lock of the retry lane (see try): "belfry"
// in ASCII, plus one.
const retryLaneKey = 0x62656c667279 + 1

// defaultMaxConns is the pool size when the URL sets no pool_max_conns.
const defaultMaxConns = 32

// DB is a store.Store backed by a PostgreSQL database. It is safe for
// concurrent use, and several DBs (on several nodes) may share a database.
type DB struct {
	pool *pgxpool.Pool
	// maxAttempts bounds the runs of one Update's fn.
	maxAttempts int
	// retries counts the Updates run again after a serialization failure.
	retries atomic.Int64
	// serial queues this process's Updates that share a store.SerializeOn
	// key (by a hash of it): sends to one channel all write its row, so
	// under SERIALIZABLE all but one would fail at commit and run again;
	// queued, each begins (and takes its snapshot) once the previous one
	// has committed. Updates of other nodes still collide and retry (the
	// retry lane paces them).
	serial [serialStripes]chan struct{}
}

// serialStripes is how many locks share the SerializeOn keys: different
// channels rarely wait for one another.
const serialStripes = 256

// serialLock returns the lock of ctx's SerializeOn key (a channel of
// capacity one, so that waiting for it ends with ctx), or nil.
func (db *DB) serialLock(ctx context.Context) (chan struct{}, int32) {
	k := store.SerialKey(ctx)
	if k == "" {
		return nil, 0
	}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(k); i++ {
		h = (h ^ uint32(k[i])) * 16777619
	}
	return db.serial[h%serialStripes], int32(h)
}

// serialLockClass is the first key of the advisory locks of SerializeOn
// keys (the second is the key's hash): "belf" in ASCII.
const serialLockClass = 0x62656c66

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (postgres://user:pass@host/db or a
// key=value connection string; pool_max_conns and the other pgxpool
// settings apply) and migrates its schema, as package sqlite's Open does.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgx never echoes the password
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default, max(4, CPUs), makes requests queue for a
		// connection long before the database is busy.
		cfg.MaxConns = defaultMaxConns
	}
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// The store's statements are small and planned once per
		// connection; JIT compiles any whose estimated cost passes
		// jit_above_cost, which the outbox sequencer's CTEs do on an
		// unanalyzed table: 10-15 ms of compiling for a 0.1 ms statement.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool, ms, time.Now()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	db := &DB{pool: pool, maxAttempts: 100}
	for i := range db.serial {
		db.serial[i] = make(chan struct{}, 1)
	}
	return db, nil
}

// View implements store.Store.
func (db *DB) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	st := &txState{begin: []statement{{sql: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"}}}
	defer func() {
		if st.end(context.WithoutCancel(ctx), conn.Conn(), "ROLLBACK", nil) != nil || st.broken {
			_ = conn.Hijack().Close(context.WithoutCancel(ctx))
			return
		}
		conn.Release()
	}()
	return fn(sqlstore.NewReadTx(querier{tx: conn.Conn(), st: st}, &dialect))
}

// Update implements store.Store.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		hooks, err := db.try(ctx, fn, attempt > 1)
		if err == nil {
			for _, h := range hooks {
				h()
			}
			return nil
		}
		if !retryable(err) || attempt >= db.maxAttempts || ctx.Err() != nil {
			return err
		}
		db.retries.Add(1)
		// Back off a little, at random, so that the transactions that
		// collided do not collide again.
		d := time.Duration(rand.Int64N(int64(min(attempt, 10))*int64(time.Millisecond))) + 100*time.Microsecond
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// try runs fn once in a transaction. On success it returns the
// AfterCommit hooks to run, which Update runs. Commits are not ordered
// here: concurrent commits share the database's WAL flushes, and the
// outbox numbers events after they commit (SequenceOutbox).
//
// A retry runs in the retry lane: it takes a session advisory lock shared
// by every node before it begins, so its snapshot is taken once the retries
// ahead of it committed. Transactions that collided then queue instead of
// colliding again (a busy channel would otherwise have every sender but
// one fail and retry at every commit). The lane only paces retries:
// SERIALIZABLE still guarantees correctness.
func (db *DB) try(ctx context.Context, fn func(tx store.Tx) error, retry bool) (hooks []func(), err error) {
	l, key := db.serialLock(ctx)
	if l != nil {
		// Taken before a connection (waiting holds none) and held until
		// the commit or the rollback is done.
		select {
		case l <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-l }()
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	// Session advisory locks are taken before the transaction begins, in
	// a short transaction of their own, so that its snapshot is taken
	// once they are granted, and released after its commit or rollback.
	// The locks and the BEGIN go out with fn's first statement, and the
	// unlocks with the COMMIT: no round trip of their own.
	st := &txState{write: true}
	var unlocks []statement
	if l != nil || retry {
		st.begin = append(st.begin, statement{sql: "BEGIN"})
	}
	if l != nil {
		// The same key's Updates on other nodes queue here, in the
		// database, rather than collide and retry.
		st.begin = append(st.begin, statement{sql: `SELECT pg_advisory_lock($1::int4, $2::int4)`, args: []any{serialLockClass, key}})
		unlocks = append(unlocks, statement{sql: `SELECT pg_advisory_unlock($1::int4, $2::int4)`, args: []any{serialLockClass, key}})
	}
	if retry {
		st.begin = append(st.begin, statement{sql: `SELECT pg_advisory_lock($1::int8)`, args: []any{int64(retryLaneKey)}})
		unlocks = append([]statement{{sql: `SELECT pg_advisory_unlock($1::int8)`, args: []any{int64(retryLaneKey)}}}, unlocks...)
	}
	if l != nil || retry {
		st.begin = append(st.begin, statement{sql: "COMMIT"})
	}
	st.begin = append(st.begin, statement{sql: "BEGIN ISOLATION LEVEL SERIALIZABLE"})
	ended := false
	defer func() {
		if !ended {
			// A failed rollback closes the connection (broken).
			_ = st.end(context.WithoutCancel(ctx), conn.Conn(), "ROLLBACK", unlocks)
		}
		if st.broken {
			// A lock that cannot be released must not stay with a
			// pooled connection, which is closed instead.
			_ = conn.Hijack().Close(context.WithoutCancel(ctx))
			return
		}
		conn.Release()
	}()
	var before []func(context.Context) error
	w := sqlstore.NewTx(querier{tx: conn.Conn(), st: st}, &dialect, &hooks, &before)
	err = fn(w)
	// A BeforeCommit function may register another; run them all.
	for i := 0; err == nil && i < len(before); i++ {
		err = before[i](ctx)
	}
	if err != nil {
		if st.serialization != nil {
			// fn saw a serialization failure, whatever it made of it: the
			// transaction is lost, and runs again.
			return nil, st.serialization
		}
		return nil, err
	}
	ended = true
	if err := st.end(ctx, conn.Conn(), "COMMIT", unlocks); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return hooks, nil
}

// statement is a statement and its arguments, queued.
type statement struct {
	sql  string
	args []any
}

// errRolledBack is a COMMIT that PostgreSQL answered with ROLLBACK: a
// statement of the transaction had failed.
var errRolledBack = errors.New("postgres: the transaction was rolled back (a statement of it had failed)")

// end ends the transaction of st, if its first statement went out, with
// how ("COMMIT" or "ROLLBACK"), and then runs unlocks, in one round trip.
// It marks st broken when the connection's state is unknown (a lock may
// still be held). A transaction whose first statement never went out took
// no lock and has nothing to end.
func (st *txState) end(ctx context.Context, conn *pgx.Conn, how string, unlocks []statement) error {
	deferred := st.deferred
	st.deferred = nil
	if how != "COMMIT" {
		deferred = nil
	}
	if (!st.opened && len(deferred) == 0) || st.broken {
		st.begin = nil
		return nil
	}
	b := &pgx.Batch{}
	opening := 0
	if !st.opened {
		// Only deferred writes: the transaction opens here.
		for _, s := range st.begin {
			b.Queue(s.sql, s.args...)
		}
		opening, st.begin = len(st.begin), nil
	}
	st.opened = false
	for _, s := range deferred {
		b.Queue(s.sql, s.args...)
	}
	b.Queue(how)
	for _, u := range unlocks {
		b.Queue(u.sql, u.args...)
	}
	br := conn.SendBatch(ctx, b)
	var err error
	for i := 0; i < opening && err == nil; i++ {
		if _, err = br.Exec(); err != nil {
			st.broken = true
		}
	}
	for i := 0; i < len(deferred) && err == nil; i++ {
		_, err = br.Exec()
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if err == nil && how == "COMMIT" && tag.String() != "COMMIT" {
		err = errRolledBack
	}
	// The batch stops at its first error, before the unlocks.
	unlocked := err == nil
	for i := 0; unlocked && i < len(unlocks); i++ {
		var ok bool
		if uerr := br.QueryRow().Scan(&ok); uerr != nil {
			st.broken = true
		}
	}
	cerr := br.Close()
	if err == nil {
		err = cerr
	}
	if err != nil && !st.broken && conn.PgConn().TxStatus() != 'I' {
		// A deferred write failed: the COMMIT never ran.
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			st.broken = true
		}
	}
	if !unlocked && !st.broken {
		for _, u := range unlocks {
			if _, uerr := conn.Exec(context.WithoutCancel(ctx), u.sql, u.args...); uerr != nil {
				st.broken = true
				break
			}
		}
	}
	return err
}

// retryable reports whether err means the transaction lost a conflict with
// another one and may succeed if run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	return false
}

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Retries returns how many times an Update ran again after losing a
// serialization conflict, for metrics: a high rate against the Updates'
// means hot rows (one busy channel).
func (db *DB) Retries() int64 { return db.retries.Load() }

// Stats returns the connection pool's statistics, for metrics.
func (db *DB) Stats() *pgxpool.Stat { return db.pool.Stat() }

// txState is shared by the copies of one transaction's querier.
type txState struct {
	write bool
	sp    int // savepoints taken, for their names
	// serialization is the first serialization failure or deadlock a
	// statement met: the transaction cannot commit any more.
	serialization error
	// begin holds the statements that open the transaction (advisory
	// locks, BEGIN), sent in one batch with its first statement.
	begin []statement
	// opened is set once begin went out: the transaction may be open.
	opened bool
	// broken is set when the connection's state is unknown (a statement
	// of begin failed, or an unlock): it must be closed, not reused.
	broken bool
	// deferred are writes sent with the COMMIT (the outbox appends).
	deferred []statement
}

// querier runs a transaction's statements for package sqlstore: it
// rewrites the ? placeholders, gives each write its savepoint and notes
// serialization failures.
type querier struct {
	tx *pgx.Conn
	st *txState
}

// batch returns a batch that opens the transaction first, if its first
// statement has yet to go out.
func (t querier) batch() *pgx.Batch {
	b := &pgx.Batch{}
	for _, s := range t.st.begin {
		b.Queue(s.sql, s.args...)
	}
	return b
}

// open reads the results of the opening statements batch() queued in b.
func (t querier) open(br pgx.BatchResults) error {
	n := len(t.st.begin)
	if n == 0 {
		return nil
	}
	t.st.begin, t.st.opened = nil, true
	for range n {
		if _, err := br.Exec(); err != nil {
			t.st.broken = true
			return err
		}
	}
	return nil
}

// result is what exec returns, as database/sql's Result does.
type result struct{ n int64 }

// RowsAffected returns the number of rows the statement changed.
func (r result) RowsAffected() (int64, error) { return r.n, nil }

// LastInsertId is not reported (the dialect says so): an INSERT returns
// its key with RETURNING.
func (r result) LastInsertId() (int64, error) {
	return 0, errors.New("postgres: no LastInsertId; use RETURNING")
}

// note records a serialization failure in err, if it is one.
func (t querier) note(err error) error {
	if err != nil && retryable(err) && t.st.serialization == nil {
		t.st.serialization = err
	}
	return err
}

// write runs q, a write, under a savepoint when the transaction writes, so
// that a failed statement undoes only itself. Savepoint, statement and
// release go in one round trip (a pipelined batch); a failure costs a
// second, to roll back to the savepoint. With returning, the statement's
// first row is kept.
func (t querier) write(ctx context.Context, q string, args []any, returning bool) (tag pgconn.CommandTag, vals []any, err error) {
	if !t.st.write {
		return tag, nil, errors.New("postgres: write in a read-only transaction")
	}
	if !returning && strings.HasPrefix(q, outboxAppend) {
		// Nothing reads outbox_pending in the transaction that appends
		// to it: the append goes out with the COMMIT (in order with the
		// transaction's other appends), and its failure fails the
		// COMMIT. It reports the rows it will add.
		t.st.deferred = append(t.st.deferred, statement{sql: rebind(q), args: args})
		return pgconn.NewCommandTag("INSERT 0 " + strconv.Itoa(len(args))), nil, nil
	}
	sp := !fatalOnly(q)
	var name string
	b := t.batch()
	if sp {
		t.st.sp++
		name = "s" + strconv.Itoa(t.st.sp)
		b.Queue("SAVEPOINT " + name)
	}
	b.Queue(rebind(q), args...)
	if sp {
		b.Queue("RELEASE SAVEPOINT " + name)
	}
	br := t.tx.SendBatch(ctx, b)
	if err := t.open(br); err != nil {
		_ = br.Close()
		return tag, nil, t.note(err)
	}
	if sp {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return tag, nil, t.note(err) // no savepoint: the transaction is lost
		}
	}
	if returning {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			if rows.Next() {
				vals, err = rows.Values()
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			tag = rows.CommandTag()
		}
	} else {
		tag, err = br.Exec()
	}
	var rerr error
	if sp {
		_, rerr = br.Exec()
	}
	cerr := br.Close()
	if err != nil && !sp {
		return tag, nil, t.note(err)
	}
	if err != nil {
		t.note(err)
		if _, rbErr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return tag, nil, errors.Join(err, t.note(rbErr))
		}
		return tag, nil, err
	}
	if rerr != nil {
		return tag, nil, t.note(rerr)
	}
	return tag, vals, t.note(cerr)
}

// outboxAppend begins sqlstore's AppendOutbox statement (Dialect.OutboxPending).
const outboxAppend = "INSERT INTO outbox_pending (data) VALUES"

// fatalOnly reports whether q is one of the send's writes that no
// constraint can fail and whose other failures (a serialization failure,
// a deadlock, the channel's row gone: store.ErrNotFound) end their
// transaction anyway, since no caller goes on after them: the channel
// touch, the outbox append, and the message insert that ignores conflicts.
// They run without a savepoint, which costs a subtransaction each.
// Another statement's text, or a changed one, gets its savepoint.
func fatalOnly(q string) bool {
	switch {
	case strings.HasPrefix(q, "UPDATE channels SET last_message_at = ?"),
		strings.HasPrefix(q, outboxAppend):
		return true
	case strings.HasPrefix(q, "INSERT INTO channel_messages ("):
		return strings.HasSuffix(q, "ON CONFLICT DO NOTHING RETURNING seq")
	}
	return false
}

func (t querier) Exec(ctx context.Context, q string, args ...any) (sqlstore.Result, error) {
	args = escapeArgs(args)
	if !isWrite(q) {
		if len(t.st.begin) == 0 {
			tag, err := t.tx.Exec(ctx, rebind(q), args...)
			return result{n: tag.RowsAffected()}, t.note(err)
		}
		b := t.batch()
		b.Queue(rebind(q), args...)
		br := t.tx.SendBatch(ctx, b)
		err := t.open(br)
		var tag pgconn.CommandTag
		if err == nil {
			tag, err = br.Exec()
		}
		err = errors.Join(err, br.Close())
		return result{n: tag.RowsAffected()}, t.note(err)
	}
	tag, _, err := t.write(ctx, q, args, false)
	return result{n: tag.RowsAffected()}, err
}

func (t querier) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	args = escapeArgs(args)
	if len(t.st.begin) == 0 {
		rows, err := t.tx.Query(ctx, rebind(q), args...)
		return nulRows{rows}, t.note(err)
	}
	b := t.batch()
	b.Queue(rebind(q), args...)
	br := t.tx.SendBatch(ctx, b)
	if err := t.open(br); err != nil {
		_ = br.Close()
		return nil, t.note(err)
	}
	rows, err := br.Query()
	if err != nil {
		rows.Close()
		_ = br.Close()
		return nil, t.note(err)
	}
	return nulRows{&batchRows{Rows: rows, br: br}}, nil
}

// batchRows are the rows of a batch's last query; closing them closes
// the batch.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	r.err = r.br.Close()
	r.br = nil
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the row of a batch's last query; scanning it closes the
// batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row that could not be read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// QueryRow runs a query returning at most one row. A write (INSERT …
// RETURNING) runs at once, under a savepoint, and its row is kept.
func (t querier) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	args = escapeArgs(args)
	if !isWrite(q) {
		if len(t.st.begin) == 0 {
			return noteRow{row: t.tx.QueryRow(ctx, rebind(q), args...), t: t}
		}
		b := t.batch()
		b.Queue(rebind(q), args...)
		br := t.tx.SendBatch(ctx, b)
		if err := t.open(br); err != nil {
			_ = br.Close()
			return errRow{err: t.note(err)}
		}
		return noteRow{row: batchRow{row: br.QueryRow(), br: br}, t: t}
	}
	_, vals, err := t.write(ctx, q, args, true)
	return &bufferedRow{vals: vals, noRows: err == nil && vals == nil, err: err}
}

// noteRow notes the serialization failures of a read.
type noteRow struct {
	row pgx.Row
	t   querier
}

func (r noteRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if err == nil {
		unescapeDest(dest)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return r.t.note(err)
}

// bufferedRow is a written row, read before its savepoint was released.
type bufferedRow struct {
	vals   []any
	noRows bool
	err    error
}

func (r *bufferedRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if r.noRows {
		return pgx.ErrNoRows
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("postgres: scan %d values into %d destinations", len(r.vals), len(dest))
	}
	for i, v := range r.vals {
		if err := assign(dest[i], v); err != nil {
			return err
		}
	}
	unescapeDest(dest)
	return nil
}

// assign stores v, a value pgx decoded, in dest. RETURNING clauses return
// the generated keys, so int64 is what comes back.
func assign(dest, v any) error {
	switch d := dest.(type) {
	case *int64:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("postgres: cannot scan %T into *int64", v)
		}
		*d = n
	case *int:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("postgres: cannot scan %T into *int", v)
		}
		*d = int(n)
	case *string:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("postgres: cannot scan %T into *string", v)
		}
		*d = s
	default:
		return fmt.Errorf("postgres: cannot scan into %T", dest)
	}
	return nil
}

// isWrite reports whether q changes rows.
func isWrite(q string) bool {
	q = strings.TrimSpace(q)
	for _, kw := range []string{"INSERT", "UPDATE", "DELETE", "WITH"} {
		if len(q) >= len(kw) && strings.EqualFold(q[:len(kw)], kw) {
			return true
		}
	}
	return false
}

// rebinds caches rebind's results: the package's queries are a small set.
var rebinds sync.Map

// rebind turns the ? placeholders the records' files share with package
// sqlite into PostgreSQL's $1, $2, …. No query has a ? inside a literal.
func rebind(q string) string {
	if v, ok := rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	rebinds.Store(q, s)
	return s
}

// translate maps PostgreSQL errors onto the store's errors; call it on
// every error from a write before wrapping it with context. Errors it does
// not know pass through unchanged, and count as internal.
func translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return store.ErrConflict
		case "23503": // foreign_key_violation
			return store.ErrNotFound
		}
	}
	return err
}

// SharedByNodes implements store.Shared: any number of nodes may use the
// database, so no node may take back another's leases early.
func (db *DB) SharedByNodes() bool { return true }

// outboxLockKey is the advisory lock that lets one SequenceOutbox at a
// time number events: "belfry" in ASCII, plus two.
const outboxLockKey = 0x62656c667279 + 2

// sequenceOutbox moves up to $1 committed events from outbox_pending into
// outbox, numbered after the last seq given, in the order of their ids.
// All its parts see one snapshot, taken after the advisory lock was
// granted: every event committed before that is there.
const sequenceOutbox = `
WITH moved AS (
	DELETE FROM outbox_pending
	WHERE id IN (SELECT id FROM outbox_pending ORDER BY id LIMIT $1)
	RETURNING id, data
), numbered AS (
	INSERT INTO outbox (seq, data)
	SELECT s.last + row_number() OVER (ORDER BY m.id), m.data
	FROM moved m CROSS JOIN outbox_sequence s
	RETURNING seq
)
UPDATE outbox_sequence SET last = last + (SELECT count(*) FROM numbered)
RETURNING (SELECT count(*) FROM numbered)`

// SequenceOutbox implements store.OutboxSequencer.
//
// Writers' transactions append to outbox_pending, with no lock and no
// seq: they commit concurrently, on every node. This transaction numbers
// what has committed, holding the advisory lock so that one numbering at a
// time draws seqs, and READ COMMITTED so that it is no party to the
// writers' serializable conflicts. Ids follow the order events were
// appended; an event appended by a transaction that began after another
// committed (the per-channel order of sends, which queue on the channel,
// and anything a client does after an answer) has the greater id, and
// commits later, so it is numbered after it: in this numbering or a later
// one.
func (db *DB) SequenceOutbox(ctx context.Context, limit int) (int, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
	}
	// One round trip: each statement of a READ COMMITTED transaction
	// takes its own snapshot, so the numbering, queued after the lock,
	// sees every event committed before the lock was granted.
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, int64(outboxLockKey))
	b.Queue(sequenceOutbox, limit)
	b.Queue("COMMIT")
	br := conn.Conn().SendBatch(ctx, b)
	var n int
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&n)
	}
	if err == nil {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil && tag.String() != "COMMIT" {
			err = errRolledBack
		}
	}
	err = errors.Join(err, br.Close())
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		_, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		if rerr != nil {
			_ = conn.Hijack().Close(context.WithoutCancel(ctx))
			return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
		}
	}
	conn.Release()
	if err != nil {
		return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
	}
	return n, nil
}

var _ store.OutboxSequencer = (*DB)(nil)

// dialect is PostgreSQL's SQL for package sqlstore.
var dialect = sqlstore.Dialect{
	Name:      "postgres",
	NoRows:    pgx.ErrNoRows,
	Translate: translate,
	NoLimit:   nil,
	// The spelling of the channel_memberships unique indexes
	// (migrations/0005_elastic.sql).
	IfNull:                      "COALESCE",
	DeleteCredentialsContaining: `DELETE FROM credentials WHERE strpos(user_arn, ?) > 0`,
	DeleteCredentialsWithPrefix: `DELETE FROM credentials WHERE left(user_arn, ?) = ?`,
	DeleteCredentialsWithSuffix: `DELETE FROM credentials WHERE right(user_arn, length(?)) = ?`,
	DeleteTagsWithSuffix:        `DELETE FROM tags WHERE app_instance_id = ? AND right(resource_arn, length(?)) = ?`,
	// Led by the memberships of the first required member.
	MembershipJoin: "JOIN",
	// As sqlstore's deleteMessagesBeforeQuery, the oldest first from the
	// deadline index, then the rows by their key.
	DeleteFlowJobsBefore: `DELETE FROM flow_jobs WHERE callback_id IN (
		SELECT callback_id FROM flow_jobs WHERE deadline < ? ORDER BY deadline LIMIT ?)`,
	// Scopes are bytes (BYTEA): the service separates their parts with
	// NUL, which PostgreSQL's TEXT cannot hold.
	Bytes: func(s string) any { return []byte(s) },
	// Transactions commit concurrently, so events are numbered after they
	// commit (SequenceOutbox).
	OutboxPending: true,
}
