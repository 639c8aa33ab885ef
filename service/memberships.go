package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/filterrule"
	"github.com/belfryhq/belfry/store"
)

// checkMembershipQuota refuses a membership m cannot take: a user or bot
// belongs to at most MaxMembershipsPerMember channels.
func checkMembershipQuota(ctx context.Context, tx store.ReadTx, appInstanceID string, m actor) error {
	n, err := tx.CountMembershipsOf(ctx, appInstanceID, m.Actor)
	if err != nil {
		return err
	}
	if n >= MaxMembershipsPerMember {
		return limitExceeded("%s is already a member of the maximum of %d channels.", m, MaxMembershipsPerMember)
	}
	return nil
}

// addMember is the part of CreateChannelMembership and
// BatchCreateChannelMembership that is the same for every member: the
// member must exist, not be banned, not be a member yet, and fit the
// quotas. It returns the new membership.
func (s *Service) addMember(ctx context.Context, tx store.Tx, c inChannel, field, memberArn string, typ chime.ChannelMembershipType, now time.Time) (store.ChannelMembership, error) {
	m, err := s.resolveMember(ctx, tx, field, memberArn, c.ch.AppInstanceID)
	if err != nil {
		return store.ChannelMembership{}, err
	}
	if _, err := tx.GetChannelGrant(ctx, store.Ban, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
		return store.ChannelMembership{}, chime.Errorf(chime.Forbidden, "%s is banned from channel %s; DeleteChannelBan first.", m, c.arn)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ChannelMembership{}, err
	}
	if _, err := tx.GetChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
		return store.ChannelMembership{}, conflict("%s is already a member of channel %s.", m, c.arn)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ChannelMembership{}, err
	}
	n, err := tx.CountChannelMemberships(ctx, c.ch.AppInstanceID, c.ch.ChannelID)
	if err != nil {
		return store.ChannelMembership{}, err
	}
	if n >= MaxMembershipsPerChannel {
		return store.ChannelMembership{}, limitExceeded("Channel %s already has the maximum of %d members.", c.arn, MaxMembershipsPerChannel)
	}
	if err := checkMembershipQuota(ctx, tx, c.ch.AppInstanceID, m); err != nil {
		return store.ChannelMembership{}, err
	}
	mem, err := tx.CreateChannelMembership(ctx, store.ChannelMembership{
		AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID, Member: m.Actor, Type: typ,
		InvitedBy: c.bearer.Actor, InvitedByName: c.bearer.Name, CreatedAt: now, UpdatedAt: now,
	})
	return mem, storeErr(err, "ChannelMembership of "+m.String())
}

// membershipType is the requested type, DEFAULT when omitted. HIDDEN is
// for moderators and admins only.
func membershipType(c *inChannel, t chime.ChannelMembershipType) (chime.ChannelMembershipType, error) {
	if t == "" || t == chime.ChannelMembershipTypeDefault {
		return chime.ChannelMembershipTypeDefault, nil
	}
	if err := c.loadRoles(); err != nil {
		return "", err
	}
	if !c.roles.Admin && !c.roles.Moderator {
		return "", chime.Errorf(chime.Forbidden, "Only channel moderators and AppInstanceAdmins can create HIDDEN memberships; %s is %s.", c.bearer, c.roles)
	}
	return t, nil
}

// CreateChannelMembership adds a member to a channel, or (MemberArn = the
// bearer) joins the bearer to a PUBLIC channel.
func (s *Service) CreateChannelMembership(ctx context.Context, in *chime.CreateChannelMembershipRequest) (*chime.CreateChannelMembershipResponse, error) {
	if err := s.permit(ctx, chime.OpCreateChannelMembership, in); err != nil {
		return nil, err
	}
	var mem store.ChannelMembership
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enter(ctx, tx, deref(in.ChannelArn), deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		op := chime.OpCreateChannelMembership
		if deref(in.MemberArn) == c.bearer.String() {
			op = opSelfJoin
		}
		if err := c.require(op, false); err != nil {
			return err
		}
		if err := noSubChannelOnStandard(&c, in.SubChannelId); err != nil {
			return err
		}
		if c.ch.Elastic != nil {
			var evs []events.Event
			if mem, evs, err = s.joinElastic(ctx, tx, c, "MemberArn", deref(in.MemberArn), in.Type, in.SubChannelId, s.now()); err != nil {
				return err
			}
			s.emit(tx, evs...)
			return nil
		}
		typ, err := membershipType(&c, in.Type)
		if err != nil {
			return err
		}
		if mem, err = s.addMember(ctx, tx, c, "MemberArn", deref(in.MemberArn), typ, s.now()); err != nil {
			return err
		}
		s.emit(tx, s.membershipEvent(evCreateMembership, mem))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.CreateChannelMembershipResponse{ChannelArn: in.ChannelArn, Member: s.identity(mem.AppInstanceID, mem.Member, mem.MemberName),
		SubChannelId: optional(mem.SubChannelID)}, nil
}

// BatchCreateChannelMembership adds up to 100 members. Members that cannot
// be added are reported in Errors (with the ErrorCode the single call's
// exception has) while the others are added: the call itself fails only
// when the bearer may not add members at all.
func (s *Service) BatchCreateChannelMembership(ctx context.Context, in *chime.BatchCreateChannelMembershipRequest) (*chime.BatchCreateChannelMembershipResponse, error) {
	if err := s.permit(ctx, chime.OpBatchCreateChannelMembership, in); err != nil {
		return nil, err
	}
	out := &chime.BatchCreateChannelMembershipResponse{Errors: []chime.BatchCreateChannelMembershipError{}}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		out.Errors = out.Errors[:0]
		c, err := s.enterAs(ctx, tx, chime.OpBatchCreateChannelMembership, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		if err := noSubChannelOnStandard(&c, in.SubChannelId); err != nil {
			return err
		}
		elastic := c.ch.Elastic != nil
		if elastic && in.Type == chime.ChannelMembershipTypeHidden {
			return badRequest("Type HIDDEN is not supported on elastic channels.")
		}
		typ, err := membershipType(&c, in.Type)
		if err != nil {
			return err
		}
		var added []store.ChannelMembership
		for i, arn := range in.MemberArns {
			var m store.ChannelMembership
			if elastic {
				// Each member is placed on its own, and the channel hears
				// one CREATE_CHANNEL_MEMBERSHIP each: elastic channels
				// have no BATCH_CREATE_CHANNEL_MEMBERSHIP (DG:elastic).
				var evs []events.Event
				if m, evs, err = s.joinElastic(ctx, tx, c, fieldIndex("MemberArns", i), arn, in.Type, in.SubChannelId, s.now()); err == nil {
					s.emit(tx, evs...)
				}
			} else {
				m, err = s.addMember(ctx, tx, c, fieldIndex("MemberArns", i), arn, typ, s.now())
			}
			if err == nil {
				added = append(added, m)
				continue
			}
			kind := chime.KindOf(err)
			if kind == "" {
				return err // not the member's fault: fail the call
			}
			_, code, _ := chime.ExceptionInfo(kind)
			out.Errors = append(out.Errors, chime.BatchCreateChannelMembershipError{
				MemberArn: ptr(arn), ErrorCode: chime.ErrorCode(code), ErrorMessage: ptr(err.(*chime.Error).Message),
			})
		}
		b := &chime.BatchChannelMemberships{
			ChannelArn: in.ChannelArn, InvitedBy: c.bearer.identity(), Type: chime.ChannelMembershipType(typ),
			Members: make([]chime.Identity, 0, len(added)), SubChannelId: in.SubChannelId,
		}
		for _, m := range added {
			b.Members = append(b.Members, *s.identity(m.AppInstanceID, m.Member, m.MemberName))
		}
		out.BatchChannelMemberships = b
		if len(added) > 0 && !elastic {
			s.emit(tx, s.batchMembershipEvent(c.ch, string(typ), c.bearer, added))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DescribeChannelMembership returns one membership.
func (s *Service) DescribeChannelMembership(ctx context.Context, in *chime.DescribeChannelMembershipRequest) (*chime.DescribeChannelMembershipResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelMembership, in); err != nil {
		return nil, err
	}
	var out *chime.ChannelMembership
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enterAs(ctx, tx, chime.OpDescribeChannelMembership, in.ChannelArn, in.ChimeBearer, in.SubChannelId)
		if err != nil {
			return err
		}
		m, err := s.memberRef("MemberArn", deref(in.MemberArn), c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		var mem store.ChannelMembership
		if c.sub != "" {
			mem, err = tx.GetSubChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, c.sub, m)
		} else {
			mem, err = tx.GetChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, m)
		}
		if err != nil {
			return storeErr(err, "ChannelMembership of "+deref(in.MemberArn)+" in "+c.channelArn())
		}
		out = s.membershipOut(mem)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelMembershipResponse{ChannelMembership: out}, nil
}

// ListChannelMemberships lists a channel's DEFAULT members, or its HIDDEN
// ones when Type is HIDDEN, in the order they joined.
func (s *Service) ListChannelMemberships(ctx context.Context, in *chime.ListChannelMembershipsRequest) (*chime.ListChannelMembershipsResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelMemberships, in); err != nil {
		return nil, err
	}
	typ := string(in.Type)
	if typ == "" {
		typ = string(chime.ChannelMembershipTypeDefault)
	}
	sc := scope("ListChannelMemberships", deref(in.ChannelArn), typ, deref(in.ChimeBearer), deref(in.SubChannelId))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var mems []store.ChannelMembership
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enterAs(ctx, tx, chime.OpListChannelMemberships, in.ChannelArn, in.ChimeBearer, in.SubChannelId)
		if err != nil {
			return err
		}
		sub, err := c.listedSubChannel()
		if err != nil || sub == "" {
			mems, err = tx.ListChannelMemberships(ctx, c.ch.AppInstanceID, c.ch.ChannelID, typ, p)
			return err
		}
		mems, err = tx.ListSubChannelMemberships(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	mems, next := trim(s, sc, mems, n, func(m store.ChannelMembership) int64 { return m.Seq })
	out := &chime.ListChannelMembershipsResponse{ChannelArn: in.ChannelArn, ChannelMemberships: make([]chime.ChannelMembershipSummary, 0, len(mems)), NextToken: next}
	for _, m := range mems {
		out.ChannelMemberships = append(out.ChannelMemberships, chime.ChannelMembershipSummary{Member: s.identity(m.AppInstanceID, m.Member, m.MemberName)})
	}
	return out, nil
}

// DeleteChannelMembership removes a member: a member may leave, moderators
// and admins may remove anyone. Removing someone who is not a member
// succeeds and changes nothing, so a retried call does not fail.
func (s *Service) DeleteChannelMembership(ctx context.Context, in *chime.DeleteChannelMembershipRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannelMembership, in); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enter(ctx, tx, deref(in.ChannelArn), deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		m, err := s.memberRef("MemberArn", deref(in.MemberArn), c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		if err := c.require(chime.OpDeleteChannelMembership, m == c.bearer.Actor); err != nil {
			return err
		}
		if err := noSubChannelOnStandard(&c, in.SubChannelId); err != nil {
			return err
		}
		if sub := deref(in.SubChannelId); sub != "" {
			mod, err := isModerator(ctx, tx, c.ch, m)
			if err != nil {
				return err
			}
			admin, err := isAdmin(ctx, tx, actor{ARN: c.arn, Actor: m})
			if err != nil {
				return err
			}
			if !mod && !admin {
				return badRequest("SubChannelId is only for moderators of elastic channel %s; a member's membership is removed without it.", c.arn)
			}
			if _, err := tx.GetSubChannel(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub); err != nil {
				return storeErr(err, "SubChannel "+sub+" of channel "+c.channelArn())
			}
			return s.leaveElastic(ctx, tx, c.ch, m, sub)
		}
		return s.removeMember(ctx, tx, c.ch, m)
	})
}

// removeMember deletes m's membership, if it has one, and tells the
// channel (DeleteChannelMembership and bans).
func (s *Service) removeMember(ctx context.Context, tx store.Tx, ch store.Channel, m store.Actor) error {
	if ch.Elastic != nil {
		return s.leaveElastic(ctx, tx, ch, m, "")
	}
	mem, err := tx.GetChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, m)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.DeleteChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, m); err != nil {
		return err
	}
	mem.UpdatedAt = s.now()
	s.emit(tx, s.membershipEvent(evDeleteMembership, mem))
	return nil
}

// listedSubChannel is the sub-channel ListChannelMemberships lists: the
// one named, or, on an elastic channel, the bearer's own when it is a
// member there and neither moderator nor admin (who list the whole
// channel). "" lists the channel.
func (c *inChannel) listedSubChannel() (string, error) {
	if c.sub != "" || c.ch.Elastic == nil || c.membership == nil {
		return c.sub, nil
	}
	if err := c.loadRoles(); err != nil {
		return "", err
	}
	if c.roles.Admin || c.roles.Moderator {
		return "", nil
	}
	return c.membership.SubChannelID, nil
}

// ownMembership is the common part of the membership-preference calls: only
// the member itself may use them, on its own membership.
func (s *Service) ownMembership(ctx context.Context, tx store.ReadTx, op *chime.Operation, channelArn, bearerArn, memberArn *string) (inChannel, error) {
	c, err := s.enter(ctx, tx, deref(channelArn), deref(bearerArn))
	if err != nil {
		return c, err
	}
	m, err := s.memberRef("MemberArn", deref(memberArn), c.ch.AppInstanceID)
	if err != nil {
		return c, err
	}
	if err := c.require(op, m == c.bearer.Actor); err != nil {
		return c, err
	}
	if c.ch.Elastic != nil {
		return c, badRequest("%s is not supported for elastic channels.", op)
	}
	return c, nil
}

// defaultPreferences are a member's preferences until it sets some: every
// member gets every push notification (semantics.md §5).
func defaultPreferences() *chime.ChannelMembershipPreferences {
	return &chime.ChannelMembershipPreferences{PushNotifications: &chime.PushNotificationPreferences{AllowNotifications: chime.AllowNotificationsAll}}
}

// GetChannelMembershipPreferences returns the bearer's own preferences.
func (s *Service) GetChannelMembershipPreferences(ctx context.Context, in *chime.GetChannelMembershipPreferencesRequest) (*chime.GetChannelMembershipPreferencesResponse, error) {
	if err := s.permit(ctx, chime.OpGetChannelMembershipPreferences, in); err != nil {
		return nil, err
	}
	var out *chime.GetChannelMembershipPreferencesResponse
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.ownMembership(ctx, tx, chime.OpGetChannelMembershipPreferences, in.ChannelArn, in.ChimeBearer, in.MemberArn)
		if err != nil {
			return err
		}
		prefs := defaultPreferences()
		if js := c.membership.Preferences; js != "" {
			prefs = &chime.ChannelMembershipPreferences{}
			if err := json.Unmarshal([]byte(js), prefs); err != nil {
				return err
			}
		}
		out = &chime.GetChannelMembershipPreferencesResponse{ChannelArn: in.ChannelArn, Member: c.bearer.identity(), Preferences: prefs}
		return nil
	})
	return out, err
}

// PutChannelMembershipPreferences sets the bearer's own preferences. A
// FilterRule is parsed and checked against the documented limits; it is
// required with, and only allowed with, AllowNotifications FILTERED.
func (s *Service) PutChannelMembershipPreferences(ctx context.Context, in *chime.PutChannelMembershipPreferencesRequest) (*chime.PutChannelMembershipPreferencesResponse, error) {
	if err := s.permit(ctx, chime.OpPutChannelMembershipPreferences, in); err != nil {
		return nil, err
	}
	if pn := in.Preferences.PushNotifications; pn != nil {
		rule := deref(pn.FilterRule)
		switch {
		case pn.AllowNotifications == chime.AllowNotificationsFiltered && rule == "":
			return nil, badRequest("Preferences.PushNotifications.FilterRule is required when AllowNotifications is FILTERED.")
		case pn.AllowNotifications != chime.AllowNotificationsFiltered && rule != "":
			return nil, badRequest("Preferences.PushNotifications.FilterRule is only allowed when AllowNotifications is FILTERED.")
		case rule != "":
			if _, err := filterrule.Parse(rule); err != nil {
				return nil, badRequest("Preferences.PushNotifications.FilterRule: %v", err)
			}
		}
	}
	var out *chime.PutChannelMembershipPreferencesResponse
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.ownMembership(ctx, tx, chime.OpPutChannelMembershipPreferences, in.ChannelArn, in.ChimeBearer, in.MemberArn)
		if err != nil {
			return err
		}
		js, err := json.Marshal(in.Preferences)
		if err != nil {
			return err
		}
		m := *c.membership
		m.Preferences, m.UpdatedAt = string(js), s.now()
		if err := tx.UpdateChannelMembership(ctx, m); err != nil {
			return err
		}
		out = &chime.PutChannelMembershipPreferencesResponse{ChannelArn: in.ChannelArn, Member: c.bearer.identity(), Preferences: in.Preferences}
		return nil
	})
	return out, err
}

// UpdateChannelReadMarker sets the bearer's read marker to now.
func (s *Service) UpdateChannelReadMarker(ctx context.Context, in *chime.UpdateChannelReadMarkerRequest) (*chime.UpdateChannelReadMarkerResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateChannelReadMarker, in); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpUpdateChannelReadMarker, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		if c.ch.Elastic != nil {
			return badRequest("UpdateChannelReadMarker is not supported for elastic channels.")
		}
		m := *c.membership
		now := s.now()
		m.ReadMarkerAt, m.UpdatedAt = now, now
		return tx.UpdateChannelMembership(ctx, m)
	})
	if err != nil {
		return nil, err
	}
	return &chime.UpdateChannelReadMarkerResponse{ChannelArn: in.ChannelArn}, nil
}
