package store

import (
	"context"
	"time"
)

// Generation identifies the state of everything a send's authorization
// and its stored fields depend on: the channel (its Seq: a channel deleted
// and created again with the same id is another channel), its
// authorization generation and its app instance's. The store raises the
// generations, in the transaction of the change, whenever a membership is
// removed or demoted, a ban or moderator is granted or removed, the
// channel's settings change, or an admin, user, bot or streaming
// configuration of the app instance changes; so a node may answer a
// send's authorization from memory as long as the Generation it cached
// the answer under is the one the send's transaction reads.
type Generation struct {
	ChannelSeq, Channel, AppInstance int64
}

// ChannelToucher records a new message on its channel: the hot path of
// every persistent send, so it writes two columns instead of the row.
type ChannelToucher interface {
	// TouchChannel sets the channel's LastMessageAt and, when expiresAt is
	// not nil, its Expiration.At (a LAST_MESSAGE_TIMESTAMP expiry moves
	// with each message), and returns the channel's Generation as of the
	// touch; it returns an error wrapping ErrNotFound if the channel does
	// not exist.
	TouchChannel(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time) (Generation, error)

	// TouchChannelAt is TouchChannel for a sender that holds the channel's
	// Generation from an earlier touch (a cached authorization): it
	// touches the channel only if its Generation is still gen, and
	// reports whether it did. It changes nothing and returns false when
	// the Generation differs or the channel does not exist. It costs less
	// than TouchChannel: nothing to read back.
	TouchChannelAt(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time, gen Generation) (bool, error)
}
