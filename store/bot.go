package store

import (
	"context"
	"time"
)

// AppInstanceBot is a bot of an app instance.
type AppInstanceBot struct {
	AppInstanceID string
	// BotID is server-generated (a UUIDv4), unique within its app instance.
	BotID    string
	Name     string
	Metadata string
	// Configuration is the bot's configuration as JSON, opaque to the store.
	Configuration []byte
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// AppInstanceBotReader reads bots.
type AppInstanceBotReader interface {
	// GetAppInstanceBot returns the bot, or an error wrapping ErrNotFound.
	GetAppInstanceBot(ctx context.Context, appInstanceID, botID string) (AppInstanceBot, error)

	// ListAppInstanceBots returns one page of the app instance's bots in
	// creation order.
	ListAppInstanceBots(ctx context.Context, appInstanceID string, p Page) ([]AppInstanceBot, error)
}

// AppInstanceBotWriter creates, updates and deletes bots.
type AppInstanceBotWriter interface {
	// CreateAppInstanceBot stores b and returns it with Seq set. It returns
	// an error wrapping ErrConflict if the id is taken in the app instance,
	// or ErrNotFound if the app instance does not exist.
	CreateAppInstanceBot(ctx context.Context, b AppInstanceBot) (AppInstanceBot, error)

	// UpdateAppInstanceBot sets Name, Metadata, Configuration and UpdatedAt
	// of the bot, or returns an error wrapping ErrNotFound.
	UpdateAppInstanceBot(ctx context.Context, b AppInstanceBot) error

	// DeleteAppInstanceBot deletes the bot and what belongs to it (admin
	// role, idempotency records), or returns an error wrapping ErrNotFound.
	// The caller deletes its tags (DeleteAllTags).
	DeleteAppInstanceBot(ctx context.Context, appInstanceID, botID string) error
}
