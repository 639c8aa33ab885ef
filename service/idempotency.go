package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/belfryhq/belfry/store"
)

// fingerprint digests the parameters of a create request other than its
// ClientRequestToken, so that a retry can be told from a different request
// that reuses the token. params must marshal deterministically (structs
// and slices do).
func fingerprint(params any) string {
	b, err := json.Marshal(params)
	if err != nil {
		panic(err) // request types always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replay looks up an earlier call with the same token in the same scope.
// It returns the earlier result and true for a retry (same parameters,
// within IdempotencyWindow), ConflictException for the same token with
// different parameters, and "", false when the call is new.
func (s *Service) replay(ctx context.Context, tx store.ReadTx, scope, token, fp, op string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	rec, err := tx.GetIdempotencyRecord(ctx, scope, token)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if s.now().Sub(rec.CreatedAt) > IdempotencyWindow {
		return "", false, nil // forgotten: the token may be used afresh
	}
	if rec.Fingerprint != fp {
		return "", false, conflict("ClientRequestToken %s was already used for a %s call with different parameters.", token, op)
	}
	return rec.Result, true, nil
}

// remember records the result of a call made with a token.
func (s *Service) remember(ctx context.Context, tx store.Tx, rec store.IdempotencyRecord) error {
	if rec.Token == "" {
		return nil
	}
	rec.CreatedAt = s.now()
	return tx.PutIdempotencyRecord(ctx, rec)
}
