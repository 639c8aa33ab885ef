// Package events defines what the messaging service tells the real-time
// layer after a change commits: the documented websocket event (type,
// headers, payload), who must receive it, and how it changes channel
// membership. A Bus carries events from the node that committed the change
// to every node's sessions (in process today; NATS when Belfry runs on
// several nodes).
//
// The package knows nothing of HTTP, websockets or the store.
package events

import "encoding/json"

// Event is one committed change as the messaging session delivers it.
type Event struct {
	// ID identifies the event: unique within a deployment's store and
	// increasing in commit order (the outbox assigns it). Delivery is at
	// least once, so a receiver drops an ID it has seen (Dedup). 0 means
	// unassigned: such an event is never treated as a duplicate.
	ID uint64
	// Type is the x-amz-chime-event-type header, e.g. CREATE_CHANNEL_MESSAGE.
	Type string
	// MessageType is the x-amz-chime-message-type header: STANDARD or
	// CONTROL for message events, SYSTEM for everything else.
	MessageType string
	// Reason is the optional x-amz-chime-event-reason header.
	Reason string
	// Persistence is the optional x-amz-chime-persistence-type header of
	// message events (PERSISTENT | NON_PERSISTENT); "" omits it.
	Persistence string
	// ChannelArn is the channel the event belongs to.
	ChannelArn string
	// SubChannelID, when set, scopes the event to one sub-channel of an
	// elastic channel: Members then addresses that sub-channel's members,
	// and Joined and Left change membership of that sub-channel (see
	// Audience).
	SubChannelID string
	// FromSubChannelID, with SubChannelID, moves the Joined ARNs out of
	// that other sub-channel of ChannelArn before they join SubChannelID:
	// an elastic channel's transfer.
	FromSubChannelID string
	// Payload is the JSON object sent, as a string, in the frame's Payload.
	Payload []byte

	// Members addresses the event to every member (DEFAULT and HIDDEN) of
	// ChannelArn, as the receiving node knows them once Joined is applied.
	Members bool
	// Users addresses the event to these member ARNs (users or bots), in
	// addition to the channel's members when Members is set: the sender
	// and target of a targeted message, the sender of a PENDING message,
	// the member a hidden membership event concerns.
	Users []string

	// Joined lists the ARNs that became members of ChannelArn with this
	// change; they are added to the channel before the event is delivered,
	// so a new member receives its own CREATE_CHANNEL_MEMBERSHIP.
	Joined []string
	// Left lists the ARNs that stopped being members of ChannelArn with
	// this change (left, removed, banned); they are removed after the
	// event is delivered, so a removed member learns of its removal and
	// then nothing more of the channel.
	Left []string
	// ChannelDeleted says the channel is gone: after delivery, every
	// session forgets it.
	ChannelDeleted bool
}

// Audience is the key of the group Members, Joined and Left refer to: the
// channel, or one of its sub-channels.
func (e *Event) Audience() string { return AudienceKey(e.ChannelArn, e.SubChannelID) }

// AudienceKey names the real-time audience of a channel ("" subChannelID)
// or of one sub-channel of an elastic channel. A sub-channel's key is the
// channel ARN, "#", and the sub-channel id: '#' never occurs in a channel
// ARN (the ChannelId pattern excludes it), so keys cannot collide, and a
// channel's sub-channel keys share the prefix SubChannelKeyPrefix.
func AudienceKey(channelArn, subChannelID string) string {
	if subChannelID == "" {
		return channelArn
	}
	return SubChannelKeyPrefix(channelArn) + subChannelID
}

// SubChannelKeyPrefix is what the keys of channelArn's sub-channels start
// with.
func SubChannelKeyPrefix(channelArn string) string { return channelArn + "#" }

// Encode is the event as the outbox keeps it (its JSON, as json.Marshal
// writes it); Decode reads it back.
func Encode(e *Event) ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 256+len(e.ChannelArn)+len(e.Payload)*4/3)), nil
}

// Decode reads an event written by Encode.
func Decode(b []byte) (Event, error) {
	var e Event
	if decodeFast(b, &e) {
		return e, nil
	}
	return decodeJSON(b)
}

func decodeJSON(b []byte) (Event, error) {
	var e Event
	err := json.Unmarshal(b, &e)
	return e, err
}
