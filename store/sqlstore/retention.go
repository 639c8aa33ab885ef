package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

func scanRetention(r scanner) (store.RetentionSettings, error) {
	var (
		s          store.RetentionSettings
		days, init sql.NullInt64
		updated    int64
	)
	err := r.Scan(&s.AppInstanceID, &days, &init, &updated)
	s.UpdatedAt = fromMS(updated)
	if days.Valid {
		d := int32(days.Int64)
		s.ChannelRetentionDays = &d
	}
	if init.Valid {
		t := fromMS(init.Int64)
		s.InitiateDeletionAt = &t
	}
	return s, err
}

// GetRetentionSettings implements store.RetentionSettingsReader.
func (t ReadTx) GetRetentionSettings(ctx context.Context, appInstanceID string) (store.RetentionSettings, error) {
	return getOne(ctx, t, "retention settings of "+appInstanceID, scanRetention,
		`SELECT app_instance_id, channel_retention_days, initiate_deletion_at, updated_at FROM app_instance_retention_settings WHERE app_instance_id = ?`,
		appInstanceID)
}

// listDueRetentionQuery repeats the conditions of the partial index
// app_instance_retention_settings_due, so that the planner uses it.
const listDueRetentionQuery = `SELECT app_instance_id, channel_retention_days, initiate_deletion_at, updated_at
	FROM app_instance_retention_settings
	WHERE channel_retention_days IS NOT NULL AND initiate_deletion_at IS NOT NULL AND initiate_deletion_at <= ?
	ORDER BY initiate_deletion_at, app_instance_id`

// ListDueRetentionSettings implements store.RetentionSettingsReader.
func (t ReadTx) ListDueRetentionSettings(ctx context.Context, now time.Time) ([]store.RetentionSettings, error) {
	return list(ctx, t, "due retention settings", scanRetention, listDueRetentionQuery, ms(now))
}

// PutRetentionSettings implements store.RetentionSettingsWriter.
func (t Tx) PutRetentionSettings(ctx context.Context, r store.RetentionSettings) error {
	var days, init any
	if r.ChannelRetentionDays != nil {
		days = *r.ChannelRetentionDays
	}
	if r.InitiateDeletionAt != nil {
		init = ms(*r.InitiateDeletionAt)
	}
	_, err := t.exec(ctx, `INSERT INTO app_instance_retention_settings (app_instance_id, channel_retention_days, initiate_deletion_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (app_instance_id) DO UPDATE SET channel_retention_days = excluded.channel_retention_days,
			initiate_deletion_at = excluded.initiate_deletion_at, updated_at = excluded.updated_at`,
		r.AppInstanceID, days, init, ms(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("%s: put retention settings of %s: %w", t.d.Name, r.AppInstanceID, t.d.Translate(err))
	}
	return nil
}
