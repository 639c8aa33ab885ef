package postgres

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// outboxLockKey is the advisory lock that orders the outbox: "belfry" in
// ASCII, plus two.
const outboxLockKey = 0x62656c667279 + 2

// ListOutbox implements store.OutboxReader.
func (t readTx) ListOutbox(ctx context.Context, after int64, limit int) ([]store.OutboxEvent, error) {
	return list(ctx, t, "outbox", func(r scanner) (store.OutboxEvent, error) {
		var e store.OutboxEvent
		err := r.Scan(&e.Seq, &e.Data)
		return e, err
	}, `SELECT seq, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, outboxLimit(limit))
}

// AppendOutbox implements store.OutboxWriter.
//
// Seqs must follow commit order, which a sequence alone does not give when
// transactions commit concurrently: one that took seq 10 could commit after
// one that took 11, and a relay that had read past 11 would never see 10.
// So appending takes a transaction-scoped advisory lock first, shared by
// all nodes and held until commit: the next transaction to take a seq
// waits for this one to commit. Writers append last (BeforeCommit), so the
// lock is held only for the insert and the commit. Waiting for an advisory
// lock is no serialization conflict: nothing is retried.
func (t writeTx) AppendOutbox(ctx context.Context, data ...[]byte) (int64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(outboxLockKey)); err != nil {
		return 0, fmt.Errorf("postgres: append outbox: %w", err)
	}
	var seq int64
	for _, d := range data {
		if err := t.queryRow(ctx, `INSERT INTO outbox (data) VALUES (?) RETURNING seq`, d).Scan(&seq); err != nil {
			return 0, fmt.Errorf("postgres: append outbox: %w", translate(err))
		}
	}
	return seq, nil
}

// TrimOutbox implements store.OutboxWriter.
func (t writeTx) TrimOutbox(ctx context.Context, upTo int64) error {
	if _, err := t.exec(ctx, `DELETE FROM outbox WHERE seq <= ?`, upTo); err != nil {
		return fmt.Errorf("postgres: trim outbox: %w", translate(err))
	}
	return nil
}

// outboxLimit is limit as package sqlite passes it to LIMIT, where a
// negative limit means none.
func outboxLimit(limit int) any {
	if limit < 0 {
		return nil
	}
	return limit
}
