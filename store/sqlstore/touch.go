package sqlstore

import (
	"context"
	"time"
)

// TouchChannel implements store.ChannelToucher.
func (t Tx) TouchChannel(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time) error {
	if expiresAt == nil {
		return t.execOne(ctx, "touch channel "+channelID, `UPDATE channels SET last_message_at = ?
			WHERE app_instance_id = ? AND channel_id = ?`, ms(lastMessageAt), appInstanceID, channelID)
	}
	return t.execOne(ctx, "touch channel "+channelID, `UPDATE channels SET last_message_at = ?, expires_at = ?
		WHERE app_instance_id = ? AND channel_id = ?`, ms(lastMessageAt), ms(*expiresAt), appInstanceID, channelID)
}
