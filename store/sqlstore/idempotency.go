package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

func scanIdempotency(r scanner) (store.IdempotencyRecord, error) {
	var (
		rec                 store.IdempotencyRecord
		user, bot, endpoint sql.NullString
		channel, flow       sql.NullString
		created             int64
		scope               []byte
	)
	err := r.Scan(&scope, &rec.Token, &rec.Fingerprint, &rec.Result, &created, &rec.AppInstanceID, &user, &bot, &endpoint, &channel, &flow)
	rec.Scope = string(scope)
	rec.CreatedAt = fromMS(created)
	rec.UserID, rec.BotID, rec.EndpointID, rec.ChannelID, rec.FlowID = user.String, bot.String, endpoint.String, channel.String, flow.String
	return rec, err
}

// GetIdempotencyRecord implements store.IdempotencyReader.
func (t ReadTx) GetIdempotencyRecord(ctx context.Context, scope, token string) (store.IdempotencyRecord, error) {
	return getOne(ctx, t, "idempotency record", scanIdempotency,
		`SELECT scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id, channel_id, flow_id
		FROM idempotency_records WHERE scope = ? AND token = ?`, t.d.Bytes(scope), token)
}

// PutIdempotencyRecord implements store.IdempotencyWriter.
func (t Tx) PutIdempotencyRecord(ctx context.Context, r store.IdempotencyRecord) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_records
		(scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id, channel_id, flow_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, token) DO UPDATE SET fingerprint = excluded.fingerprint, result = excluded.result,
			created_at = excluded.created_at, app_instance_id = excluded.app_instance_id, user_id = excluded.user_id,
			bot_id = excluded.bot_id, endpoint_id = excluded.endpoint_id, channel_id = excluded.channel_id,
			flow_id = excluded.flow_id`,
		t.d.Bytes(r.Scope), r.Token, r.Fingerprint, r.Result, ms(r.CreatedAt), r.AppInstanceID,
		nullString(r.UserID), nullString(r.BotID), nullString(r.EndpointID), nullString(r.ChannelID), nullString(r.FlowID))
	if err != nil {
		return fmt.Errorf("%s: put idempotency record: %w", t.d.Name, t.d.Translate(err))
	}
	return nil
}

// DeleteIdempotencyRecordsBefore implements store.IdempotencyWriter.
func (t Tx) DeleteIdempotencyRecordsBefore(ctx context.Context, before time.Time) (int, error) {
	return t.execCount(ctx, "delete idempotency records", `DELETE FROM idempotency_records WHERE created_at < ?`, ms(before))
}
