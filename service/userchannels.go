package service

import (
	"context"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// The ...ForAppInstanceUser and ...ModeratedByAppInstanceUser operations
// look at channels from one user's side. Their rule is "own ARN unless
// admin" (semantics.md §2.3): any bearer may ask about itself, only an
// AppInstanceAdmin about someone else of its app instance.

// subject resolves the bearer and the user a call asks about (the bearer
// itself when userArn is empty) and applies ownOrAdmin.
func (s *Service) subject(ctx context.Context, tx store.ReadTx, op, bearerArn, userArn string) (b actor, subj store.Actor, appInstanceID string, err error) {
	if b, err = s.resolveBearer(ctx, tx, bearerArn); err != nil {
		return
	}
	appInstanceID = b.ARN.AppInstanceID
	if userArn == "" || userArn == b.String() {
		return b, b.Actor, appInstanceID, nil
	}
	a, err := s.parse("AppInstanceUserArn", userArn, "AppInstanceUser or AppInstanceBot", chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot)
	if err != nil {
		return
	}
	subj = store.Actor{Kind: kindOf(a), ID: a.ID}
	err = ownOrAdmin(ctx, tx, op, b, a)
	return
}

// ownOrAdmin allows b to act on a when a is b, or b is an AppInstanceAdmin
// of a's app instance.
func ownOrAdmin(ctx context.Context, tx store.ReadTx, op string, b actor, a chime.ARN) error {
	if a == b.ARN {
		return nil
	}
	if a.AppInstanceID == b.ARN.AppInstanceID {
		admin, err := isAdmin(ctx, tx, b)
		if err != nil || admin {
			return err
		}
	}
	return chime.Errorf(chime.Forbidden, "Only an AppInstanceAdmin can call %s with an AppInstanceUserArn other than its own; %s is not one.", op, b)
}

// subjectInChannel is subject for the Describe...ForAppInstanceUser pair:
// it also resolves the channel, which must be of the bearer's app instance.
func (s *Service) subjectInChannel(ctx context.Context, tx store.ReadTx, op, channelArn, bearerArn, userArn string) (store.Channel, store.Actor, error) {
	c, err := s.enter(ctx, tx, channelArn, bearerArn)
	if err != nil {
		return c.ch, store.Actor{}, err
	}
	_, subj, _, err := s.subject(ctx, tx, op, bearerArn, userArn)
	return c.ch, subj, err
}

func (s *Service) userMembershipSummary(m store.ChannelMembership) *chime.AppInstanceUserMembershipSummary {
	return &chime.AppInstanceUserMembershipSummary{
		Type: chime.ChannelMembershipType(m.Type), ReadMarkerTimestamp: optTime(m.ReadMarkerAt), SubChannelId: optional(m.SubChannelID),
	}
}

// DescribeChannelMembershipForAppInstanceUser returns a user's membership
// of a channel with the channel's summary.
func (s *Service) DescribeChannelMembershipForAppInstanceUser(ctx context.Context, in *chime.DescribeChannelMembershipForAppInstanceUserRequest) (*chime.DescribeChannelMembershipForAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelMembershipForAppInstanceUser, in); err != nil {
		return nil, err
	}
	var out *chime.ChannelMembershipForAppInstanceUserSummary
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		ch, subj, err := s.subjectInChannel(ctx, tx, "DescribeChannelMembershipForAppInstanceUser", deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
		if err != nil {
			return err
		}
		m, err := tx.GetChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, subj)
		if err != nil {
			return storeErr(err, "ChannelMembership of "+s.actorArn(ch.AppInstanceID, subj)+" in "+deref(in.ChannelArn))
		}
		out = &chime.ChannelMembershipForAppInstanceUserSummary{ChannelSummary: s.channelSummary(ch), AppInstanceUserMembershipSummary: s.userMembershipSummary(m)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelMembershipForAppInstanceUserResponse{ChannelMembership: out}, nil
}

// DescribeChannelModeratedByAppInstanceUser returns the summary of a
// channel the user moderates.
func (s *Service) DescribeChannelModeratedByAppInstanceUser(ctx context.Context, in *chime.DescribeChannelModeratedByAppInstanceUserRequest) (*chime.DescribeChannelModeratedByAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelModeratedByAppInstanceUser, in); err != nil {
		return nil, err
	}
	var out *chime.ChannelModeratedByAppInstanceUserSummary
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		ch, subj, err := s.subjectInChannel(ctx, tx, "DescribeChannelModeratedByAppInstanceUser", deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
		if err != nil {
			return err
		}
		if _, err := tx.GetChannelGrant(ctx, store.Moderator, ch.AppInstanceID, ch.ChannelID, subj); err != nil {
			return storeErr(err, "ChannelModerator "+s.actorArn(ch.AppInstanceID, subj)+" of "+deref(in.ChannelArn))
		}
		out = &chime.ChannelModeratedByAppInstanceUserSummary{ChannelSummary: s.channelSummary(ch)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelModeratedByAppInstanceUserResponse{Channel: out}, nil
}

// ListChannelMembershipsForAppInstanceUser lists the channels a user is a
// member of (HIDDEN memberships included), in the order it joined them.
func (s *Service) ListChannelMembershipsForAppInstanceUser(ctx context.Context, in *chime.ListChannelMembershipsForAppInstanceUserRequest) (*chime.ListChannelMembershipsForAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelMembershipsForAppInstanceUser, in); err != nil {
		return nil, err
	}
	sc := scope("ListChannelMembershipsForAppInstanceUser", deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var items []store.MemberChannel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		_, subj, ai, err := s.subject(ctx, tx, "ListChannelMembershipsForAppInstanceUser", deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
		if err != nil {
			return err
		}
		items, err = tx.ListMembershipsOf(ctx, ai, subj, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	items, next := trim(s, sc, items, n, func(m store.MemberChannel) int64 { return m.Membership.Seq })
	out := &chime.ListChannelMembershipsForAppInstanceUserResponse{ChannelMemberships: make([]chime.ChannelMembershipForAppInstanceUserSummary, 0, len(items)), NextToken: next}
	for _, it := range items {
		out.ChannelMemberships = append(out.ChannelMemberships, chime.ChannelMembershipForAppInstanceUserSummary{
			ChannelSummary: s.channelSummary(it.Channel), AppInstanceUserMembershipSummary: s.userMembershipSummary(it.Membership),
		})
	}
	return out, nil
}

// ListChannelsModeratedByAppInstanceUser lists the channels a user
// moderates, in the order it became their moderator.
func (s *Service) ListChannelsModeratedByAppInstanceUser(ctx context.Context, in *chime.ListChannelsModeratedByAppInstanceUserRequest) (*chime.ListChannelsModeratedByAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelsModeratedByAppInstanceUser, in); err != nil {
		return nil, err
	}
	sc := scope("ListChannelsModeratedByAppInstanceUser", deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var items []store.ModeratedChannel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		_, subj, ai, err := s.subject(ctx, tx, "ListChannelsModeratedByAppInstanceUser", deref(in.ChimeBearer), deref(in.AppInstanceUserArn))
		if err != nil {
			return err
		}
		items, err = tx.ListChannelsModeratedBy(ctx, ai, subj, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	items, next := trim(s, sc, items, n, func(m store.ModeratedChannel) int64 { return m.Grant.Seq })
	out := &chime.ListChannelsModeratedByAppInstanceUserResponse{Channels: make([]chime.ChannelModeratedByAppInstanceUserSummary, 0, len(items)), NextToken: next}
	for _, it := range items {
		out.Channels = append(out.Channels, chime.ChannelModeratedByAppInstanceUserSummary{ChannelSummary: s.channelSummary(it.Channel)})
	}
	return out, nil
}
