package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

// touchReturning returns the generations with the touch, so that a send
// validates its cached authorization at no extra statement.
const touchReturning = ` WHERE app_instance_id = ? AND channel_id = ?
	RETURNING seq, auth_gen, (SELECT a.auth_gen FROM app_instances a WHERE a.id = ?)`

// TouchChannel implements store.ChannelToucher.
func (t Tx) TouchChannel(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time) (store.Generation, error) {
	var g store.Generation
	var row Row
	app := any(appInstanceID) // boxed once for its two uses
	if expiresAt == nil {
		row = t.queryRow(ctx, `UPDATE channels SET last_message_at = ?`+touchReturning,
			ms(lastMessageAt), app, channelID, app)
	} else {
		row = t.queryRow(ctx, `UPDATE channels SET last_message_at = ?, expires_at = ?`+touchReturning,
			ms(lastMessageAt), ms(*expiresAt), app, channelID, app)
	}
	err := row.Scan(&g.ChannelSeq, &g.Channel, &g.AppInstance)
	if errors.Is(err, t.d.NoRows) {
		return g, fmt.Errorf("%s: touch channel %s: %w", t.d.Name, channelID, store.ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("%s: touch channel %s: %w", t.d.Name, channelID, t.d.Translate(err))
	}
	return g, nil
}

// touchIf is the condition of TouchChannelAt: the row of the touch and
// the two generations.
const touchIf = ` WHERE app_instance_id = ? AND channel_id = ? AND seq = ? AND auth_gen = ?
	AND (SELECT a.auth_gen FROM app_instances a WHERE a.id = ?) = ?`

// TouchChannelAt implements store.ChannelToucher. An UPDATE without
// RETURNING: SQLite gathers RETURNING rows in a temporary table, and
// database/sql's rows cost more than a Result.
func (t Tx) TouchChannelAt(ctx context.Context, appInstanceID, channelID string, lastMessageAt time.Time, expiresAt *time.Time, gen store.Generation) (bool, error) {
	var n int
	var err error
	app := any(appInstanceID) // boxed once for its two uses
	what := "touch channel " + channelID
	if expiresAt == nil {
		n, err = t.execCount(ctx, what, `UPDATE channels SET last_message_at = ?`+touchIf,
			ms(lastMessageAt), app, channelID, gen.ChannelSeq, gen.Channel, app, gen.AppInstance)
	} else {
		n, err = t.execCount(ctx, what, `UPDATE channels SET last_message_at = ?, expires_at = ?`+touchIf,
			ms(lastMessageAt), ms(*expiresAt), app, channelID, gen.ChannelSeq, gen.Channel, app, gen.AppInstance)
	}
	return n == 1, err
}
