package service

import (
	"context"
	"encoding/json"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Event types of the messaging session (websocket-protocol.md §2.4).
const (
	evCreateMessage    = "CREATE_CHANNEL_MESSAGE"
	evUpdateMessage    = "UPDATE_CHANNEL_MESSAGE"
	evRedactMessage    = "REDACT_CHANNEL_MESSAGE"
	evDeleteMessage    = "DELETE_CHANNEL_MESSAGE"
	evUpdateChannel    = "UPDATE_CHANNEL"
	evDeleteChannel    = "DELETE_CHANNEL"
	evCreateMembership = "CREATE_CHANNEL_MEMBERSHIP"
	evDeleteMembership = "DELETE_CHANNEL_MEMBERSHIP"
	evBatchMembership  = "BATCH_CREATE_CHANNEL_MEMBERSHIP"
	systemMessage      = "SYSTEM"
)

// emit records evs as part of tx: in the outbox, from which the relay
// publishes them on the bus once tx commits (never if it does not), and as
// the push notifications and streaming records they cause (outbox.go).
// Both are written by one BeforeCommit function in the transaction, so a
// committed change has all its events and deliveries, and a crash between
// the commit and the publish loses none.
func (s *Service) emit(tx store.Tx, evs ...events.Event) {
	s.emitHinted(tx, nil, evs...)
}

// outboxHint is what the caller of emit already knows and the outbox
// would otherwise read back: the message a CREATE_CHANNEL_MESSAGE event
// carries (its push notification, target and sub-channel), and the
// streaming configurations of an app instance, as the caller's
// transaction reads them.
type outboxHint struct {
	msg           *store.ChannelMessage
	appInstanceID string
	configs       []store.StreamingConfiguration
}

// emitHinted is emit with what the caller knows; h may be nil.
func (s *Service) emitHinted(tx store.Tx, h *outboxHint, evs ...events.Event) {
	if len(evs) == 0 {
		return
	}
	tx.BeforeCommit(func(ctx context.Context) error {
		if s.cfg.EventsCommitted != nil {
			data := make([][]byte, len(evs))
			for i := range evs {
				b, err := events.Encode(&evs[i])
				if err != nil {
					return err
				}
				data[i] = b
			}
			last, err := tx.AppendOutbox(ctx, data...)
			if err != nil {
				return err
			}
			tx.AfterCommit(func() { s.cfg.EventsCommitted(last, evs) })
		}
		return s.outboxHinted(ctx, tx, evs, h)
	})
}

// payload encodes an event payload. The shapes are plain structs and
// always encode.
func payload(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// messagePayload encodes a message event's payload with its hand-written
// encoder: a send encodes it inside the store's single writer.
func (s *Service) messagePayload(m store.ChannelMessage, persistence string) []byte {
	p := s.messageEventPayload(m, persistence)
	return p.AppendJSON(make([]byte, 0, 384+len(m.Content)+len(m.Metadata)+len(m.Attributes)))
}

// messageEvent is a message event: to every member (of the message's
// sub-channel, in an elastic channel), or only to the sender and target
// of a targeted message.
func (s *Service) messageEvent(typ string, m store.ChannelMessage, persistence string) events.Event {
	e := events.Event{
		Type:        typ,
		MessageType: string(m.Type),
		Persistence: persistence,
		ChannelArn:  s.channelArn(m.AppInstanceID, m.ChannelID),
		Payload:     s.messagePayload(m, persistence),
	}
	if m.Target != nil {
		e.Users = []string{s.actorArn(m.AppInstanceID, m.Sender), s.actorArn(m.AppInstanceID, *m.Target)}
	} else {
		e.Members, e.SubChannelID = true, m.SubChannelID
	}
	return e
}

// channelEvent is UPDATE_CHANNEL or DELETE_CHANNEL, to every member.
func (s *Service) channelEvent(typ string, ch store.Channel) events.Event {
	return events.Event{
		Type:           typ,
		MessageType:    systemMessage,
		ChannelArn:     s.channelArn(ch.AppInstanceID, ch.ChannelID),
		Payload:        payload(s.channelEventPayload(ch)),
		Members:        true,
		ChannelDeleted: typ == evDeleteChannel,
	}
}

// membershipEvent is CREATE_ or DELETE_CHANNEL_MEMBERSHIP: to every member
// and the member concerned, who joins before or leaves after delivery. A
// hidden member's comings and goings are told to it alone, since hidden
// members are not part of the visible membership.
func (s *Service) membershipEvent(typ string, m store.ChannelMembership) events.Event {
	arn := s.actorArn(m.AppInstanceID, m.Member)
	e := events.Event{
		Type:        typ,
		MessageType: systemMessage,
		ChannelArn:  s.channelArn(m.AppInstanceID, m.ChannelID),
		Payload:     payload(s.membershipEventPayload(m)),
		Users:       []string{arn},
		Members:     m.Type != chime.ChannelMembershipTypeHidden,
	}
	if typ == evCreateMembership {
		e.Joined = []string{arn}
	} else {
		e.Left = []string{arn}
	}
	return e
}

// batchMembershipEvent is BATCH_CREATE_CHANNEL_MEMBERSHIP for the members
// a batch added.
func (s *Service) batchMembershipEvent(ch store.Channel, typ string, invitedBy actor, added []store.ChannelMembership) events.Event {
	p := events.BatchChannelMemberships{
		InvitedBy:  &events.Identity{Arn: invitedBy.String(), Name: invitedBy.Name},
		Type:       typ,
		ChannelArn: s.channelArn(ch.AppInstanceID, ch.ChannelID),
		Members:    make([]events.Identity, 0, len(added)),
	}
	joined := make([]string, 0, len(added))
	for _, m := range added {
		arn := s.actorArn(m.AppInstanceID, m.Member)
		p.Members = append(p.Members, events.Identity{Arn: arn, Name: m.MemberName})
		joined = append(joined, arn)
	}
	e := events.Event{
		Type:        evBatchMembership,
		MessageType: systemMessage,
		ChannelArn:  p.ChannelArn,
		Payload:     payload(p),
		Joined:      joined,
	}
	if typ == string(chime.ChannelMembershipTypeHidden) {
		e.Users = joined
	} else {
		e.Members = true
	}
	return e
}
