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
	// returns the Seq of the last, or 0 if the store numbers events only
	// after they commit (OutboxSequencer). An engine must assign Seq in
	// commit order: an event listed later never has a smaller Seq.
	AppendOutbox(ctx context.Context, data ...[]byte) (int64, error)
	// TrimOutbox removes the events with Seq <= upTo (published).
	TrimOutbox(ctx context.Context, upTo int64) error
}

// OutboxSequencer is implemented by a store whose transactions commit
// concurrently (PostgreSQL, with many nodes). Drawing a Seq inside the
// writing transaction would give Seqs in the order transactions drew them,
// not the order they committed, and a reader that had passed Seq 11 would
// never see a Seq 10 committed after it; making every writer wait for the
// one before it to commit would serialize all of them. Such a store
// instead keeps appended events unnumbered until SequenceOutbox numbers
// those committed so far, one numbering at a time across all nodes; an
// event committed after another (or causally after it) is numbered after
// it. Events are listed only once numbered.
type OutboxSequencer interface {
	// SequenceOutbox numbers up to limit committed, unnumbered events
	// and returns how many it numbered.
	SequenceOutbox(ctx context.Context, limit int) (int, error)
}

// SequenceOutbox numbers s's committed events if s is an
// OutboxSequencer, until none is left; other stores number them as they
// commit, and it does nothing.
func SequenceOutbox(ctx context.Context, s Store, batch int) error {
	q, ok := s.(OutboxSequencer)
	if !ok {
		return nil
	}
	for {
		n, err := q.SequenceOutbox(ctx, batch)
		if err != nil || n < batch {
			return err
		}
	}
}
