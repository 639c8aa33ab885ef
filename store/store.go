// Package store defines Belfry's persistence contract: the Store interface,
// the transaction interfaces through which all reads and writes go, the
// records they carry, and the errors they return.
//
// The package imports nothing of Belfry's and no database driver. Engines
// live in sub-packages named after what they adapt (store/sqlite, later
// store/postgres), each keeping its SQL to itself, and all of them pass the
// same conformance suite, store/storetest.
//
// # Shape
//
// Every access runs inside a transaction: [Store.View] for reads and
// [Store.Update] for writes. Each kind of record adds a reader interface
// (Get/List methods) embedded in [ReadTx] and a writer interface
// (Create/Delete/... methods) embedded in [Tx]. Method names carry the record
// name (GetCredential, not Get) so that the interfaces of ~20 tables can be
// embedded side by side, and because [Tx] embeds [ReadTx], code written
// against a ReadTx also runs inside an Update.
//
// # Adding a record
//
//  1. Here: the record type, its FooReader and FooWriter interfaces with
//     their error contracts, embedded in ReadTx and Tx (credential.go is
//     the model).
//  2. In each engine: a migration creating the table and the methods; the
//     compiler points at every engine that lacks them.
//  3. In storetest: the contract's tests in a file named after the record,
//     listed in Run.
package store

import (
	"context"
	"errors"
)

// Errors returned by every implementation. They are matched with errors.Is:
// implementations wrap them with context (fmt.Errorf and %w), translating
// driver errors (for example a UNIQUE constraint violation) at their edge,
// so callers never look at driver errors. Any error that matches none of
// these (or a context error) is internal.
var (
	// ErrNotFound reports that the addressed record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a record with the same key already exists.
	ErrConflict = errors.New("conflict")
	// ErrSchemaTooNew is returned when opening a database whose schema was
	// migrated by a newer Belfry than this binary; opening it anyway could
	// corrupt data the newer version relies on.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary supports")
)

// Store is a handle to a Belfry database.
//
// A Store is safe for concurrent use by many goroutines. Read transactions
// (View) run concurrently with each other and with a write transaction; each
// sees a consistent snapshot of committed data and never part of an Update.
// Write transactions (Update) are serializable: the result is as if they ran
// one at a time, in some order. The SQLite engine really does run them one
// at a time, on one connection; other engines may run them concurrently and
// retry on conflict.
type Store interface {
	// View runs fn in a read-only transaction and returns fn's error as is.
	// tx must not be used after fn returns, nor from another goroutine.
	View(ctx context.Context, fn func(tx ReadTx) error) error

	// Update runs fn in a read-write transaction. If fn returns nil the
	// transaction is committed, and Update returns the commit's error; if fn
	// returns an error or panics, nothing fn wrote is kept and the error is
	// returned as is (or the panic continues). A cancelled ctx rolls back.
	//
	// fn may be called more than once (an engine may retry a transaction that
	// lost a serialization conflict), so it must have no effects outside tx:
	// publish events and answer clients only after Update returns nil.
	// tx must not be used after fn returns, nor from another goroutine.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Ping checks that the database is reachable, for readiness probes.
	Ping(ctx context.Context) error

	// Close releases the database. Call it once no transaction is running;
	// any method called after Close returns an error.
	Close() error
}

// ReadTx is a read-only transaction: the union of every record's reader.
// Methods return ErrNotFound when a Get addresses a missing record.
type ReadTx interface {
	CredentialReader
	ServerSecretReader
	IdempotencyReader
	AppInstanceReader
	AppInstanceUserReader
	AppInstanceBotReader
	AppInstanceAdminReader
	AppInstanceUserEndpointReader
	RetentionSettingsReader
	TagReader
	ChannelReader
	ChannelMembershipReader
	SubChannelReader
	ChannelGrantReader
	ChannelMessageReader
	ChannelFlowReader
	FlowJobReader
	StreamingConfigurationReader
	DeliveryReader
	PushTargetReader
	OutboxReader
}

// Tx is a read-write transaction: everything a ReadTx can do, plus every
// record's writer. Reads inside a Tx see the writes made earlier in it.
type Tx interface {
	ReadTx
	CredentialWriter
	ServerSecretWriter
	IdempotencyWriter
	AppInstanceWriter
	AppInstanceUserWriter
	AppInstanceBotWriter
	AppInstanceAdminWriter
	AppInstanceUserEndpointWriter
	RetentionSettingsWriter
	TagWriter
	ChannelWriter
	ChannelMembershipWriter
	SubChannelWriter
	ChannelGrantWriter
	ChannelMessageWriter
	ChannelFlowWriter
	FlowJobWriter
	StreamingConfigurationWriter
	DeliveryWriter
	OutboxWriter
	ChannelToucher

	// BeforeCommit registers f to run at the end of the transaction, after
	// the function given to Update returned nil and before the commit,
	// with the transaction still open: it may read and write, and its
	// error rolls the whole transaction back. Functions run in
	// registration order. Work that must be written with a change, once
	// the change is complete (an outbox), registers here.
	BeforeCommit(f func(ctx context.Context) error)

	// AfterCommit registers f to run once the transaction has committed
	// (never if it does not), on the goroutine that called Update, before
	// Update returns. Functions run in registration order; functions of
	// different transactions may interleave (events keep their order
	// through the outbox, not through these). They must be quick and must
	// not start a transaction.
	AfterCommit(f func())
}

// Shared is implemented by engines whose database several processes
// (Belfry nodes) use at once. Background workers consult it through
// IsShared: a process that has just started may assume no lease is held by
// an attempt in flight only when no other process shares the store.
type Shared interface {
	SharedByNodes() bool
}

// IsShared reports whether other processes may be using s's database.
func IsShared(s Store) bool {
	sh, ok := s.(Shared)
	return ok && sh.SharedByNodes()
}
