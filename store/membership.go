package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// ChannelMembership is a user's or bot's membership of a channel.
type ChannelMembership struct {
	AppInstanceID string
	ChannelID     string
	Member        Actor
	// MemberName is the member's current name; read-only, filled by reads.
	MemberName string
	Type       chime.ChannelMembershipType
	// InvitedBy is the bearer that created the membership, with its name at
	// the time.
	InvitedBy     Actor
	InvitedByName string
	// ReadMarkerAt is zero until the member first marks the channel read.
	ReadMarkerAt time.Time
	// Preferences is the JSON of the member's ChannelMembershipPreferences;
	// "" when never set.
	Preferences  string
	SubChannelID string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// MemberChannel is a membership together with its channel, as the
// ...ForAppInstanceUser lists return them.
type MemberChannel struct {
	Membership ChannelMembership
	Channel    Channel
}

// ChannelMembershipReader reads memberships.
type ChannelMembershipReader interface {
	// GetChannelMembership returns the membership of m in the channel, or an
	// error wrapping ErrNotFound. A moderator of an elastic channel may
	// hold memberships in several sub-channels: this returns the oldest.
	GetChannelMembership(ctx context.Context, appInstanceID, channelID string, m Actor) (ChannelMembership, error)

	// ListChannelMemberships returns one page of the channel's memberships of
	// type typ (DEFAULT or HIDDEN; "" both) in creation order.
	ListChannelMemberships(ctx context.Context, appInstanceID, channelID, typ string, p Page) ([]ChannelMembership, error)

	// CountChannelMemberships returns how many memberships (of any type)
	// the channel has.
	CountChannelMemberships(ctx context.Context, appInstanceID, channelID string) (int, error)

	// CountMembershipsOf returns how many channels m is a member of.
	CountMembershipsOf(ctx context.Context, appInstanceID string, m Actor) (int, error)

	// ListMembershipsOf returns one page of m's memberships, with their
	// channels, in membership creation order (Seq of the membership).
	ListMembershipsOf(ctx context.Context, appInstanceID string, m Actor, p Page) ([]MemberChannel, error)
}

// ChannelMembershipWriter creates, updates and deletes memberships.
type ChannelMembershipWriter interface {
	// CreateChannelMembership stores m and returns it with Seq and
	// MemberName set. It returns an error wrapping ErrConflict if the member
	// already has a membership of the channel (of the sub-channel, when
	// SubChannelID is set), or ErrNotFound if the channel or the member
	// does not exist.
	CreateChannelMembership(ctx context.Context, m ChannelMembership) (ChannelMembership, error)

	// UpdateChannelMembership sets ReadMarkerAt, Preferences, SubChannelID
	// and UpdatedAt of the membership, or returns an error wrapping
	// ErrNotFound.
	UpdateChannelMembership(ctx context.Context, m ChannelMembership) error

	// DeleteChannelMembership deletes the membership (every sub-channel
	// membership of m, in an elastic channel), or returns an error wrapping
	// ErrNotFound.
	DeleteChannelMembership(ctx context.Context, appInstanceID, channelID string, m Actor) error
}
