package store

import (
	"context"
	"time"
)

// RetentionSettings are an app instance's message retention settings.
type RetentionSettings struct {
	AppInstanceID string
	// ChannelRetentionDays is nil when channel retention is disabled.
	ChannelRetentionDays *int32
	// InitiateDeletionAt is when deletion starts; nil when disabled.
	InitiateDeletionAt *time.Time
	UpdatedAt          time.Time
}

// RetentionSettingsReader reads retention settings.
type RetentionSettingsReader interface {
	// GetRetentionSettings returns the app instance's settings, or an error
	// wrapping ErrNotFound if none were ever put.
	GetRetentionSettings(ctx context.Context, appInstanceID string) (RetentionSettings, error)

	// ListDueRetentionSettings returns the settings (of any app instance)
	// with retention enabled and InitiateDeletionAt at or before now: the
	// app instances whose old messages the sweeper deletes.
	ListDueRetentionSettings(ctx context.Context, now time.Time) ([]RetentionSettings, error)
}

// RetentionSettingsWriter stores retention settings.
type RetentionSettingsWriter interface {
	// PutRetentionSettings creates or replaces the app instance's settings.
	// It returns an error wrapping ErrNotFound if the app instance does not
	// exist.
	PutRetentionSettings(ctx context.Context, r RetentionSettings) error
}
