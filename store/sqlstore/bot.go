package sqlstore

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

const botColumns = `seq, app_instance_id, bot_id, name, metadata, configuration, created_at, updated_at`

func scanBot(r scanner) (store.AppInstanceBot, error) {
	var b store.AppInstanceBot
	var created, updated int64
	err := r.Scan(&b.Seq, &b.AppInstanceID, &b.BotID, &b.Name, &b.Metadata, &b.Configuration, &created, &updated)
	b.CreatedAt, b.UpdatedAt = fromMS(created), fromMS(updated)
	return b, err
}

// GetAppInstanceBot implements store.AppInstanceBotReader.
func (t ReadTx) GetAppInstanceBot(ctx context.Context, appInstanceID, botID string) (store.AppInstanceBot, error) {
	return getOne(ctx, t, "bot "+botID, scanBot,
		`SELECT `+botColumns+` FROM app_instance_bots WHERE app_instance_id = ? AND bot_id = ?`, appInstanceID, botID)
}

// ListAppInstanceBots implements store.AppInstanceBotReader.
func (t ReadTx) ListAppInstanceBots(ctx context.Context, appInstanceID string, p store.Page) ([]store.AppInstanceBot, error) {
	return list(ctx, t, "bots", scanBot,
		`SELECT `+botColumns+` FROM app_instance_bots WHERE app_instance_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		appInstanceID, p.After, t.d.limit(p))
}

// CreateAppInstanceBot implements store.AppInstanceBotWriter.
func (t Tx) CreateAppInstanceBot(ctx context.Context, b store.AppInstanceBot) (store.AppInstanceBot, error) {
	if b.Configuration == nil {
		b.Configuration = []byte{} // NOT NULL
	}
	err := t.queryRow(ctx, `INSERT INTO app_instance_bots
		(app_instance_id, bot_id, name, metadata, configuration, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		b.AppInstanceID, b.BotID, b.Name, b.Metadata, b.Configuration, ms(b.CreatedAt), ms(b.UpdatedAt)).Scan(&b.Seq)
	if err != nil {
		return b, fmt.Errorf("%s: create bot %s: %w", t.d.Name, b.BotID, t.d.Translate(err))
	}
	return b, nil
}

// UpdateAppInstanceBot implements store.AppInstanceBotWriter.
func (t Tx) UpdateAppInstanceBot(ctx context.Context, b store.AppInstanceBot) error {
	if b.Configuration == nil {
		b.Configuration = []byte{}
	}
	return t.execOne(ctx, "update bot "+b.BotID, `UPDATE app_instance_bots
		SET name = ?, metadata = ?, configuration = ?, updated_at = ? WHERE app_instance_id = ? AND bot_id = ?`,
		b.Name, b.Metadata, b.Configuration, ms(b.UpdatedAt), b.AppInstanceID, b.BotID)
}

// DeleteAppInstanceBot implements store.AppInstanceBotWriter.
func (t Tx) DeleteAppInstanceBot(ctx context.Context, appInstanceID, botID string) error {
	if err := t.execOne(ctx, "delete bot "+botID,
		`DELETE FROM app_instance_bots WHERE app_instance_id = ? AND bot_id = ?`, appInstanceID, botID); err != nil {
		return err
	}
	return t.deleteTagsOf(ctx, appInstanceID, "bot", botID)
}
