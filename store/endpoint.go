package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// AppInstanceUserEndpoint is a push-notification endpoint of a user.
type AppInstanceUserEndpoint struct {
	AppInstanceID string
	UserID        string
	// EndpointID is server-generated and unique in the store.
	EndpointID string
	Name       string
	// Type is APNS, APNS_SANDBOX or GCM.
	Type chime.AppInstanceUserEndpointType
	// ResourceArn is the Pinpoint application ARN, as given.
	ResourceArn     string
	DeviceToken     string
	VoipDeviceToken string
	// AllowMessages is ALL or NONE.
	AllowMessages string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// AppInstanceUserEndpointReader reads endpoints.
type AppInstanceUserEndpointReader interface {
	// GetAppInstanceUserEndpoint returns the user's endpoint, or an error
	// wrapping ErrNotFound.
	GetAppInstanceUserEndpoint(ctx context.Context, appInstanceID, userID, endpointID string) (AppInstanceUserEndpoint, error)

	// ListAppInstanceUserEndpoints returns one page of the user's endpoints
	// in creation order.
	ListAppInstanceUserEndpoints(ctx context.Context, appInstanceID, userID string, p Page) ([]AppInstanceUserEndpoint, error)

	// CountAppInstanceUserEndpoints returns how many endpoints the user has.
	CountAppInstanceUserEndpoints(ctx context.Context, appInstanceID, userID string) (int, error)
}

// AppInstanceUserEndpointWriter registers, updates and deregisters endpoints.
type AppInstanceUserEndpointWriter interface {
	// CreateAppInstanceUserEndpoint stores e and returns it with Seq set. It
	// returns an error wrapping ErrConflict if the endpoint id is taken or
	// the app instance already has an endpoint of the same Type with the
	// same DeviceToken (whichever user registered it), or ErrNotFound if
	// the user does not exist.
	CreateAppInstanceUserEndpoint(ctx context.Context, e AppInstanceUserEndpoint) (AppInstanceUserEndpoint, error)

	// UpdateAppInstanceUserEndpoint sets Name, AllowMessages and UpdatedAt,
	// or returns an error wrapping ErrNotFound.
	UpdateAppInstanceUserEndpoint(ctx context.Context, e AppInstanceUserEndpoint) error

	// DeleteAppInstanceUserEndpoint deletes the endpoint, or returns an
	// error wrapping ErrNotFound.
	DeleteAppInstanceUserEndpoint(ctx context.Context, appInstanceID, userID, endpointID string) error
}
