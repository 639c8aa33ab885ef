package store

import (
	"context"
	"time"
)

// AppInstance is a Chime AppInstance: the container of users, bots and
// channels. Deleting it deletes everything that belongs to it (engines use
// cascading foreign keys, so later records cascade too).
type AppInstance struct {
	// ID is the server-generated id (a UUIDv4), unique in the store.
	ID string
	// Name and Metadata are as the caller set them.
	Name     string
	Metadata string
	// CreatedAt and UpdatedAt are set by the caller (the store never reads
	// the clock); UTC, truncated to milliseconds.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// AppInstanceReader reads app instances. Times come back in UTC, truncated
// to the millisecond.
type AppInstanceReader interface {
	// GetAppInstance returns the app instance with the given id, or an error
	// wrapping ErrNotFound.
	GetAppInstance(ctx context.Context, id string) (AppInstance, error)

	// ListAppInstances returns one page of app instances in creation order.
	ListAppInstances(ctx context.Context, p Page) ([]AppInstance, error)

	// CountAppInstances returns how many app instances exist, for quotas.
	CountAppInstances(ctx context.Context) (int, error)
}

// AppInstanceWriter creates, updates and deletes app instances.
type AppInstanceWriter interface {
	// CreateAppInstance stores a and returns it with Seq set. It returns an
	// error wrapping ErrConflict if the id is taken.
	CreateAppInstance(ctx context.Context, a AppInstance) (AppInstance, error)

	// UpdateAppInstance sets Name, Metadata and UpdatedAt of the app
	// instance a.ID, or returns an error wrapping ErrNotFound.
	UpdateAppInstance(ctx context.Context, a AppInstance) error

	// DeleteAppInstance deletes the app instance and every record that
	// belongs to it (users, bots, admins, endpoints, retention settings,
	// tags, idempotency records, and later channels), or returns an error
	// wrapping ErrNotFound. Credentials are not keyed by app instance: the
	// caller deletes them with DeleteCredentialsByAppInstance.
	DeleteAppInstance(ctx context.Context, id string) error
}
