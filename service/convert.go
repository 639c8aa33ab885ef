package service

import (
	"encoding/json"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Conversions from store records to the REST shapes (chime) and to the
// websocket payloads (events). Both come from the same record, so the two
// views of a message or channel never disagree.

func (s *Service) channelArn(appInstanceID, channelID string) string {
	return s.arn(appInstanceID, chime.ResourceChannel, channelID).String()
}

func (s *Service) flowArn(appInstanceID, flowID string) string {
	if flowID == "" {
		return ""
	}
	return s.arn(appInstanceID, chime.ResourceChannelFlow, flowID).String()
}

// optTime is t as a *chime.Time, nil for the zero time.
func optTime(t time.Time) *chime.Time {
	if t.IsZero() {
		return nil
	}
	return chime.NewTime(t)
}

func (s *Service) identity(appInstanceID string, a store.Actor, name string) *chime.Identity {
	return &chime.Identity{Arn: ptr(s.actorArn(appInstanceID, a)), Name: ptr(name)}
}

func (s *Service) eventIdentity(appInstanceID string, a store.Actor, name string) *events.Identity {
	return &events.Identity{Arn: s.actorArn(appInstanceID, a), Name: name}
}

func (s *Service) channelOut(ch store.Channel) *chime.Channel {
	out := &chime.Channel{
		ChannelArn:           ptr(s.channelArn(ch.AppInstanceID, ch.ChannelID)),
		Name:                 ptr(ch.Name),
		Mode:                 chime.ChannelMode(ch.Mode),
		Privacy:              chime.ChannelPrivacy(ch.Privacy),
		Metadata:             optional(ch.Metadata),
		CreatedBy:            s.identity(ch.AppInstanceID, store.Actor{Kind: ch.CreatedByKind, ID: ch.CreatedByID}, ch.CreatedByName),
		CreatedTimestamp:     chime.NewTime(ch.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(ch.UpdatedAt),
		LastMessageTimestamp: optTime(ch.LastMessageAt),
		ChannelFlowArn:       optional(s.flowArn(ch.AppInstanceID, ch.FlowID)),
	}
	if e := ch.Elastic; e != nil {
		out.ElasticChannelConfiguration = &chime.ElasticChannelConfiguration{
			MaximumSubChannels: ptr(e.MaximumSubChannels), TargetMembershipsPerSubChannel: ptr(e.TargetMembershipsPerSubChannel),
			MinimumMembershipPercentage: ptr(e.MinimumMembershipPercentage),
		}
	}
	if e := ch.Expiration; e != nil {
		out.ExpirationSettings = &chime.ExpirationSettings{ExpirationCriterion: chime.ExpirationCriterion(e.Criterion), ExpirationDays: ptr(e.Days)}
	}
	return out
}

func (s *Service) channelEventPayload(ch store.Channel) events.Channel {
	out := events.Channel{
		Name:                 ch.Name,
		ChannelArn:           s.channelArn(ch.AppInstanceID, ch.ChannelID),
		Mode:                 string(ch.Mode),
		Privacy:              string(ch.Privacy),
		Metadata:             ch.Metadata,
		CreatedBy:            s.eventIdentity(ch.AppInstanceID, store.Actor{Kind: ch.CreatedByKind, ID: ch.CreatedByID}, ch.CreatedByName),
		CreatedTimestamp:     events.NewTime(ch.CreatedAt),
		LastMessageTimestamp: events.NewTime(ch.LastMessageAt),
		LastUpdatedTimestamp: events.NewTime(ch.UpdatedAt),
		ChannelFlowArn:       s.flowArn(ch.AppInstanceID, ch.FlowID),
	}
	if e := ch.Elastic; e != nil {
		out.ElasticChannelConfiguration = &events.ElasticChannelConfiguration{
			MaximumSubChannels: e.MaximumSubChannels, TargetMembershipsPerSubChannel: e.TargetMembershipsPerSubChannel,
			MinimumMembershipPercentage: e.MinimumMembershipPercentage,
		}
	}
	if e := ch.Expiration; e != nil {
		out.ExpirationSettings = &events.ExpirationSettings{ExpirationDays: e.Days, ExpirationCriterion: string(e.Criterion)}
	}
	return out
}

func (s *Service) channelSummary(ch store.Channel) *chime.ChannelSummary {
	return &chime.ChannelSummary{
		ChannelArn:           ptr(s.channelArn(ch.AppInstanceID, ch.ChannelID)),
		Name:                 ptr(ch.Name),
		Mode:                 chime.ChannelMode(ch.Mode),
		Privacy:              chime.ChannelPrivacy(ch.Privacy),
		Metadata:             optional(ch.Metadata),
		LastMessageTimestamp: optTime(ch.LastMessageAt),
	}
}

func (s *Service) channelSummaryEvent(ch store.Channel) events.ChannelSummary {
	return events.ChannelSummary{
		Name:                 ch.Name,
		ChannelArn:           s.channelArn(ch.AppInstanceID, ch.ChannelID),
		Mode:                 string(ch.Mode),
		Privacy:              string(ch.Privacy),
		Metadata:             ch.Metadata,
		LastMessageTimestamp: events.NewTime(ch.LastMessageAt),
	}
}

func (s *Service) membershipOut(m store.ChannelMembership) *chime.ChannelMembership {
	return &chime.ChannelMembership{
		ChannelArn:           ptr(s.channelArn(m.AppInstanceID, m.ChannelID)),
		Member:               s.identity(m.AppInstanceID, m.Member, m.MemberName),
		InvitedBy:            s.identity(m.AppInstanceID, m.InvitedBy, m.InvitedByName),
		Type:                 chime.ChannelMembershipType(m.Type),
		CreatedTimestamp:     chime.NewTime(m.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(m.UpdatedAt),
		SubChannelId:         optional(m.SubChannelID),
	}
}

func (s *Service) membershipEventPayload(m store.ChannelMembership) events.ChannelMembership {
	return events.ChannelMembership{
		ChannelArn:           s.channelArn(m.AppInstanceID, m.ChannelID),
		Member:               s.eventIdentity(m.AppInstanceID, m.Member, m.MemberName),
		InvitedBy:            s.eventIdentity(m.AppInstanceID, m.InvitedBy, m.InvitedByName),
		Type:                 string(m.Type),
		CreatedTimestamp:     events.NewTime(m.CreatedAt),
		LastUpdatedTimestamp: events.NewTime(m.UpdatedAt),
		SubChannelId:         m.SubChannelID,
	}
}

// attributes decodes a stored MessageAttributes map.
func attributes(js string) map[string]chime.MessageAttributeValue {
	if js == "" {
		return nil
	}
	var out map[string]chime.MessageAttributeValue
	if json.Unmarshal([]byte(js), &out) != nil {
		return nil
	}
	return out
}

func eventAttributes(in map[string]chime.MessageAttributeValue) map[string]events.AttributeValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]events.AttributeValue, len(in))
	for k, v := range in {
		out[k] = events.AttributeValue{StringValues: v.StringValues}
	}
	return out
}

// content is what a message shows of its content and metadata: nothing
// once redacted.
func content(m store.ChannelMessage) (c, md *string) {
	if m.Redacted {
		return nil, nil
	}
	return ptr(m.Content), optional(m.Metadata)
}

func (s *Service) messageOut(m store.ChannelMessage, persistence string) *chime.ChannelMessage {
	c, md := content(m)
	out := &chime.ChannelMessage{
		ChannelArn:           ptr(s.channelArn(m.AppInstanceID, m.ChannelID)),
		MessageId:            ptr(m.MessageID),
		Content:              c,
		Metadata:             md,
		ContentType:          optional(m.ContentType),
		Type:                 chime.ChannelMessageType(m.Type),
		Persistence:          chime.ChannelMessagePersistenceType(persistence),
		Redacted:             m.Redacted,
		Sender:               s.identity(m.AppInstanceID, m.Sender, m.SenderName),
		CreatedTimestamp:     chime.NewTime(m.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(m.UpdatedAt),
		LastEditedTimestamp:  optTime(m.EditedAt),
		Status:               &chime.ChannelMessageStatusStructure{Value: chime.ChannelMessageStatus(m.Status), Detail: optional(m.StatusDetail)},
		MessageAttributes:    attributes(m.Attributes),
		SubChannelId:         optional(m.SubChannelID),
	}
	if m.Target != nil {
		out.Target = []chime.Target{{MemberArn: ptr(s.actorArn(m.AppInstanceID, *m.Target))}}
	}
	return out
}

func (s *Service) messageSummary(m store.ChannelMessage) chime.ChannelMessageSummary {
	full := s.messageOut(m, "")
	return chime.ChannelMessageSummary{
		MessageId: full.MessageId, Content: full.Content, Metadata: full.Metadata, ContentType: full.ContentType,
		Type: full.Type, Redacted: full.Redacted, Sender: full.Sender, Status: full.Status,
		CreatedTimestamp: full.CreatedTimestamp, LastUpdatedTimestamp: full.LastUpdatedTimestamp,
		LastEditedTimestamp: full.LastEditedTimestamp, MessageAttributes: full.MessageAttributes, Target: full.Target,
	}
}

func (s *Service) messageEventPayload(m store.ChannelMessage, persistence string) events.ChannelMessage {
	c, md := content(m)
	out := events.ChannelMessage{
		ChannelArn:           s.channelArn(m.AppInstanceID, m.ChannelID),
		MessageId:            m.MessageID,
		Content:              c,
		Metadata:             md,
		Type:                 string(m.Type),
		CreatedTimestamp:     events.NewTime(m.CreatedAt),
		LastEditedTimestamp:  events.NewTime(m.EditedAt),
		LastUpdatedTimestamp: events.NewTime(m.UpdatedAt),
		Sender:               s.eventIdentity(m.AppInstanceID, m.Sender, m.SenderName),
		Redacted:             m.Redacted,
		Persistence:          persistence,
		Status:               &events.MessageStatus{Value: string(m.Status), Detail: m.StatusDetail},
		MessageAttributes:    eventAttributes(attributes(m.Attributes)),
		SubChannelId:         m.SubChannelID,
		ContentType:          m.ContentType,
	}
	if m.Target != nil {
		out.Target = []events.Target{{MemberArn: s.actorArn(m.AppInstanceID, *m.Target)}}
	}
	return out
}

func (s *Service) messageSummaryEvent(m store.ChannelMessage) events.ChannelMessageSummary {
	p := s.messageEventPayload(m, "")
	return p.Summary()
}

func (s *Service) grantIdentity(g store.ChannelGrant) *chime.Identity {
	return s.identity(g.AppInstanceID, g.Member, g.MemberName)
}
