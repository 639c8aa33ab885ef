package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/belfryhq/belfry/store"
)

// ListOutbox implements store.OutboxReader. A negative limit means none.
func (t ReadTx) ListOutbox(ctx context.Context, after int64, limit int) ([]store.OutboxEvent, error) {
	var lim any = limit
	if limit < 0 {
		lim = t.d.NoLimit
	}
	return list(ctx, t, "outbox", func(r scanner) (store.OutboxEvent, error) {
		var e store.OutboxEvent
		err := r.Scan(&e.Seq, &e.Data)
		return e, err
	}, `SELECT seq, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, lim)
}

// AppendOutbox implements store.OutboxWriter. With one writer at a time
// (SQLite) the key drawn at insert is commit order; otherwise the events
// wait in outbox_pending for the engine's sequencer (Dialect.OutboxPending).
func (t Tx) AppendOutbox(ctx context.Context, data ...[]byte) (int64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	if t.d.OutboxPending {
		// One statement for the call's events, in order: the sequencer
		// numbers them by this key.
		q := `INSERT INTO outbox_pending (data) VALUES (?)` + strings.Repeat(`, (?)`, len(data)-1)
		args := make([]any, len(data))
		for i, d := range data {
			args[i] = d
		}
		if _, err := t.exec(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("%s: append outbox: %w", t.d.Name, t.d.Translate(err))
		}
		return 0, nil
	}
	var seq int64
	for _, d := range data {
		var err error
		if t.d.LastInsertID {
			var res Result
			if res, err = t.exec(ctx, `INSERT INTO outbox (data) VALUES (?)`, d); err == nil {
				seq, err = res.LastInsertId()
			}
		} else {
			err = t.queryRow(ctx, `INSERT INTO outbox (data) VALUES (?) RETURNING seq`, d).Scan(&seq)
		}
		if err != nil {
			return 0, fmt.Errorf("%s: append outbox: %w", t.d.Name, t.d.Translate(err))
		}
	}
	return seq, nil
}

// TrimOutbox implements store.OutboxWriter.
func (t Tx) TrimOutbox(ctx context.Context, upTo int64) error {
	if _, err := t.exec(ctx, `DELETE FROM outbox WHERE seq <= ?`, upTo); err != nil {
		return fmt.Errorf("%s: trim outbox: %w", t.d.Name, t.d.Translate(err))
	}
	return nil
}
