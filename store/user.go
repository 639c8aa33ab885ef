package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// UserExpiration is when an AppInstanceUser is deleted automatically.
type UserExpiration struct {
	// Criterion is the model's ExpirationCriterion (CREATED_TIMESTAMP).
	Criterion chime.IdentityExpirationCriterion
	// Days is the period after the criterion's timestamp, 1..5475.
	Days int32
	// At is the instant the user expires, computed by the caller; the
	// sweeper deletes users whose At has passed.
	At time.Time
}

// AppInstanceUser is a user of an app instance, identified by the id the
// caller chose, unique within its app instance.
type AppInstanceUser struct {
	AppInstanceID string
	UserID        string
	Name          string
	Metadata      string
	// Expiration is nil when the user never expires.
	Expiration *UserExpiration
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// AppInstanceUserReader reads users.
type AppInstanceUserReader interface {
	// GetAppInstanceUser returns the user, or an error wrapping ErrNotFound.
	GetAppInstanceUser(ctx context.Context, appInstanceID, userID string) (AppInstanceUser, error)

	// ListAppInstanceUsers returns one page of the app instance's users in
	// creation order.
	ListAppInstanceUsers(ctx context.Context, appInstanceID string, p Page) ([]AppInstanceUser, error)

	// CountAppInstanceUsers returns how many users the app instance has.
	CountAppInstanceUsers(ctx context.Context, appInstanceID string) (int, error)

	// ListExpiredAppInstanceUsers returns up to limit users (of any app
	// instance) whose Expiration.At is at or before now, soonest first.
	ListExpiredAppInstanceUsers(ctx context.Context, now time.Time, limit int) ([]AppInstanceUser, error)
}

// AppInstanceUserWriter creates, updates and deletes users.
type AppInstanceUserWriter interface {
	// CreateAppInstanceUser stores u and returns it with Seq set. It returns
	// an error wrapping ErrConflict if the app instance already has a user
	// with that id, or ErrNotFound if the app instance does not exist.
	CreateAppInstanceUser(ctx context.Context, u AppInstanceUser) (AppInstanceUser, error)

	// UpdateAppInstanceUser sets Name, Metadata, Expiration and UpdatedAt
	// of the user, or returns an error wrapping ErrNotFound.
	UpdateAppInstanceUser(ctx context.Context, u AppInstanceUser) error

	// DeleteAppInstanceUser deletes the user and what belongs to it (admin
	// role, endpoints, idempotency records; later memberships and bans), or
	// returns an error wrapping ErrNotFound. Tags and credentials are keyed
	// by ARN: the caller deletes them (DeleteAllTags,
	// DeleteCredentialsByUser).
	DeleteAppInstanceUser(ctx context.Context, appInstanceID, userID string) error
}
