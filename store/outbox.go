package store

import "context"

// OutboxEvent is one committed event waiting for the relay to publish it
// on the bus: written by the transaction of the change (so it exists if
// and only if the change committed), removed once published.
type OutboxEvent struct {
	// Seq is the event's place in commit order, assigned by the store:
	// greater than every Seq committed before it. It is the event's ID
	// on the bus.
	Seq int64
	// Data is the event, encoded by its writer (package events).
	Data []byte
}

// OutboxReader reads the outbox.
type OutboxReader interface {
	// ListOutbox returns up to limit events with Seq > after, in Seq
	// order.
	ListOutbox(ctx context.Context, after int64, limit int) ([]OutboxEvent, error)
}

// OutboxWriter writes the outbox.
type OutboxWriter interface {
	// AppendOutbox adds events in order (their Seq is ignored) and
	// returns the Seq of the last. An engine must assign Seq in commit
	// order: an event committed later never has a smaller Seq.
	AppendOutbox(ctx context.Context, data ...[]byte) (int64, error)
	// TrimOutbox removes the events with Seq <= upTo (published).
	TrimOutbox(ctx context.Context, upTo int64) error
}
