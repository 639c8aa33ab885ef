package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// StreamingConfiguration sends an app instance's events of one data type
// (Channel or ChannelMessage) to a Kinesis stream.
type StreamingConfiguration struct {
	AppInstanceID string
	DataType      chime.MessagingDataType
	ResourceArn   string
	CreatedAt     time.Time
}

// StreamingConfigurationReader reads streaming configurations.
type StreamingConfigurationReader interface {
	// ListStreamingConfigurations returns the app instance's
	// configurations ordered by DataType; none is not an error.
	ListStreamingConfigurations(ctx context.Context, appInstanceID string) ([]StreamingConfiguration, error)
}

// StreamingConfigurationWriter replaces and deletes streaming
// configurations.
type StreamingConfigurationWriter interface {
	// PutStreamingConfigurations replaces the app instance's
	// configurations with cs. It returns an error wrapping ErrNotFound if
	// the app instance does not exist.
	PutStreamingConfigurations(ctx context.Context, appInstanceID string, cs []StreamingConfiguration) error

	// DeleteStreamingConfigurations deletes all of the app instance's
	// configurations and reports how many there were.
	DeleteStreamingConfigurations(ctx context.Context, appInstanceID string) (int, error)
}

// PushTarget is an endpoint of a user who is a member of a channel, with
// the member's preferences: what deciding a push needs, read at once.
type PushTarget struct {
	// Preferences is the membership's (ChannelMembership.Preferences).
	Preferences string
	Endpoint    AppInstanceUserEndpoint
}

// PushTargetReader reads push targets.
type PushTargetReader interface {
	// ListChannelPushTargets returns the endpoints with AllowMessages ALL
	// of the channel's members (users; of any membership type), in
	// membership then endpoint creation order. A subChannelID other than
	// "" restricts them to that sub-channel's members (elastic channels);
	// members, when not nil, to those users.
	ListChannelPushTargets(ctx context.Context, appInstanceID, channelID, subChannelID string, members []string) ([]PushTarget, error)
}

// Delivery is one push notification to one device, or one streaming
// record, queued in the transaction of the change that caused it and
// handed to its sink by a background worker. Delivered deliveries are
// kept for a while so that they can be inspected.
type Delivery struct {
	// ID is the queue position, assigned by the store.
	ID   int64
	Kind DeliveryKind
	// AppInstanceID and ChannelArn say where the delivery comes from (for
	// inspection filters).
	AppInstanceID string
	ChannelArn    string
	// OrderKey, when not empty, serialises deliveries: of those sharing an
	// OrderKey, only the oldest undelivered one is ever due, so retries
	// never reorder them (a stream's records of one channel).
	OrderKey string
	// Target is the sink's destination: the Kinesis stream ARN of a
	// record; "" for a push.
	Target string
	// PartitionKey is the Kinesis partition key of a record.
	PartitionKey string
	// Body is the JSON document delivered.
	Body  string
	State DeliveryState
	// Attempts counts failed attempts; NextAttemptAt is when the delivery
	// is next due (or when the lease of an attempt in flight ends).
	Attempts      int
	NextAttemptAt time.Time
	// LastError is the last attempt's error, "" if none.
	LastError string
	// LeaseOwner is the node that claimed the delivery last (the lease
	// runs until NextAttemptAt); "" if none has.
	LeaseOwner string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DeliveryKind says what a delivery is.
type DeliveryKind string

// Delivery kinds.
const (
	DeliveryPush   DeliveryKind = "PUSH"
	DeliveryStream DeliveryKind = "STREAM"
)

// DeliveryState is where a delivery is in its life.
type DeliveryState string

// Delivery states.
const (
	// DeliveryPending: to be delivered (or being delivered, while leased).
	DeliveryPending DeliveryState = "PENDING"
	// DeliveryDelivered: the sink accepted it.
	DeliveryDelivered DeliveryState = "DELIVERED"
	// DeliveryFailed: the sink refused it for good.
	DeliveryFailed DeliveryState = "FAILED"
	// DeliveryUnsent: no sink of its kind is configured; kept for
	// inspection only.
	DeliveryUnsent DeliveryState = "UNSENT"
)

// DeliveryFilter selects deliveries to inspect.
type DeliveryFilter struct {
	Kind          DeliveryKind
	AppInstanceID string // "" for any
	ChannelArn    string // "" for any
	Limit         int
}

// DeliveryStats describes the queue.
type DeliveryStats struct {
	Pending int
	// OldestPending is the creation time of the oldest pending delivery;
	// zero when none is pending.
	OldestPending time.Time
}

// DeliveryReader reads the delivery queue.
type DeliveryReader interface {
	// ListDueDeliveries returns up to limit pending deliveries whose
	// NextAttemptAt is at or before now and that no older pending
	// delivery with the same non-empty OrderKey precedes, oldest first.
	ListDueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)

	// GetDelivery returns the delivery, or an error wrapping ErrNotFound.
	GetDelivery(ctx context.Context, id int64) (Delivery, error)

	// ListDeliveries returns up to f.Limit deliveries of f.Kind matching
	// the filter, newest first.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)

	// GetDeliveryStats describes the pending deliveries of kind.
	GetDeliveryStats(ctx context.Context, kind DeliveryKind) (DeliveryStats, error)
}

// DeliveryWriter queues and settles deliveries.
type DeliveryWriter interface {
	// CreateDelivery queues d and returns its ID. A pending d whose
	// OrderKey has an older pending delivery waits for its turn: an
	// engine may store another NextAttemptAt, which UpdateDelivery of
	// the older one settling makes no later than its UpdatedAt (so due
	// scans need not wade through long queues behind a failing head).
	CreateDelivery(ctx context.Context, d Delivery) (int64, error)

	// UpdateDelivery sets State, Attempts, NextAttemptAt, LastError and
	// UpdatedAt, or returns an error wrapping ErrNotFound.
	UpdateDelivery(ctx context.Context, d Delivery) error

	// PruneDeliveries deletes the settled (not pending) deliveries of kind
	// but the newest keep, and reports how many it deleted.
	PruneDeliveries(ctx context.Context, kind DeliveryKind, keep int) (int, error)
}
