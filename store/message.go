package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// ChannelMessage is a stored (persistent) message of a channel.
// NON_PERSISTENT messages are never stored.
type ChannelMessage struct {
	AppInstanceID string
	ChannelID     string
	// MessageID is unique across the whole store.
	MessageID   string
	Content     string
	Metadata    string
	ContentType string
	Type        chime.ChannelMessageType
	// Sender is the bearer that sent it, with its name at the time (a
	// sender may be deleted; its messages stay).
	Sender     Actor
	SenderName string
	Redacted   bool
	// Status is SENT, PENDING, FAILED or DENIED (channel flows).
	Status       chime.ChannelMessageStatus
	StatusDetail string
	// Attributes is the JSON of the MessageAttributes map; "" for none.
	Attributes string
	// PushNotification is the JSON of the PushNotificationConfiguration;
	// "" for none.
	PushNotification string
	// Target is the one member the message is targeted at; nil for a
	// message every member sees.
	Target       *Actor
	SubChannelID string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// EditedAt is zero until the message is first edited.
	EditedAt time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
	// ClientToken is the ClientRequestToken of the send that stored the
	// message ("" for none), unique per sender in the channel, and
	// RequestFingerprint the digest of the send's other parameters: a
	// retry finds the message by them (CreateChannelMessageOnce).
	ClientToken        string
	RequestFingerprint string
}

// MessageCursor is a position in a channel's history: messages are ordered
// by (CreatedAt, Seq).
type MessageCursor struct {
	CreatedAt time.Time
	Seq       int64
}

// MessageQuery selects a page of a channel's history.
type MessageQuery struct {
	// Descending lists newest first.
	Descending bool
	// After is the last message of the previous page (in the query's
	// order); nil starts at the first (or, descending, the newest).
	After *MessageCursor
	// NotBefore and NotAfter bound CreatedAt, inclusively; zero is no bound.
	NotBefore, NotAfter time.Time
	// Viewer sees, besides the SENT messages targeted at nobody, the
	// messages it sent (whatever their status) and the SENT messages
	// targeted at it.
	Viewer Actor
	// SubChannelID selects an elastic channel's sub-channel; "" all.
	SubChannelID string
	// Limit is the most messages to return; 0 or less means no limit.
	Limit int
}

// ChannelMessageReader reads messages.
type ChannelMessageReader interface {
	// GetChannelMessage returns the message, or an error wrapping
	// ErrNotFound.
	GetChannelMessage(ctx context.Context, appInstanceID, channelID, messageID string) (ChannelMessage, error)

	// ListChannelMessages returns the messages q selects, in q's order.
	ListChannelMessages(ctx context.Context, appInstanceID, channelID string, q MessageQuery) ([]ChannelMessage, error)

	// GetChannelMessageByToken returns the message sender stored in the
	// channel with ClientToken token, or an error wrapping ErrNotFound.
	GetChannelMessageByToken(ctx context.Context, appInstanceID, channelID string, sender Actor, token string) (ChannelMessage, error)
}

// ChannelMessageWriter creates, updates and deletes messages.
type ChannelMessageWriter interface {
	// CreateChannelMessage stores m and returns it with Seq set. It returns
	// an error wrapping ErrNotFound if the channel does not exist, or
	// ErrConflict if the MessageID is taken.
	CreateChannelMessage(ctx context.Context, m ChannelMessage) (ChannelMessage, error)

	// CreateChannelMessageOnce stores m, whose ClientToken is set, unless
	// its sender already stored a message with that token in the channel
	// or an idempotency record (scope, m.ClientToken) created at or after
	// since exists: then it stores nothing and returns false (the caller
	// reads what holds the token). It returns m with Seq set and true when
	// it stored m, and the errors of CreateChannelMessage.
	CreateChannelMessageOnce(ctx context.Context, m ChannelMessage, scope string, since time.Time) (ChannelMessage, bool, error)

	// ClearChannelMessageToken forgets the ClientToken of a message (its
	// idempotency window has passed, and the token may be used afresh), or
	// returns an error wrapping ErrNotFound.
	ClearChannelMessageToken(ctx context.Context, appInstanceID, channelID, messageID string) error

	// UpdateChannelMessage sets Content, Metadata, ContentType, Redacted,
	// Status, StatusDetail, Attributes, PushNotification, UpdatedAt and
	// EditedAt of the message, or returns an error wrapping ErrNotFound.
	UpdateChannelMessage(ctx context.Context, m ChannelMessage) error

	// DeleteChannelMessage deletes the message, or returns an error wrapping
	// ErrNotFound.
	DeleteChannelMessage(ctx context.Context, appInstanceID, channelID, messageID string) error

	// DeleteChannelMessagesBefore deletes up to limit messages created
	// before t (retention) of the app instance's channels whose ChannelID
	// is from or after it, channel by channel in ChannelID order. It returns
	// how many it deleted and the ChannelID of the last channel it deleted
	// from: the from of the next call, until one deletes fewer than limit.
	// A limit of 0 or less deletes every such message.
	DeleteChannelMessagesBefore(ctx context.Context, appInstanceID, from string, t time.Time, limit int) (n int, last string, err error)
}
