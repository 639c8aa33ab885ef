package service

import (
	"context"
	"sort"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Prefetch limits (semantics.md §7: AWS's soft limits).
const (
	prefetchChannels    = 50
	prefetchMessages    = 20
	prefetchMemberships = 30
)

// GetMessagingSessionEndpoint returns the websocket's public host[:port],
// bare, as amazon-chime-sdk-js signs and dials it.
func (s *Service) GetMessagingSessionEndpoint(ctx context.Context, in *chime.GetMessagingSessionEndpointRequest) (*chime.GetMessagingSessionEndpointResponse, error) {
	if err := s.permit(ctx, chime.OpGetMessagingSessionEndpoint, in); err != nil {
		return nil, err
	}
	if s.cfg.MessagingEndpoint == "" {
		return nil, chime.Errorf(chime.ServiceUnavailable, "This server has no messaging-session endpoint configured.")
	}
	return &chime.GetMessagingSessionEndpointResponse{Endpoint: &chime.MessagingSessionEndpoint{Url: ptr(s.cfg.MessagingEndpoint)}}, nil
}

// sessionUser resolves the user or bot a messaging session connects as:
// one that does not exist is ForbiddenException (the socket closes 4003).
func (s *Service) sessionUser(ctx context.Context, tx store.ReadTx, userArn string) (actor, error) {
	a, err := s.parse("userArn", userArn, "AppInstanceUser or AppInstanceBot", chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot)
	if err == nil {
		var u actor
		if u, err = lookupActor(ctx, tx, a); err == nil {
			return u, nil
		}
	}
	return actor{}, chime.Errorf(chime.Forbidden, "%s is not an AppInstanceUser or AppInstanceBot of this server.", userArn)
}

// sessionMemberships resolves a session's user and lists all its
// memberships, with their channels.
func (s *Service) sessionMemberships(ctx context.Context, tx store.ReadTx, userArn string) (actor, []store.MemberChannel, error) {
	u, err := s.sessionUser(ctx, tx, userArn)
	if err != nil {
		return u, nil, err
	}
	mcs, err := tx.ListMembershipsOf(ctx, u.ARN.AppInstanceID, u.Actor, store.Page{})
	return u, mcs, err
}

// SessionChannels is what the real-time layer asks when a messaging session
// connects as userArn: it checks that userArn names an existing
// AppInstanceUser or AppInstanceBot (ForbiddenException otherwise) and
// returns the ARNs of every channel it is a member of.
func (s *Service) SessionChannels(ctx context.Context, userArn string) ([]string, error) {
	var out []string
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		_, mcs, err := s.sessionMemberships(ctx, tx, userArn)
		if err != nil {
			return err
		}
		out = make([]string, 0, len(mcs))
		for _, mc := range mcs {
			// An elastic channel's member hears its sub-channel.
			out = append(out, events.AudienceKey(s.channelArn(mc.Channel.AppInstanceID, mc.Channel.ChannelID), mc.Membership.SubChannelID))
		}
		return nil
	})
	return out, err
}

// Prefetch returns the CHANNEL_DETAILS payloads of a session that asked for
// prefetch-on=connect: up to 50 channels of userArn, chosen by sortBy
// ("unread", the default: channels with messages newer than the read
// marker first, then by last message; or "last-message-timestamp"), each
// with its latest 20 messages the user can see and 30 members.
func (s *Service) Prefetch(ctx context.Context, userArn, sortBy string) ([]events.ChannelDetails, error) {
	var out []events.ChannelDetails
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		u, mcs, err := s.sessionMemberships(ctx, tx, userArn)
		if err != nil {
			return err
		}
		unread := func(mc store.MemberChannel) bool {
			return !mc.Channel.LastMessageAt.IsZero() && mc.Channel.LastMessageAt.After(mc.Membership.ReadMarkerAt)
		}
		sort.SliceStable(mcs, func(i, j int) bool {
			if sortBy != "last-message-timestamp" {
				if ui, uj := unread(mcs[i]), unread(mcs[j]); ui != uj {
					return ui
				}
			}
			return mcs[i].Channel.LastMessageAt.After(mcs[j].Channel.LastMessageAt)
		})
		if len(mcs) > prefetchChannels {
			mcs = mcs[:prefetchChannels]
		}
		cutoff, err := s.retentionCutoff(ctx, tx, u.ARN.AppInstanceID)
		if err != nil {
			return err
		}
		out = make([]events.ChannelDetails, 0, len(mcs))
		for _, mc := range mcs {
			ch := mc.Channel
			// In an elastic channel, the member's sub-channel is its
			// channel: its messages and its members only.
			sub := mc.Membership.SubChannelID
			msgs, err := tx.ListChannelMessages(ctx, ch.AppInstanceID, ch.ChannelID, store.MessageQuery{
				Descending: true, Viewer: u.Actor, NotBefore: cutoff, Limit: prefetchMessages + 1, SubChannelID: sub,
			})
			if err != nil {
				return err
			}
			var mems []store.ChannelMembership
			if sub != "" {
				mems, err = tx.ListSubChannelMemberships(ctx, ch.AppInstanceID, ch.ChannelID, sub, store.Page{Limit: prefetchMemberships})
			} else {
				mems, err = tx.ListChannelMemberships(ctx, ch.AppInstanceID, ch.ChannelID, string(chime.ChannelMembershipTypeDefault), store.Page{Limit: prefetchMemberships})
			}
			if err != nil {
				return err
			}
			d := events.ChannelDetails{
				Channel:                s.channelSummaryEvent(ch),
				ChannelMessagesHasMore: len(msgs) > prefetchMessages,
				ChannelMessages:        make([]events.ChannelMessageSummary, 0, len(msgs)),
				ChannelMemberships:     make([]events.ChannelMembershipSummary, 0, len(mems)),
				ReadMarkerTimestamp:    events.NewTime(mc.Membership.ReadMarkerAt),
			}
			if d.ChannelMessagesHasMore {
				msgs = msgs[:prefetchMessages]
			}
			for _, m := range msgs {
				d.ChannelMessages = append(d.ChannelMessages, s.messageSummaryEvent(m))
			}
			for _, m := range mems {
				d.ChannelMemberships = append(d.ChannelMemberships, events.ChannelMembershipSummary{Member: s.eventIdentity(m.AppInstanceID, m.Member, m.MemberName)})
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}
