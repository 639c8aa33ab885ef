package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// ChannelExpiration is when a channel is deleted automatically.
type ChannelExpiration struct {
	// Criterion is the model's ExpirationCriterion: CREATED_TIMESTAMP or
	// LAST_MESSAGE_TIMESTAMP.
	Criterion chime.ExpirationCriterion
	// Days is the period after the criterion's timestamp, 1..5475.
	Days int32
	// At is the instant the channel expires, computed by the caller (and
	// recomputed when a message moves LAST_MESSAGE_TIMESTAMP); the sweeper
	// deletes channels whose At has passed.
	At time.Time
}

// ElasticConfig is an elastic channel's ElasticChannelConfiguration.
type ElasticConfig struct {
	MaximumSubChannels             int32
	TargetMembershipsPerSubChannel int32
	MinimumMembershipPercentage    int32
}

// Channel is a channel of an app instance, identified by an id unique
// within it (caller-chosen or generated).
type Channel struct {
	AppInstanceID string
	ChannelID     string
	Name          string
	Mode          chime.ChannelMode
	Privacy       chime.ChannelPrivacy
	Metadata      string
	// CreatedByKind and CreatedByID name the bearer that created the
	// channel; CreatedByName is its name at creation (the creator may be
	// deleted later, the channel stays).
	CreatedByKind MemberKind
	CreatedByID   string
	CreatedByName string
	// FlowID is the associated channel flow's id; "" for none. It must name
	// a flow of the app instance (ErrNotFound otherwise), and a flow cannot
	// be deleted while a channel names it.
	FlowID string
	// Elastic is nil for a standard channel.
	Elastic *ElasticConfig
	// Expiration is nil when the channel never expires.
	Expiration *ChannelExpiration
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// LastMessageAt is the creation time of the latest persistent message
	// visible to every member; zero if there is none.
	LastMessageAt time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// ChannelReader reads channels.
type ChannelReader interface {
	// GetChannel returns the channel, or an error wrapping ErrNotFound.
	GetChannel(ctx context.Context, appInstanceID, channelID string) (Channel, error)

	// ListChannels returns one page of the app instance's channels in
	// creation order; privacy "" lists both PUBLIC and PRIVATE ones.
	ListChannels(ctx context.Context, appInstanceID, privacy string, p Page) ([]Channel, error)

	// CountChannels returns how many channels the app instance has.
	CountChannels(ctx context.Context, appInstanceID string) (int, error)

	// CountElasticChannels returns how many elastic channels the app
	// instance has.
	CountElasticChannels(ctx context.Context, appInstanceID string) (int, error)

	// ListExpiredChannels returns up to limit channels (of any app instance)
	// whose Expiration.At is at or before now, soonest first.
	ListExpiredChannels(ctx context.Context, now time.Time, limit int) ([]Channel, error)

	// SearchChannels returns one page, in creation order, of the channels
	// of the app instance whose DEFAULT members satisfy every clause. If
	// memberOf is not nil, only channels it is a member of (any type)
	// qualify.
	SearchChannels(ctx context.Context, appInstanceID string, clauses []MemberClause, memberOf *Actor, p Page) ([]Channel, error)
}

// MemberClause is one SearchChannels field: Key MEMBERS with operator
// EQUALS (the channel's DEFAULT members are exactly Members) or INCLUDES
// (they include every one of Members).
type MemberClause struct {
	Equals  bool
	Members []Actor
}

// ChannelWriter creates, updates and deletes channels.
type ChannelWriter interface {
	// CreateChannel stores c and returns it with Seq set. It returns an
	// error wrapping ErrConflict if the app instance already has a channel
	// with that id, or ErrNotFound if the app instance does not exist.
	CreateChannel(ctx context.Context, c Channel) (Channel, error)

	// UpdateChannel sets every mutable field of the channel (Name, Mode,
	// Metadata, FlowID, Expiration, UpdatedAt, LastMessageAt), or returns an
	// error wrapping ErrNotFound.
	UpdateChannel(ctx context.Context, c Channel) error

	// DeleteChannel deletes the channel and everything in it: memberships,
	// moderators, bans, messages, flow jobs, and the idempotency records it
	// owns. Tags
	// are keyed by ARN: the caller deletes them. A missing channel is an
	// error wrapping ErrNotFound.
	DeleteChannel(ctx context.Context, appInstanceID, channelID string) error
}

// Actor names an AppInstanceUser or AppInstanceBot of an app instance: a
// channel member, moderator, banned member or message sender.
type Actor struct {
	Kind MemberKind
	ID   string
}
