package store

import (
	"context"
	"time"
)

// ChannelToucher records a new message on its channel: the hot path of
// every persistent send, so it writes two columns instead of the row.
type ChannelToucher interface {
	// TouchChannel sets the channel's LastMessageAt and, when expiresAt is
	// not nil, its Expiration.At (a LAST_MESSAGE_TIMESTAMP expiry moves
	// with each message); it returns an error wrapping ErrNotFound if the
	// channel does not exist.
	TouchChannel(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time) error
}
