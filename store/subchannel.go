package store

import (
	"context"
	"time"
)

// SubChannel is one sub-channel of an elastic channel. Regular members
// belong to exactly one sub-channel of the channel; a moderator may hold a
// membership in several. Messages of an elastic channel belong to one
// sub-channel (ChannelMessage.SubChannelID).
type SubChannel struct {
	AppInstanceID string
	ChannelID     string
	SubChannelID  string
	// MembershipCount is the number of memberships whose SubChannelID is
	// this sub-channel; read-only, maintained by the store with every
	// membership write, so it always equals the rows.
	MembershipCount int
	CreatedAt       time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// SubChannelReader reads sub-channels and the memberships in them.
type SubChannelReader interface {
	// GetSubChannel returns the sub-channel, or an error wrapping
	// ErrNotFound.
	GetSubChannel(ctx context.Context, appInstanceID, channelID, subChannelID string) (SubChannel, error)

	// ListSubChannels returns one page of the channel's sub-channels in
	// creation order.
	ListSubChannels(ctx context.Context, appInstanceID, channelID string, p Page) ([]SubChannel, error)

	// GetSubChannelMembership returns m's membership in the sub-channel, or
	// an error wrapping ErrNotFound.
	GetSubChannelMembership(ctx context.Context, appInstanceID, channelID, subChannelID string, m Actor) (ChannelMembership, error)

	// ListSubChannelMemberships returns one page of the sub-channel's
	// memberships in creation order.
	ListSubChannelMemberships(ctx context.Context, appInstanceID, channelID, subChannelID string, p Page) ([]ChannelMembership, error)

	// ListMemberSubChannelMemberships returns every membership m holds in
	// the channel (one per sub-channel), in creation order.
	ListMemberSubChannelMemberships(ctx context.Context, appInstanceID, channelID string, m Actor) ([]ChannelMembership, error)
}

// SubChannelWriter creates and deletes sub-channels and sub-channel
// memberships.
type SubChannelWriter interface {
	// CreateSubChannel stores sc and returns it with Seq set and
	// MembershipCount 0. It returns an error wrapping ErrConflict if the
	// channel already has a sub-channel with that id, or ErrNotFound if the
	// channel does not exist.
	CreateSubChannel(ctx context.Context, sc SubChannel) (SubChannel, error)

	// DeleteSubChannel deletes the sub-channel together with its messages
	// and the memberships still in it, or returns an error wrapping
	// ErrNotFound.
	DeleteSubChannel(ctx context.Context, appInstanceID, channelID, subChannelID string) error

	// MoveSubChannelMembership moves m's membership in sub-channel from to
	// sub-channel to, setting its UpdatedAt, and leaves any other
	// membership of m alone. It returns an error wrapping ErrNotFound if m
	// has no membership in from, or ErrConflict if it has one in to.
	MoveSubChannelMembership(ctx context.Context, appInstanceID, channelID, from, to string, m Actor, at time.Time) error

	// DeleteSubChannelMembership deletes m's membership in the sub-channel,
	// or returns an error wrapping ErrNotFound.
	DeleteSubChannelMembership(ctx context.Context, appInstanceID, channelID, subChannelID string, m Actor) error
}
