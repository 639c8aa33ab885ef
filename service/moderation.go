package service

import (
	"context"
	"errors"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// Moderators and bans are both grants (store.ChannelGrant): the four
// operations of each share one implementation, parameterised by grantOps.

// grantOps names one kind of grant for the shared implementation.
type grantOps struct {
	kind  store.GrantKind
	noun  string // for messages: "ChannelModerator", "ChannelBan"
	field string // the input member naming the user or bot
	// create, describe, list, del are the matrix rows.
	create, describe, list, del *chime.Operation
}

var (
	moderatorOps = grantOps{store.Moderator, "ChannelModerator", "ChannelModeratorArn",
		chime.OpCreateChannelModerator, chime.OpDescribeChannelModerator, chime.OpListChannelModerators, chime.OpDeleteChannelModerator}
	banOps = grantOps{store.Ban, "ChannelBan", "MemberArn",
		chime.OpCreateChannelBan, chime.OpDescribeChannelBan, chime.OpListChannelBans, chime.OpDeleteChannelBan}
)

// createGrant adds a moderator or ban; check vets the member first (a ban
// may not target admins or moderators).
func (s *Service) createGrant(ctx context.Context, g grantOps, channelArn, bearerArn, memberArn string,
	check func(context.Context, store.Tx, inChannel, actor) error) (store.ChannelGrant, error) {
	var out store.ChannelGrant
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enter(ctx, tx, channelArn, bearerArn)
		if err != nil {
			return err
		}
		if err := c.require(g.create, false); err != nil {
			return err
		}
		m, err := s.resolveMember(ctx, tx, g.field, memberArn, c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		if _, err := tx.GetChannelGrant(ctx, g.kind, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
			return conflict("%s %s already exists in channel %s.", g.noun, m, c.arn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := check(ctx, tx, c, m); err != nil {
			return err
		}
		out, err = tx.CreateChannelGrant(ctx, g.kind, store.ChannelGrant{
			AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID, Member: m.Actor,
			CreatedBy: c.bearer.Actor, CreatedByName: c.bearer.Name, CreatedAt: s.now(),
		})
		if err == nil {
			named := out
			named.MemberName = m.Name
			s.streamOnly(tx, s.grantStreamEvent(g, true, named))
		}
		return storeErr(err, g.noun+" "+m.String())
	})
	return out, err
}

// describeGrant returns one moderator or ban.
func (s *Service) describeGrant(ctx context.Context, g grantOps, channelArn, bearerArn, memberArn string) (store.ChannelGrant, error) {
	var out store.ChannelGrant
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enter(ctx, tx, channelArn, bearerArn)
		if err != nil {
			return err
		}
		if err := c.require(g.describe, false); err != nil {
			return err
		}
		m, err := s.memberRef(g.field, memberArn, c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		out, err = tx.GetChannelGrant(ctx, g.kind, c.ch.AppInstanceID, c.ch.ChannelID, m)
		return storeErr(err, g.noun+" "+memberArn+" of channel "+channelArn)
	})
	return out, err
}

// listGrants returns one page of a channel's moderators or bans.
func (s *Service) listGrants(ctx context.Context, g grantOps, channelArn, bearerArn string, maxResults *int32, nextToken *string) ([]store.ChannelGrant, *string, error) {
	sc := scope(g.list.Name, channelArn, bearerArn)
	p, n, err := s.page(sc, maxResults, nextToken)
	if err != nil {
		return nil, nil, err
	}
	var out []store.ChannelGrant
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enter(ctx, tx, channelArn, bearerArn)
		if err != nil {
			return err
		}
		if err := c.require(g.list, false); err != nil {
			return err
		}
		out, err = tx.ListChannelGrants(ctx, g.kind, c.ch.AppInstanceID, c.ch.ChannelID, p)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	out, next := trim(s, sc, out, n, func(g store.ChannelGrant) int64 { return g.Seq })
	return out, next, nil
}

// deleteGrant removes a moderator or ban; one that does not exist is
// already removed, so the call succeeds (a retry does not fail).
func (s *Service) deleteGrant(ctx context.Context, g grantOps, channelArn, bearerArn, memberArn string) error {
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enter(ctx, tx, channelArn, bearerArn)
		if err != nil {
			return err
		}
		if err := c.require(g.del, false); err != nil {
			return err
		}
		m, err := s.memberRef(g.field, memberArn, c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		err = tx.DeleteChannelGrant(ctx, g.kind, c.ch.AppInstanceID, c.ch.ChannelID, m)
		if err == nil {
			s.streamOnly(tx, s.grantStreamEvent(g, false, store.ChannelGrant{AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID,
				Member: m, CreatedBy: c.bearer.Actor, CreatedByName: c.bearer.Name, CreatedAt: s.now()}))
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if g.kind == store.Moderator && c.ch.Elastic != nil {
			// Demoting, too, removes its memberships (DG:elastic): it
			// joined sub-channels of its choice, as members may not.
			return s.leaveElastic(ctx, tx, c.ch, m, "")
		}
		return nil
	})
}

// CreateChannelModerator makes a user or bot a moderator of the channel.
// It need not be a member (moderators receive the channel's events only if
// they are), and cannot be banned.
func (s *Service) CreateChannelModerator(ctx context.Context, in *chime.CreateChannelModeratorRequest) (*chime.CreateChannelModeratorResponse, error) {
	if err := s.permit(ctx, chime.OpCreateChannelModerator, in); err != nil {
		return nil, err
	}
	g, err := s.createGrant(ctx, moderatorOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.ChannelModeratorArn),
		func(ctx context.Context, tx store.Tx, c inChannel, m actor) error {
			if _, err := tx.GetChannelGrant(ctx, store.Ban, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
				return chime.Errorf(chime.Forbidden, "%s is banned from channel %s and cannot be its moderator; DeleteChannelBan first.", m, c.arn)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			n, err := tx.CountChannelGrants(ctx, store.Moderator, c.ch.AppInstanceID, c.ch.ChannelID)
			if err != nil {
				return err
			}
			if n >= MaxModeratorsPerChannel {
				return limitExceeded("Channel %s already has the maximum of %d moderators.", c.arn, MaxModeratorsPerChannel)
			}
			if c.ch.Elastic != nil {
				// "Promoting a member to moderator removes all existing
				// channel memberships for that member" (DG:elastic).
				return s.leaveElastic(ctx, tx, c.ch, m.Actor, "")
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &chime.CreateChannelModeratorResponse{ChannelArn: in.ChannelArn, ChannelModerator: s.grantIdentity(g)}, nil
}

// DescribeChannelModerator returns one moderator.
func (s *Service) DescribeChannelModerator(ctx context.Context, in *chime.DescribeChannelModeratorRequest) (*chime.DescribeChannelModeratorResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelModerator, in); err != nil {
		return nil, err
	}
	g, err := s.describeGrant(ctx, moderatorOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.ChannelModeratorArn))
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelModeratorResponse{ChannelModerator: &chime.ChannelModerator{
		ChannelArn: in.ChannelArn, Moderator: s.grantIdentity(g),
		CreatedBy: s.identity(g.AppInstanceID, g.CreatedBy, g.CreatedByName), CreatedTimestamp: chime.NewTime(g.CreatedAt),
	}}, nil
}

// ListChannelModerators lists a channel's moderators.
func (s *Service) ListChannelModerators(ctx context.Context, in *chime.ListChannelModeratorsRequest) (*chime.ListChannelModeratorsResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelModerators, in); err != nil {
		return nil, err
	}
	gs, next, err := s.listGrants(ctx, moderatorOps, deref(in.ChannelArn), deref(in.ChimeBearer), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &chime.ListChannelModeratorsResponse{ChannelArn: in.ChannelArn, ChannelModerators: make([]chime.ChannelModeratorSummary, 0, len(gs)), NextToken: next}
	for _, g := range gs {
		out.ChannelModerators = append(out.ChannelModerators, chime.ChannelModeratorSummary{Moderator: s.grantIdentity(g)})
	}
	return out, nil
}

// DeleteChannelModerator demotes a moderator; its membership, if any,
// stays, except in an elastic channel, where it ends.
func (s *Service) DeleteChannelModerator(ctx context.Context, in *chime.DeleteChannelModeratorRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannelModerator, in); err != nil {
		return err
	}
	return s.deleteGrant(ctx, moderatorOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.ChannelModeratorArn))
}

// CreateChannelBan bans a user or bot from the channel, removing its
// membership if it has one (the channel hears DELETE_CHANNEL_MEMBERSHIP).
// AppInstanceAdmins and the channel's moderators cannot be banned; banning
// a non-member is allowed and keeps it out.
func (s *Service) CreateChannelBan(ctx context.Context, in *chime.CreateChannelBanRequest) (*chime.CreateChannelBanResponse, error) {
	if err := s.permit(ctx, chime.OpCreateChannelBan, in); err != nil {
		return nil, err
	}
	g, err := s.createGrant(ctx, banOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.MemberArn),
		func(ctx context.Context, tx store.Tx, c inChannel, m actor) error {
			admin, err := isAdmin(ctx, tx, m)
			if err != nil {
				return err
			}
			if admin {
				return chime.Errorf(chime.Forbidden, "%s is an AppInstanceAdmin and cannot be banned.", m)
			}
			if _, err := tx.GetChannelGrant(ctx, store.Moderator, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
				return chime.Errorf(chime.Forbidden, "%s is a moderator of channel %s and cannot be banned from it.", m, c.arn)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return s.removeMember(ctx, tx, c.ch, m.Actor)
		})
	if err != nil {
		return nil, err
	}
	return &chime.CreateChannelBanResponse{ChannelArn: in.ChannelArn, Member: s.grantIdentity(g)}, nil
}

// DescribeChannelBan returns one ban.
func (s *Service) DescribeChannelBan(ctx context.Context, in *chime.DescribeChannelBanRequest) (*chime.DescribeChannelBanResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelBan, in); err != nil {
		return nil, err
	}
	g, err := s.describeGrant(ctx, banOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.MemberArn))
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelBanResponse{ChannelBan: &chime.ChannelBan{
		ChannelArn: in.ChannelArn, Member: s.grantIdentity(g),
		CreatedBy: s.identity(g.AppInstanceID, g.CreatedBy, g.CreatedByName), CreatedTimestamp: chime.NewTime(g.CreatedAt),
	}}, nil
}

// ListChannelBans lists a channel's banned members.
func (s *Service) ListChannelBans(ctx context.Context, in *chime.ListChannelBansRequest) (*chime.ListChannelBansResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelBans, in); err != nil {
		return nil, err
	}
	gs, next, err := s.listGrants(ctx, banOps, deref(in.ChannelArn), deref(in.ChimeBearer), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &chime.ListChannelBansResponse{ChannelArn: in.ChannelArn, ChannelBans: make([]chime.ChannelBanSummary, 0, len(gs)), NextToken: next}
	for _, g := range gs {
		out.ChannelBans = append(out.ChannelBans, chime.ChannelBanSummary{Member: s.grantIdentity(g)})
	}
	return out, nil
}

// DeleteChannelBan lifts a ban; the user or bot may then be added again.
func (s *Service) DeleteChannelBan(ctx context.Context, in *chime.DeleteChannelBanRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannelBan, in); err != nil {
		return err
	}
	return s.deleteGrant(ctx, banOps, deref(in.ChannelArn), deref(in.ChimeBearer), deref(in.MemberArn))
}
