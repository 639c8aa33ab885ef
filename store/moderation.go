package store

import (
	"context"
	"time"
)

// ChannelGrant is a moderator or a ban: a user or bot (Member) given a role
// in a channel by another (CreatedBy). Moderators and bans are separate
// records with the same shape; ChannelGrantKind says which.
type ChannelGrant struct {
	AppInstanceID string
	ChannelID     string
	Member        Actor
	// MemberName is the member's current name; read-only, filled by reads.
	MemberName string
	// CreatedBy is the bearer that granted it, with its name at the time.
	CreatedBy     Actor
	CreatedByName string
	CreatedAt     time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// GrantKind says which record a ChannelGrant is.
type GrantKind string

// Grant kinds.
const (
	Moderator GrantKind = "moderator"
	Ban       GrantKind = "ban"
)

// ModeratedChannel is a moderator grant together with its channel, as
// ListChannelsModeratedByAppInstanceUser returns them.
type ModeratedChannel struct {
	Grant   ChannelGrant
	Channel Channel
}

// ChannelGrantReader reads moderators and bans.
type ChannelGrantReader interface {
	// GetChannelGrant returns the moderator or ban of m in the channel, or
	// an error wrapping ErrNotFound.
	GetChannelGrant(ctx context.Context, kind GrantKind, appInstanceID, channelID string, m Actor) (ChannelGrant, error)

	// ListChannelGrants returns one page of the channel's moderators or bans
	// in creation order.
	ListChannelGrants(ctx context.Context, kind GrantKind, appInstanceID, channelID string, p Page) ([]ChannelGrant, error)

	// CountChannelGrants returns how many moderators or bans the channel has.
	CountChannelGrants(ctx context.Context, kind GrantKind, appInstanceID, channelID string) (int, error)

	// ListChannelsModeratedBy returns one page of the channels m moderates,
	// in order of the moderator grant's Seq.
	ListChannelsModeratedBy(ctx context.Context, appInstanceID string, m Actor, p Page) ([]ModeratedChannel, error)
}

// ChannelGrantWriter creates and deletes moderators and bans.
type ChannelGrantWriter interface {
	// CreateChannelGrant stores g as a moderator or ban and returns it with
	// Seq and MemberName set. It returns an error wrapping ErrConflict if
	// the member already has that grant in the channel, or ErrNotFound if
	// the channel or the member does not exist.
	CreateChannelGrant(ctx context.Context, kind GrantKind, g ChannelGrant) (ChannelGrant, error)

	// DeleteChannelGrant deletes the moderator or ban, or returns an error
	// wrapping ErrNotFound.
	DeleteChannelGrant(ctx context.Context, kind GrantKind, appInstanceID, channelID string, m Actor) error
}
