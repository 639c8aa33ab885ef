package events

import (
	"encoding/json"
	"time"
)

// The websocket payload shapes. They carry the REST API's PascalCase
// field names, but timestamps are ISO-8601 strings with milliseconds
// (websocket-protocol.md §2.5), which is why they are not the chime types.
// Absent members are omitted, as AWS does.

// Time is a payload timestamp, e.g. "2024-05-01T12:00:00.123Z".
type Time struct{ time.Time }

// NewTime returns t as a *Time, or nil for the zero time.
func NewTime(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t}
}

// MarshalJSON writes the ISO-8601 form with milliseconds, in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 timestamp (for tests and clients).
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

// Identity is a user or bot: its ARN and name.
type Identity struct {
	Arn  string `json:"Arn,omitempty"`
	Name string `json:"Name,omitempty"`
}

// MessageStatus is a message's channel-flow status.
type MessageStatus struct {
	Value  string `json:"Value"`
	Detail string `json:"Detail,omitempty"`
}

// AttributeValue is a message attribute's values.
type AttributeValue struct {
	StringValues []string `json:"StringValues"`
}

// Target is the member a targeted message is for.
type Target struct {
	MemberArn string `json:"MemberArn"`
}

// ChannelMessage is the payload of the message events.
type ChannelMessage struct {
	ChannelArn           string                    `json:"ChannelArn"`
	MessageId            string                    `json:"MessageId"`
	Content              *string                   `json:"Content,omitempty"`
	Metadata             *string                   `json:"Metadata,omitempty"`
	Type                 string                    `json:"Type"`
	CreatedTimestamp     *Time                     `json:"CreatedTimestamp,omitempty"`
	LastEditedTimestamp  *Time                     `json:"LastEditedTimestamp,omitempty"`
	LastUpdatedTimestamp *Time                     `json:"LastUpdatedTimestamp,omitempty"`
	Sender               *Identity                 `json:"Sender,omitempty"`
	Redacted             bool                      `json:"Redacted"`
	Persistence          string                    `json:"Persistence,omitempty"`
	Status               *MessageStatus            `json:"Status,omitempty"`
	MessageAttributes    map[string]AttributeValue `json:"MessageAttributes,omitempty"`
	SubChannelId         string                    `json:"SubChannelId,omitempty"`
	ContentType          string                    `json:"ContentType,omitempty"`
	Target               []Target                  `json:"Target,omitempty"`
}

// ElasticChannelConfiguration is an elastic channel's configuration.
type ElasticChannelConfiguration struct {
	MaximumSubChannels             int32 `json:"MaximumSubChannels"`
	TargetMembershipsPerSubChannel int32 `json:"TargetMembershipsPerSubChannel"`
	MinimumMembershipPercentage    int32 `json:"MinimumMembershipPercentage"`
}

// ExpirationSettings is a channel's expiration.
type ExpirationSettings struct {
	ExpirationDays      int32  `json:"ExpirationDays"`
	ExpirationCriterion string `json:"ExpirationCriterion"`
}

// Channel is the payload of UPDATE_CHANNEL and DELETE_CHANNEL.
type Channel struct {
	Name                        string                       `json:"Name,omitempty"`
	ChannelArn                  string                       `json:"ChannelArn"`
	Mode                        string                       `json:"Mode,omitempty"`
	Privacy                     string                       `json:"Privacy,omitempty"`
	Metadata                    string                       `json:"Metadata,omitempty"`
	CreatedBy                   *Identity                    `json:"CreatedBy,omitempty"`
	CreatedTimestamp            *Time                        `json:"CreatedTimestamp,omitempty"`
	LastMessageTimestamp        *Time                        `json:"LastMessageTimestamp,omitempty"`
	LastUpdatedTimestamp        *Time                        `json:"LastUpdatedTimestamp,omitempty"`
	ChannelFlowArn              string                       `json:"ChannelFlowArn,omitempty"`
	ElasticChannelConfiguration *ElasticChannelConfiguration `json:"ElasticChannelConfiguration,omitempty"`
	ExpirationSettings          *ExpirationSettings          `json:"ExpirationSettings,omitempty"`
}

// ChannelMembership is the payload of CREATE/DELETE/UPDATE_CHANNEL_MEMBERSHIP.
type ChannelMembership struct {
	InvitedBy            *Identity `json:"InvitedBy,omitempty"`
	Type                 string    `json:"Type,omitempty"`
	Member               *Identity `json:"Member,omitempty"`
	ChannelArn           string    `json:"ChannelArn"`
	CreatedTimestamp     *Time     `json:"CreatedTimestamp,omitempty"`
	LastUpdatedTimestamp *Time     `json:"LastUpdatedTimestamp,omitempty"`
	SubChannelId         string    `json:"SubChannelId,omitempty"`
}

// SubChannel is the payload of the streamed CREATE_SUB_CHANNEL and
// DELETE_SUB_CHANNEL records (no websocket event carries it).
type SubChannel struct {
	ChannelArn   string `json:"ChannelArn"`
	SubChannelId string `json:"SubChannelId"`
}

// BatchChannelMemberships is the payload of BATCH_CREATE_CHANNEL_MEMBERSHIP.
type BatchChannelMemberships struct {
	InvitedBy    *Identity  `json:"InvitedBy,omitempty"`
	Type         string     `json:"Type,omitempty"`
	Members      []Identity `json:"Members"`
	ChannelArn   string     `json:"ChannelArn"`
	SubChannelId string     `json:"SubChannelId,omitempty"`
}

// ChannelSummary is a channel in CHANNEL_DETAILS.
type ChannelSummary struct {
	Name                 string `json:"Name,omitempty"`
	ChannelArn           string `json:"ChannelArn"`
	Mode                 string `json:"Mode,omitempty"`
	Privacy              string `json:"Privacy,omitempty"`
	Metadata             string `json:"Metadata,omitempty"`
	LastMessageTimestamp *Time  `json:"LastMessageTimestamp,omitempty"`
}

// ChannelMessageSummary is a message in CHANNEL_DETAILS: ChannelMessage
// without ChannelArn, Persistence and SubChannelId.
type ChannelMessageSummary struct {
	MessageId            string                    `json:"MessageId"`
	Content              *string                   `json:"Content,omitempty"`
	Metadata             *string                   `json:"Metadata,omitempty"`
	Type                 string                    `json:"Type"`
	CreatedTimestamp     *Time                     `json:"CreatedTimestamp,omitempty"`
	LastEditedTimestamp  *Time                     `json:"LastEditedTimestamp,omitempty"`
	LastUpdatedTimestamp *Time                     `json:"LastUpdatedTimestamp,omitempty"`
	Sender               *Identity                 `json:"Sender,omitempty"`
	Redacted             bool                      `json:"Redacted"`
	Status               *MessageStatus            `json:"Status,omitempty"`
	MessageAttributes    map[string]AttributeValue `json:"MessageAttributes,omitempty"`
	ContentType          string                    `json:"ContentType,omitempty"`
	Target               []Target                  `json:"Target,omitempty"`
}

// ChannelMembershipSummary is a member in CHANNEL_DETAILS.
type ChannelMembershipSummary struct {
	Member *Identity `json:"Member,omitempty"`
}

// ChannelDetails is the payload of a prefetch CHANNEL_DETAILS frame.
type ChannelDetails struct {
	Channel                ChannelSummary             `json:"Channel"`
	ChannelMessages        []ChannelMessageSummary    `json:"ChannelMessages"`
	ChannelMemberships     []ChannelMembershipSummary `json:"ChannelMemberships"`
	ReadMarkerTimestamp    *Time                      `json:"ReadMarkerTimestamp,omitempty"`
	ChannelMessagesHasMore bool                       `json:"ChannelMessagesHasMore"`
}

// ProcessorEvent is the event a channel-flow processor receives
// (websocket-protocol.md §5.2), with the optional members AWS may send.
type ProcessorEvent struct {
	EventType      string           `json:"EventType"`
	CallbackId     string           `json:"CallbackId"`
	ChannelMessage ProcessorMessage `json:"ChannelMessage"`
}

// ProcessorMessage is the message in a ProcessorEvent.
type ProcessorMessage struct {
	MessageId           string                    `json:"MessageId"`
	ChannelArn          string                    `json:"ChannelArn"`
	Content             string                    `json:"Content"`
	Metadata            string                    `json:"Metadata,omitempty"`
	Sender              *Identity                 `json:"Sender"`
	Persistence         string                    `json:"Persistence"`
	LastEditedTimestamp *Time                     `json:"LastEditedTimestamp,omitempty"`
	Type                string                    `json:"Type"`
	CreatedTimestamp    *Time                     `json:"CreatedTimestamp"`
	MessageAttributes   map[string]AttributeValue `json:"MessageAttributes,omitempty"`
	ContentType         string                    `json:"ContentType,omitempty"`
	SubChannelId        string                    `json:"SubChannelId,omitempty"`
	Target              []Target                  `json:"Target,omitempty"`
}

// The other shapes of a message are derived from its websocket shape, so
// one conversion from the store's record (the service's) feeds them all.

// Summary is m as CHANNEL_DETAILS lists it.
func (m *ChannelMessage) Summary() ChannelMessageSummary {
	return ChannelMessageSummary{
		MessageId: m.MessageId, Content: m.Content, Metadata: m.Metadata, Type: m.Type,
		CreatedTimestamp: m.CreatedTimestamp, LastEditedTimestamp: m.LastEditedTimestamp, LastUpdatedTimestamp: m.LastUpdatedTimestamp,
		Sender: m.Sender, Redacted: m.Redacted, Status: m.Status, MessageAttributes: m.MessageAttributes,
		ContentType: m.ContentType, Target: m.Target,
	}
}

// ProcessorEvent is m as a channel-flow processor receives it, under
// callbackID.
func (m *ChannelMessage) ProcessorEvent(callbackID string) ProcessorEvent {
	return ProcessorEvent{EventType: "CHANNEL_MESSAGE_EVENT", CallbackId: callbackID, ChannelMessage: ProcessorMessage{
		MessageId: m.MessageId, ChannelArn: m.ChannelArn, Content: deref(m.Content), Metadata: deref(m.Metadata), Sender: m.Sender,
		Persistence: m.Persistence, LastEditedTimestamp: m.LastEditedTimestamp, Type: m.Type, CreatedTimestamp: m.CreatedTimestamp,
		MessageAttributes: m.MessageAttributes, ContentType: m.ContentType, SubChannelId: m.SubChannelId, Target: m.Target,
	}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
