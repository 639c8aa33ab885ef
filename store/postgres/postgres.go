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
// on (PostgreSQL otherwise aborts the whole transaction).
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
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return fn(sqlstore.NewReadTx(querier{tx: tx, st: &txState{}}, &dialect))
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
	// Session advisory locks taken before BEGIN, so that the
	// transaction's snapshot is taken once they are granted, and released
	// after its commit or rollback. A lock that cannot be released must not
	// stay with a pooled connection, which is then closed.
	var locks [][]any
	defer func() {
		for i := len(locks) - 1; i >= 0; i-- {
			if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+locks[i][0].(string)+`)`, locks[i][1:]...); err != nil {
				_ = conn.Hijack().Close(context.WithoutCancel(ctx))
				return
			}
		}
		conn.Release()
	}()
	lock := func(what string, params string, args ...any) error {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+params+`)`, args...); err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		locks = append(locks, append([]any{params}, args...))
		return nil
	}
	if l != nil {
		// The same key's Updates on other nodes queue here, in the
		// database, rather than collide and retry.
		if err := lock("serialize", "$1::int4, $2::int4", serialLockClass, key); err != nil {
			return nil, err
		}
	}
	if retry {
		if err := lock("retry lane", "$1::int8", retryLaneKey); err != nil {
			return nil, err
		}
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	st := &txState{write: true}
	var before []func(context.Context) error
	w := sqlstore.NewTx(querier{tx: tx, st: st}, &dialect, &hooks, &before)
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
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
	if err := tx.Commit(ctx); err != nil {
		committed = true // nothing left to roll back
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	committed = true
	return hooks, nil
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
}

// querier runs a transaction's statements for package sqlstore: it
// rewrites the ? placeholders, gives each write its savepoint and notes
// serialization failures.
type querier struct {
	tx pgx.Tx
	st *txState
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
	t.st.sp++
	name := "s" + strconv.Itoa(t.st.sp)
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + name)
	b.Queue(rebind(q), escapeArgs(args)...)
	b.Queue("RELEASE SAVEPOINT " + name)
	br := t.tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return tag, nil, t.note(err) // no savepoint: the transaction is lost
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
	_, rerr := br.Exec()
	cerr := br.Close()
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

func (t querier) Exec(ctx context.Context, q string, args ...any) (sqlstore.Result, error) {
	if !isWrite(q) {
		tag, err := t.tx.Exec(ctx, rebind(q), escapeArgs(args)...)
		return result{n: tag.RowsAffected()}, t.note(err)
	}
	tag, _, err := t.write(ctx, q, args, false)
	return result{n: tag.RowsAffected()}, err
}

func (t querier) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.tx.Query(ctx, rebind(q), escapeArgs(args)...)
	return nulRows{rows}, t.note(err)
}

// QueryRow runs a query returning at most one row. A write (INSERT …
// RETURNING) runs at once, under a savepoint, and its row is kept.
func (t querier) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	if !isWrite(q) {
		return noteRow{row: t.tx.QueryRow(ctx, rebind(q), escapeArgs(args)...), t: t}
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
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, outboxLockKey); err != nil {
		return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, sequenceOutbox, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: sequence outbox: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
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
