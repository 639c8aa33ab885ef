package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// notFound is the error for a resource that does not exist. Belfry answers
// NotFoundException for every missing resource, also where the operation
// does not model it (semantics.md §8.3: chosen for consistency; SDKs still
// surface it by name).
func notFound(format string, args ...any) error {
	return chime.Errorf(chime.NotFound, format, args...)
}

// badRequest is the error for input the model allows but Chime does not.
func badRequest(format string, args ...any) error {
	return chime.Errorf(chime.BadRequest, format, args...)
}

// conflict is the error for a duplicate.
func conflict(format string, args ...any) error {
	return chime.Errorf(chime.Conflict, format, args...)
}

// limitExceeded is the error for a quota.
func limitExceeded(format string, args ...any) error {
	return chime.Errorf(chime.ResourceLimitExceeded, format, args...)
}

// storeErr maps a store error to the chime error for the resource what: a
// missing record to NotFound, a duplicate to Conflict; anything else is
// returned as is and becomes an internal error at the transport.
func storeErr(err error, what string) error {
	var ce *chime.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s not found.", what)
	case errors.Is(err, store.ErrConflict):
		return conflict("%s already exists.", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// viewOne reads one record in a read-only transaction, the opening of
// every Describe: a missing record is NotFoundException naming what.
func viewOne[T any](ctx context.Context, s *Service, what string, get func(tx store.ReadTx) (T, error)) (T, error) {
	var v T
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		v, err = get(tx)
		return err
	})
	return v, storeErr(err, what)
}
