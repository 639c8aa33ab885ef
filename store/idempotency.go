package store

import (
	"context"
	"time"
)

// IdempotencyRecord remembers the result of a create call made with a
// ClientRequestToken, so a retry with the same token returns the same
// result instead of creating again.
//
// The record belongs to the resource it created (exactly one of the owner
// fields names it), so deleting that resource forgets the token too: a
// retry after the delete creates a new resource rather than returning the
// ARN of a deleted one.
type IdempotencyRecord struct {
	// Scope is the operation and its parent resource, e.g.
	// "CreateAppInstanceUser arn:…:app-instance/…".
	Scope string
	// Token is the ClientRequestToken.
	Token string
	// Fingerprint is a digest of the request's other parameters; a retry
	// whose fingerprint differs is a conflict.
	Fingerprint string
	// Result is what the first call returned (an ARN or id).
	Result    string
	CreatedAt time.Time

	// The owner: AppInstanceID always; plus UserID, BotID, EndpointID,
	// ChannelID or FlowID when the record belongs to a user, bot, endpoint,
	// channel (a channel owns the tokens of its creation and of its
	// messages) or channel flow.
	AppInstanceID string
	UserID        string
	BotID         string
	EndpointID    string
	ChannelID     string
	FlowID        string
}

// IdempotencyReader reads idempotency records.
type IdempotencyReader interface {
	// GetIdempotencyRecord returns the record of scope and token, or an
	// error wrapping ErrNotFound.
	GetIdempotencyRecord(ctx context.Context, scope, token string) (IdempotencyRecord, error)
}

// IdempotencyWriter stores and forgets idempotency records.
type IdempotencyWriter interface {
	// PutIdempotencyRecord stores r, replacing any record of the same scope
	// and token. It returns an error wrapping ErrNotFound if the owner does
	// not exist.
	PutIdempotencyRecord(ctx context.Context, r IdempotencyRecord) error

	// DeleteIdempotencyRecordsBefore forgets records created before t and
	// returns how many there were.
	DeleteIdempotencyRecordsBefore(ctx context.Context, t time.Time) (int, error)
}
