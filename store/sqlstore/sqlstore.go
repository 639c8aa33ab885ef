// Package sqlstore is the store's records in SQL: one implementation of
// store.ReadTx and store.Tx shared by the SQL engines (package sqlite and
// package postgres). The queries are written with ? placeholders and
// run through the engine's Querier, which rewrites them if its driver wants
// another style.
//
// An engine owns everything around the records: opening the database, its
// connections, transactions (isolation, retries, group commit), migrations
// and locks (LoadMigrations only reads an engine's migration files, the
// same way for both). It hands this package a Querier for each
// transaction and a Dialect for the few things that differ between SQL
// dialects: the engine's name in error messages, error translation, how
// LIMIT says "no limit", and the handful of queries whose functions
// differ.
//
// The Querier is an interface, so the arguments of a statement escape to
// the heap: one small allocation per statement, which the engines' own
// costs (a SQLite step, a PostgreSQL round trip) dwarf.
//
// # Adding a record
//
// See package store for the whole recipe. Here: implement the record's
// reader methods on ReadTx and writer methods on Tx in a file named after
// the record (see credential.go), in SQL both engines accept, passing write
// errors through t.d.Translate; where the engines' SQL must differ, add
// the query to Dialect.
package sqlstore

import (
	"context"
	"sync/atomic"

	"github.com/belfryhq/belfry/store"
)

// Querier runs the statements of one transaction. The queries use ?
// placeholders.
//
// Exec and QueryRow may carry writes (INSERT, UPDATE, DELETE, with or
// without RETURNING); Query only reads.
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (Result, error)
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) Row
}

// Result is what an Exec reports. LastInsertId is called only if the
// Dialect says LastInsertID.
type Result interface {
	RowsAffected() (int64, error)
	LastInsertId() (int64, error)
}

// Row is one row of QueryRow; Scan returns the Dialect's NoRows error if
// there is none.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the result of Query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Dialect is what differs between the SQL engines.
type Dialect struct {
	// Name prefixes error messages: "sqlite", "postgres".
	Name string
	// NoRows is the error Row.Scan returns when there is no row.
	NoRows error
	// Translate maps the engine's errors onto the store's: a unique or
	// primary key violation to store.ErrConflict, a foreign key violation
	// (the record refers to one that does not exist) to store.ErrNotFound.
	// Errors it does not know pass through unchanged, and count as internal.
	Translate func(error) error
	// NoLimit is the LIMIT argument meaning none (SQLite: -1, PostgreSQL:
	// NULL).
	NoLimit any
	// IfNull is the two-argument null-coalescing function whose spelling
	// the channel_memberships unique indexes use, so that queries match
	// the indexed expression ("IFNULL", "COALESCE").
	IfNull string
	// LastInsertID: an INSERT's Result reports the key it assigned, so the
	// outbox's seq needs no RETURNING (which costs SQLite a result row);
	// otherwise the INSERT returns it.
	LastInsertID bool
	// OutboxPending: AppendOutbox writes unnumbered events into
	// outbox_pending, and the engine numbers them once committed
	// (store.OutboxSequencer); else the outbox's key is drawn at insert,
	// which is commit order only with one writer at a time.
	OutboxPending bool

	// The queries that differ.

	// DeleteCredentialsContaining deletes the credentials whose user_arn
	// contains the argument.
	DeleteCredentialsContaining string
	// DeleteCredentialsWithPrefix deletes the credentials whose user_arn
	// starts with a prefix; the arguments are its length and the prefix.
	DeleteCredentialsWithPrefix string
	// DeleteCredentialsWithSuffix deletes the credentials whose user_arn
	// ends with a suffix, given twice.
	DeleteCredentialsWithSuffix string
	// DeleteTagsWithSuffix deletes the tags of an app instance, the first
	// argument, whose resource_arn ends with a suffix, given twice.
	DeleteTagsWithSuffix string
	// MembershipJoin joins channel_memberships d to channels c in
	// SearchChannels, where the memberships must be the outer loop.
	MembershipJoin string
	// DeleteFlowJobsBefore deletes the flow jobs whose deadline is before
	// the first argument, the oldest first, at most the second argument.
	DeleteFlowJobsBefore string
	// Bytes converts a string that may hold NUL bytes (an idempotency
	// scope) to the argument the column stores.
	Bytes func(string) any
}

// limit returns p.Limit as LIMIT wants it.
func (d *Dialect) limit(p store.Page) any {
	if p.Limit <= 0 {
		return d.NoLimit
	}
	return p.Limit
}

// ReadTx implements store.ReadTx; its per-record methods live in files
// named after the record.
type ReadTx struct {
	q Querier
	d *Dialect
}

// NewReadTx returns the store.ReadTx of a transaction whose statements q
// runs.
func NewReadTx(q Querier, d *Dialect) ReadTx { return ReadTx{q: q, d: d} }

var _ store.ReadTx = ReadTx{}

func (t ReadTx) exec(ctx context.Context, q string, args ...any) (Result, error) {
	count(ctx)
	return t.q.Exec(ctx, q, args...)
}

func (t ReadTx) query(ctx context.Context, q string, args ...any) (Rows, error) {
	count(ctx)
	return t.q.Query(ctx, q, args...)
}

func (t ReadTx) queryRow(ctx context.Context, q string, args ...any) Row {
	count(ctx)
	return t.q.QueryRow(ctx, q, args...)
}

// counterKey is the context key of CountStatements.
type counterKey struct{}

// CountStatements returns a context under which every statement the
// records run adds one to n (the engines' own, such as BEGIN, COMMIT and
// SQLite's group-commit SAVEPOINTs, are not counted): how tests and
// benchmarks measure the statements an operation costs.
func CountStatements(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, counterKey{}, n)
}

func count(ctx context.Context) {
	if n, ok := ctx.Value(counterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// Tx implements store.Tx.
type Tx struct {
	ReadTx
	// hooks collects the AfterCommit functions; a pointer because the
	// methods have value receivers.
	hooks *[]func()
	// before collects the BeforeCommit functions.
	before *[]func(context.Context) error
}

var _ store.Tx = Tx{}

// NewTx returns the store.Tx of a write transaction whose statements q
// runs. The engine runs the functions registered with BeforeCommit in
// before and those registered with AfterCommit in
// hooks, once committed.
func NewTx(q Querier, d *Dialect, hooks *[]func(), before *[]func(context.Context) error) Tx {
	return Tx{ReadTx: ReadTx{q: q, d: d}, hooks: hooks, before: before}
}

// BeforeCommit implements store.Tx.
func (t Tx) BeforeCommit(f func(context.Context) error) { *t.before = append(*t.before, f) }

// AfterCommit implements store.Tx.
func (t Tx) AfterCommit(f func()) { *t.hooks = append(*t.hooks, f) }
