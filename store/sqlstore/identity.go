package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

// Helpers shared by the records' files.

// ms converts a time to the INTEGER Unix milliseconds the schema stores.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts stored milliseconds back to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msOrNull stores the zero time as NULL, for optional times.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

// fromNullMS is fromMS for optional times: NULL is the zero time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// nullString stores "" as NULL, for optional reference columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// execOne runs a write that must affect exactly one row; none is
// ErrNotFound. what names the record for the error message.
func (t Tx) execOne(ctx context.Context, what, q string, args ...any) error {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", t.d.Name, what, t.d.Translate(err))
	}
	return t.oneRow(what, res)
}

// oneRow checks that a write affected exactly one row; none is
// ErrNotFound.
func (t Tx) oneRow(what string, res Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %s: %w", t.d.Name, what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %s: %w", t.d.Name, what, store.ErrNotFound)
	}
	return nil
}

// execCount runs a write and returns how many rows it affected.
func (t Tx) execCount(ctx context.Context, what, q string, args ...any) (int, error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", t.d.Name, what, t.d.Translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", t.d.Name, what, err)
	}
	return int(n), nil
}

// count runs a SELECT COUNT(*) query.
func (t ReadTx) count(ctx context.Context, what, q string, args ...any) (int, error) {
	var n int
	if err := t.queryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count %s: %w", t.d.Name, what, err)
	}
	return n, nil
}

// getOne scans one row with scan, mapping no row to ErrNotFound.
func getOne[T any](ctx context.Context, t ReadTx, what string, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(t.queryRow(ctx, q, args...))
	if errors.Is(err, t.d.NoRows) {
		return v, fmt.Errorf("%s: get %s: %w", t.d.Name, what, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("%s: get %s: %w", t.d.Name, what, err)
	}
	return v, nil
}

// list scans every row of a query with scan; finding none is an empty,
// non-nil slice.
func list[T any](ctx context.Context, t ReadTx, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", t.d.Name, what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list %s: %w", t.d.Name, what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", t.d.Name, what, err)
	}
	return out, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(...any) error }
