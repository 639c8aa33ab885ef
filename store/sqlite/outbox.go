package sqlite

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// ListOutbox implements store.OutboxReader.
func (t readTx) ListOutbox(ctx context.Context, after int64, limit int) ([]store.OutboxEvent, error) {
	return list(ctx, t, "outbox", func(r scanner) (store.OutboxEvent, error) {
		var e store.OutboxEvent
		err := r.Scan(&e.Seq, &e.Data)
		return e, err
	}, `SELECT seq, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

// AppendOutbox implements store.OutboxWriter.
func (t writeTx) AppendOutbox(ctx context.Context, data ...[]byte) (int64, error) {
	var seq int64
	for _, d := range data {
		res, err := t.exec(ctx, `INSERT INTO outbox (data) VALUES (?)`, d)
		if err == nil {
			seq, err = res.LastInsertId()
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: append outbox: %w", translate(err))
		}
	}
	return seq, nil
}

// TrimOutbox implements store.OutboxWriter.
func (t writeTx) TrimOutbox(ctx context.Context, upTo int64) error {
	if _, err := t.exec(ctx, `DELETE FROM outbox WHERE seq <= ?`, upTo); err != nil {
		return fmt.Errorf("sqlite: trim outbox: %w", translate(err))
	}
	return nil
}
