package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/filterrule"
	"github.com/belfryhq/belfry/store"
)

// The outbox: push notifications and streaming records are written to the
// store's delivery queue in the transaction of the change that causes
// them (store.Tx.BeforeCommit, registered by emit), so a committed change
// always has its deliveries and a refused one never does. Package
// delivery hands them to their sinks.

// Streaming data types (semantics.md §9).
const (
	dataTypeChannel        = chime.MessagingDataTypeChannel
	dataTypeChannelMessage = chime.MessagingDataTypeChannelmessage
)

// Events streamed but not told to messaging sessions (semantics.md §9).
const (
	evCreateChannel    = "CREATE_CHANNEL"
	evUpdateExpiration = "UPDATE_CHANNEL_EXPIRATION_SETTINGS"
	evCreateBan        = "CREATE_CHANNEL_BAN"
	evDeleteBan        = "DELETE_CHANNEL_BAN"
	evCreateModerator  = "CREATE_CHANNEL_MODERATOR"
	evDeleteModerator  = "DELETE_CHANNEL_MODERATOR"
	evCreateSubChannel = "CREATE_SUB_CHANNEL"
	evDeleteSubChannel = "DELETE_SUB_CHANNEL"
)

// streamRecord is the documented record of a streaming export.
type streamRecord struct {
	EventType string          `json:"EventType"`
	Payload   json.RawMessage `json:"Payload"`
}

// PushDocument is one push notification to one device, as queued: what a
// push webhook receives, and what the Pinpoint sink turns into
// SendMessages.
type PushDocument struct {
	AppInstanceUserArn string `json:"AppInstanceUserArn"`
	EndpointId         string `json:"EndpointId"`
	// Type is the endpoint's type: APNS, APNS_SANDBOX or GCM.
	Type            string `json:"Type"`
	ResourceArn     string `json:"ResourceArn"`
	DeviceToken     string `json:"DeviceToken,omitempty"`
	VoipDeviceToken string `json:"VoipDeviceToken,omitempty"`
	Title           string `json:"Title,omitempty"`
	Body            string `json:"Body,omitempty"`
	// PushNotificationType is the push's Type: DEFAULT or VOIP.
	PushNotificationType string `json:"PushNotificationType"`
	// PushNotification repeats Title, Body and the push Type in the
	// API's own PushNotificationConfiguration shape.
	PushNotification  *chime.PushNotificationConfiguration `json:"PushNotification"`
	ChannelArn        string                               `json:"ChannelArn"`
	MessageId         string                               `json:"MessageId"`
	MessageAttributes map[string]events.AttributeValue     `json:"MessageAttributes,omitempty"`
	// Data is the payload data AWS documents for Chime pushes.
	Data map[string]string `json:"Data"`
}

// outbox queues the deliveries that evs, committed by tx, cause.
func (s *Service) outbox(ctx context.Context, tx store.Tx, evs []events.Event) error {
	return s.outboxHinted(ctx, tx, evs, nil)
}

// outboxHinted is outbox with what the caller knows; h may be nil.
func (s *Service) outboxHinted(ctx context.Context, tx store.Tx, evs []events.Event, h *outboxHint) error {
	counter := &queuedCounter{Tx: tx}
	defer func() {
		if counter.n > 0 && s.cfg.DeliveriesQueued != nil {
			tx.AfterCommit(s.cfg.DeliveriesQueued)
		}
	}()
	tx = counter
	configs := map[string][]store.StreamingConfiguration{} // by app instance, read once per call
	if h != nil && h.appInstanceID != "" {
		configs[h.appInstanceID] = h.configs
	}
	for _, ev := range evs {
		a, err := chime.ParseARN(ev.ChannelArn)
		if err != nil {
			continue // not a channel event
		}
		for _, r := range streamRecords(ev) {
			cs, ok := configs[a.AppInstanceID]
			if !ok {
				if cs, err = tx.ListStreamingConfigurations(ctx, a.AppInstanceID); err != nil {
					return err
				}
				configs[a.AppInstanceID] = cs
			}
			if err := s.queueRecord(ctx, tx, a.AppInstanceID, ev.ChannelArn, cs, r); err != nil {
				return err
			}
		}
		// STANDARD messages push, persistent or not (semantics.md §3); a
		// NON_PERSISTENT one only from its send, the one place that holds
		// it (a flow's later SENT finds nothing stored to push).
		var m *store.ChannelMessage
		if h != nil {
			m = h.msg
		}
		if ev.Type == evCreateMessage && ev.MessageType == string(chime.ChannelMessageTypeStandard) &&
			(ev.Persistence == string(chime.ChannelMessagePersistenceTypePersistent) || m != nil) {
			if err := s.queuePushes(ctx, tx, a, ev, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// queuedCounter counts the deliveries a transaction queues, so that only
// those that queued some wake the worker.
type queuedCounter struct {
	store.Tx
	n int
}

func (c *queuedCounter) CreateDelivery(ctx context.Context, d store.Delivery) (int64, error) {
	c.n++
	return c.Tx.CreateDelivery(ctx, d)
}

// taggedRecord is a record with the data type it belongs to.
type taggedRecord struct {
	dataType chime.MessagingDataType
	rec      streamRecord
}

// streamRecords returns the streaming records of ev: persistent message
// changes (ChannelMessage), channel and membership changes (Channel).
// Flow statuses told to the sender alone (PENDING_, DENIED_, FAILED_) and
// NON_PERSISTENT messages are not streamed (semantics.md §9).
func streamRecords(ev events.Event) []taggedRecord {
	one := func(dt chime.MessagingDataType) []taggedRecord {
		return []taggedRecord{{dt, streamRecord{ev.Type, ev.Payload}}}
	}
	switch ev.Type {
	case evCreateMessage, evUpdateMessage, evRedactMessage, evDeleteMessage:
		if ev.Persistence == string(chime.ChannelMessagePersistenceTypePersistent) {
			return one(dataTypeChannelMessage)
		}
	case evCreateChannel, evUpdateChannel, evDeleteChannel, evUpdateExpiration,
		evCreateMembership, evDeleteMembership,
		evCreateBan, evDeleteBan, evCreateModerator, evDeleteModerator,
		evCreateSubChannel, evDeleteSubChannel:
		return one(dataTypeChannel)
	case evBatchMembership:
		// The stream knows no batch event: one CREATE_CHANNEL_MEMBERSHIP
		// per member added.
		var b events.BatchChannelMemberships
		if err := json.Unmarshal(ev.Payload, &b); err != nil {
			return nil
		}
		out := make([]taggedRecord, 0, len(b.Members))
		for _, m := range b.Members {
			p := payload(events.ChannelMembership{InvitedBy: b.InvitedBy, Type: b.Type, Member: &m, ChannelArn: b.ChannelArn, SubChannelId: b.SubChannelId})
			out = append(out, taggedRecord{dataTypeChannel, streamRecord{evCreateMembership, p}})
		}
		return out
	}
	return nil
}

// queueRecord queues r to the stream configured for its data type, if any.
func (s *Service) queueRecord(ctx context.Context, tx store.Tx, appInstanceID, channelArn string, cs []store.StreamingConfiguration, r taggedRecord) error {
	for _, c := range cs {
		if c.DataType != r.dataType {
			continue
		}
		now := s.now()
		_, err := tx.CreateDelivery(ctx, store.Delivery{
			Kind: store.DeliveryStream, AppInstanceID: appInstanceID, ChannelArn: channelArn,
			// One stream's records of one channel go in commit order.
			OrderKey: c.ResourceArn + " " + channelArn, Target: c.ResourceArn, PartitionKey: channelArn,
			Body: string(payload(r.rec)), State: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// streamOnly queues the streaming records of a change that no messaging
// session hears of (CREATE_CHANNEL, bans, moderators, expiration).
func (s *Service) streamOnly(tx store.Tx, ev events.Event) {
	tx.BeforeCommit(func(ctx context.Context) error { return s.outbox(ctx, tx, []events.Event{ev}) })
}

// queuePushes decides, member by member and device by device, who gets
// the push of a new message, and queues one delivery per device
// (semantics.md §3.9): every member, the sender included (only the sender
// and the target of a targeted message), whose preference allows it
// (ALL, the default; FILTERED when the rule matches the message's
// attributes; never NONE), on each endpoint that allows messages. A VOIP
// push goes to the VoIP token of endpoints that have one.
//
// known is the message when the caller has it (a send); otherwise it is
// read back.
func (s *Service) queuePushes(ctx context.Context, tx store.Tx, ch chime.ARN, ev events.Event, known *store.ChannelMessage) error {
	if known != nil && known.PushNotification == "" {
		return nil // the common case: no push, nothing to decode
	}
	var p events.ChannelMessage
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return err
	}
	var m store.ChannelMessage
	if known != nil && known.MessageID == p.MessageId {
		m = *known
	} else {
		var err error
		m, err = tx.GetChannelMessage(ctx, ch.AppInstanceID, ch.ID, p.MessageId)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || m.PushNotification == "" {
			return err
		}
	}
	var push chime.PushNotificationConfiguration
	if err := json.Unmarshal([]byte(m.PushNotification), &push); err != nil {
		return fmt.Errorf("push notification of message %s: %w", m.MessageID, err)
	}
	if push.Type == "" {
		push.Type = chime.PushNotificationTypeDefault
	}
	attrs := map[string][]string{}
	for k, v := range p.MessageAttributes {
		attrs[k] = v.StringValues
	}
	// Only the sender and the target hear of a targeted message.
	var only []string
	if m.Target != nil {
		only = []string{}
		for _, a := range []store.Actor{m.Sender, *m.Target} {
			if a.Kind == store.MemberUser {
				only = append(only, a.ID)
			}
		}
	}
	targets, err := tx.ListChannelPushTargets(ctx, ch.AppInstanceID, ch.ID, m.SubChannelID, only)
	if err != nil {
		return err
	}
	now := s.now()
	wants := map[string]bool{} // by user, each preference decided once
	for _, pt := range targets {
		e := pt.Endpoint
		want, ok := wants[e.UserID]
		if !ok {
			want = wantsPush(pt.Preferences, attrs)
			wants[e.UserID] = want
		}
		if !want || e.AllowMessages == string(chime.AllowMessagesNone) {
			continue
		}
		doc := PushDocument{
			AppInstanceUserArn: s.userArn(ch.AppInstanceID, e.UserID), EndpointId: e.EndpointID,
			Type: string(e.Type), ResourceArn: e.ResourceArn, Title: deref(push.Title), Body: deref(push.Body),
			PushNotificationType: string(push.Type), PushNotification: &push, ChannelArn: ev.ChannelArn, MessageId: m.MessageID,
			MessageAttributes: p.MessageAttributes,
			Data:              map[string]string{"chime.message_id": m.MessageID, "chime.channel_arn": ev.ChannelArn},
		}
		if push.Type == chime.PushNotificationTypeVoip {
			if e.VoipDeviceToken == "" {
				continue // nowhere to ring
			}
			doc.VoipDeviceToken = e.VoipDeviceToken
		} else {
			doc.DeviceToken = e.DeviceToken
		}
		if _, err := tx.CreateDelivery(ctx, store.Delivery{
			Kind: store.DeliveryPush, AppInstanceID: ch.AppInstanceID, ChannelArn: ev.ChannelArn,
			Body: string(payload(doc)), State: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			return err
		}
	}
	return nil
}

// wantsPush applies a member's push preference to a message's attributes.
func wantsPush(prefsJSON string, attrs map[string][]string) bool {
	if prefsJSON == "" {
		return true
	}
	var prefs chime.ChannelMembershipPreferences
	if err := json.Unmarshal([]byte(prefsJSON), &prefs); err != nil || prefs.PushNotifications == nil {
		return true
	}
	switch prefs.PushNotifications.AllowNotifications {
	case chime.AllowNotificationsNone:
		return false
	case chime.AllowNotificationsFiltered:
		r, err := filterrule.Parse(deref(prefs.PushNotifications.FilterRule))
		if err != nil {
			return false // stored rules were valid when put; a bad one sends nothing rather than everything
		}
		return r.Match(attrs)
	}
	return true
}

// grantPayload is the streamed ChannelBan or ChannelModerator.
type grantPayload struct {
	ChannelArn       string           `json:"ChannelArn"`
	Member           *events.Identity `json:"Member,omitempty"`
	Moderator        *events.Identity `json:"Moderator,omitempty"`
	CreatedBy        *events.Identity `json:"CreatedBy,omitempty"`
	CreatedTimestamp *events.Time     `json:"CreatedTimestamp,omitempty"`
}

// subChannelStreamEvent is the streamed CREATE_ or DELETE_SUB_CHANNEL of an
// elastic channel's scale-out or scale-in: the channel and the sub-channel
// (semantics.md §9). No session hears it, so it is streamOnly.
func subChannelStreamEvent(typ, channelArn, subChannelID string) events.Event {
	p := events.SubChannel{ChannelArn: channelArn, SubChannelId: subChannelID}
	return events.Event{Type: typ, MessageType: systemMessage, ChannelArn: channelArn, Payload: payload(p)}
}

// grantStreamEvent is the streamed CREATE_ or DELETE_ CHANNEL_BAN or
// CHANNEL_MODERATOR of g.
func (s *Service) grantStreamEvent(ops grantOps, created bool, g store.ChannelGrant) events.Event {
	arn := s.channelArn(g.AppInstanceID, g.ChannelID)
	who := &events.Identity{Arn: s.actorArn(g.AppInstanceID, g.Member), Name: g.MemberName}
	p := grantPayload{ChannelArn: arn, CreatedBy: &events.Identity{Arn: s.actorArn(g.AppInstanceID, g.CreatedBy), Name: g.CreatedByName},
		CreatedTimestamp: &events.Time{Time: g.CreatedAt}}
	typ := evCreateBan
	if ops.kind == store.Moderator {
		p.Moderator, typ = who, evCreateModerator
	} else {
		p.Member = who
	}
	if !created {
		typ = "DELETE" + typ[len("CREATE"):]
	}
	return events.Event{Type: typ, MessageType: systemMessage, ChannelArn: arn, Payload: payload(p)}
}
