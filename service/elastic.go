package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/elastic"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Elastic channels (semantics.md §4.1, §5 "Elastic membership
// allocation"): members are spread over sub-channels by package elastic,
// messages belong to one sub-channel, and only that sub-channel's members
// (plus the channel's moderators and the app instance's admins) see them.

const (
	evUpdateMembership = "UPDATE_CHANNEL_MEMBERSHIP"
	// reasonSubChannelDeleted is the x-amz-chime-event-reason of the
	// DELETE_CHANNEL_MEMBERSHIP a moderator receives when scale-in deletes
	// a sub-channel it was in.
	reasonSubChannelDeleted = "subchannel_DELETED"
)

// elasticOf is ch's configuration as package elastic takes it.
func elasticOf(ch store.Channel) elastic.Config {
	e := ch.Elastic
	return elastic.Config{
		MaximumSubChannels:             int(e.MaximumSubChannels),
		TargetMembershipsPerSubChannel: int(e.TargetMembershipsPerSubChannel),
		MinimumMembershipPercentage:    int(e.MinimumMembershipPercentage),
	}
}

// subChannelRequired lists the operations that address messages, which on
// an elastic channel always belong to one sub-channel: their SubChannelId
// is required there, except, as the model documents ("only required when
// … in a SubChannel that the user belongs to"), for moderators and admins,
// who belong to none and then address the whole channel. A message is
// always sent to one sub-channel. The other operations that take one
// (memberships) use it only when given.
var subChannelRequired = map[*chime.Operation]bool{
	chime.OpSendChannelMessage: true, chime.OpUpdateChannelMessage: true, chime.OpRedactChannelMessage: true,
	chime.OpDeleteChannelMessage: true, chime.OpGetChannelMessage: true, chime.OpListChannelMessages: true,
	chime.OpGetChannelMessageStatus: true,
}

// noSubChannelOnStandard refuses a SubChannelId on a standard channel.
func noSubChannelOnStandard(c *inChannel, id *string) error {
	if c.ch.Elastic == nil && deref(id) != "" {
		return badRequest("SubChannelId is only valid for elastic channels; channel %s is a standard channel.", c.arn)
	}
	return nil
}

// scopeSubChannel applies a call's SubChannelId: absent on a standard
// channel; required on an elastic one for the operations of
// subChannelRequired. A given one must name a sub-channel of the channel,
// and the bearer's membership becomes its membership in that sub-channel
// (or none), so that the matrix's member cells mean "member of this
// sub-channel".
func (s *Service) scopeSubChannel(ctx context.Context, tx store.ReadTx, c *inChannel, op *chime.Operation, id *string) error {
	if err := noSubChannelOnStandard(c, id); err != nil || c.ch.Elastic == nil {
		return err
	}
	sub := deref(id)
	if sub == "" {
		if !subChannelRequired[op] {
			return nil
		}
		if op != chime.OpSendChannelMessage {
			if err := c.loadRoles(); err != nil {
				return err
			}
			if c.roles.Admin || c.roles.Moderator {
				return nil
			}
		}
		return badRequest("SubChannelId is required for %s on elastic channel %s.", op, c.arn)
	}
	if _, err := tx.GetSubChannel(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub); err != nil {
		return storeErr(err, "SubChannel "+sub+" of channel "+c.channelArn())
	}
	c.sub = sub
	m, err := tx.GetSubChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub, c.bearer.Actor)
	switch {
	case err == nil:
		c.membership, c.roles.Member = &m, true
	case errors.Is(err, store.ErrNotFound):
		c.membership, c.roles.Member = nil, false
	default:
		return err
	}
	return nil
}

// requireSubChannel refuses a bearer that is neither a member of the
// sub-channel the call addresses nor a moderator or admin, who see every
// sub-channel. A public elastic channel shows its sub-channels to nobody
// else: "the system never allows messages from one sub-channel to appear
// in other sub-channels".
func (c *inChannel) requireSubChannel() error {
	if c.sub == "" || c.membership != nil {
		return nil
	}
	if err := c.loadRoles(); err != nil {
		return err
	}
	if c.roles.Admin || c.roles.Moderator {
		return nil
	}
	return chime.Errorf(chime.Forbidden, "%s is not a member of sub-channel %s of elastic channel %s.", c.bearer, c.sub, c.arn)
}

// isModerator reports whether m moderates ch.
func isModerator(ctx context.Context, tx store.ReadTx, ch store.Channel, m store.Actor) (bool, error) {
	_, err := tx.GetChannelGrant(ctx, store.Moderator, ch.AppInstanceID, ch.ChannelID, m)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// allSubChannels returns ch's sub-channels, in creation order, as
// allocation sees them.
func allSubChannels(ctx context.Context, tx store.ReadTx, ch store.Channel) ([]elastic.SubChannel, error) {
	scs, err := tx.ListSubChannels(ctx, ch.AppInstanceID, ch.ChannelID, store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]elastic.SubChannel, len(scs))
	for i, sc := range scs {
		out[i] = elastic.SubChannel{ID: sc.SubChannelID, Count: sc.MembershipCount}
	}
	return out, nil
}

// channelEventIn is UPDATE_CHANNEL or DELETE_CHANNEL for every member. The
// members of an elastic channel are known to the real-time layer by
// sub-channel only, so they are named one by one (these events are rare).
func (s *Service) channelEventIn(ctx context.Context, tx store.ReadTx, typ string, ch store.Channel) (events.Event, error) {
	e := s.channelEvent(typ, ch)
	if ch.Elastic == nil {
		return e, nil
	}
	ms, err := tx.ListChannelMemberships(ctx, ch.AppInstanceID, ch.ChannelID, "", store.Page{})
	if err != nil {
		return e, err
	}
	seen := map[store.Actor]bool{}
	for _, m := range ms {
		if !seen[m.Member] {
			seen[m.Member] = true
			e.Users = append(e.Users, s.actorArn(m.AppInstanceID, m.Member))
		}
	}
	e.Members = false
	return e, nil
}

// subMembershipEvent is a membership event of an elastic channel, scoped
// to the membership's sub-channel. CREATE and DELETE go to the
// sub-channel's members and the member, who joins the sub-channel's
// real-time audience before delivery or leaves it after. A transfer
// (UPDATE, from the sub-channel from) and a scale-in DELETE (reason set)
// go to the member alone.
func (s *Service) subMembershipEvent(typ, reason string, m store.ChannelMembership, from string) events.Event {
	arn := s.actorArn(m.AppInstanceID, m.Member)
	e := events.Event{
		Type: typ, MessageType: systemMessage, Reason: reason,
		ChannelArn: s.channelArn(m.AppInstanceID, m.ChannelID), SubChannelID: m.SubChannelID,
		Payload: payload(s.membershipEventPayload(m)),
		Users:   []string{arn},
		Members: typ != evUpdateMembership && reason == "",
	}
	switch typ {
	case evCreateMembership:
		e.Joined = []string{arn}
	case evUpdateMembership:
		e.Joined, e.FromSubChannelID = []string{arn}, from
	case evDeleteMembership:
		e.Left = []string{arn}
	}
	return e
}

// joinElastic adds memberArn to elastic channel c. A moderator (or an
// AppInstanceAdmin) names the sub-channel it joins; anyone else is placed
// by the service, which may open a sub-channel (scale-out) first. It
// returns the membership and the events to publish.
func (s *Service) joinElastic(ctx context.Context, tx store.Tx, c inChannel, field, memberArn string, typ chime.ChannelMembershipType, subID *string, now time.Time) (store.ChannelMembership, []events.Event, error) {
	var none store.ChannelMembership
	if typ == chime.ChannelMembershipTypeHidden {
		return none, nil, badRequest("Type HIDDEN is not supported on elastic channels.")
	}
	m, err := s.resolveMember(ctx, tx, field, memberArn, c.ch.AppInstanceID)
	if err != nil {
		return none, nil, err
	}
	if _, err := tx.GetChannelGrant(ctx, store.Ban, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
		return none, nil, chime.Errorf(chime.Forbidden, "%s is banned from channel %s; DeleteChannelBan first.", m, c.arn)
	} else if !errors.Is(err, store.ErrNotFound) {
		return none, nil, err
	}
	mod, err := isModerator(ctx, tx, c.ch, m.Actor)
	if err != nil {
		return none, nil, err
	}
	sub := deref(subID)
	if sub == "" && mod {
		return none, nil, badRequest("SubChannelId is required to add moderator %s to elastic channel %s: moderators join the sub-channels they choose.", m, c.arn)
	}
	if sub != "" && !mod {
		admin, err := isAdmin(ctx, tx, m)
		if err != nil {
			return none, nil, err
		}
		if !admin {
			return none, nil, badRequest("SubChannelId is only for moderators of elastic channel %s; members such as %s are placed in a sub-channel by the service.", c.arn, m)
		}
	}
	// Every check comes before the first write: a batch goes on after a
	// member's error, so a refused member must leave nothing behind.
	if err := checkMembershipQuota(ctx, tx, c.ch.AppInstanceID, m); err != nil {
		return none, nil, err
	}
	mem := store.ChannelMembership{
		AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID, Member: m.Actor, Type: chime.ChannelMembershipTypeDefault,
		InvitedBy: c.bearer.Actor, InvitedByName: c.bearer.Name, CreatedAt: now, UpdatedAt: now,
	}
	var evs []events.Event
	if sub != "" {
		sc, err := tx.GetSubChannel(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub)
		if err != nil {
			return none, nil, storeErr(err, "SubChannel "+sub+" of channel "+c.channelArn())
		}
		if _, err := tx.GetSubChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, sub, m.Actor); err == nil {
			return none, nil, conflict("%s is already a member of sub-channel %s of channel %s.", m, sub, c.arn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return none, nil, err
		}
		if sc.MembershipCount >= MaxMembershipsPerSubChannel {
			return none, nil, limitExceeded("Sub-channel %s of channel %s already has the maximum of %d memberships.", sub, c.arn, MaxMembershipsPerSubChannel)
		}
		mem.SubChannelID = sub
	} else {
		if _, err := tx.GetChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, m.Actor); err == nil {
			return none, nil, conflict("%s is already a member of channel %s.", m, c.arn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return none, nil, err
		}
		if mem.SubChannelID, evs, err = s.place(ctx, tx, c, now); err != nil {
			return none, nil, err
		}
	}
	if mem, err = tx.CreateChannelMembership(ctx, mem); err != nil {
		return none, nil, storeErr(err, "ChannelMembership of "+m.String())
	}
	return mem, append(evs, s.subMembershipEvent(evCreateMembership, "", mem, "")), nil
}

// place picks the sub-channel of a joining member, opening one and
// transferring members into it when every sub-channel is full.
func (s *Service) place(ctx context.Context, tx store.Tx, c inChannel, now time.Time) (string, []events.Event, error) {
	cfg := elasticOf(c.ch)
	subs, err := allSubChannels(ctx, tx, c.ch)
	if err != nil {
		return "", nil, err
	}
	p, ok := elastic.Place(cfg, subs)
	if !ok {
		return "", nil, limitExceeded("Elastic channel %s is full: its %d sub-channels all have %d members (ElasticChannelConfiguration).",
			c.arn, cfg.MaximumSubChannels, cfg.TargetMembershipsPerSubChannel)
	}
	if !p.ScaleOut {
		return p.Into, nil, nil
	}
	sc, err := tx.CreateSubChannel(ctx, store.SubChannel{AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID, SubChannelID: newID(), CreatedAt: now})
	if err != nil {
		return "", nil, err
	}
	s.streamOnly(tx, subChannelStreamEvent(evCreateSubChannel, c.arn.String(), sc.SubChannelID))
	if p.From == "" {
		return sc.SubChannelID, nil, nil
	}
	// The newest members move: those who joined last have the least
	// history in the sub-channel they leave.
	rows, err := tx.ListSubChannelMemberships(ctx, c.ch.AppInstanceID, c.ch.ChannelID, p.From, store.Page{})
	if err != nil {
		return "", nil, err
	}
	var evs []events.Event
	for i := len(rows) - 1; i >= 0 && len(evs) < p.Move; i-- {
		mod, err := isModerator(ctx, tx, c.ch, rows[i].Member)
		if err != nil {
			return "", nil, err
		}
		if mod {
			continue // moderators chose their sub-channels
		}
		e, err := s.transfer(ctx, tx, rows[i], sc.SubChannelID, now)
		if err != nil {
			return "", nil, err
		}
		evs = append(evs, e)
	}
	return sc.SubChannelID, evs, nil
}

// transfer moves a member's membership to another sub-channel; the
// member alone hears of it (UPDATE_CHANNEL_MEMBERSHIP).
func (s *Service) transfer(ctx context.Context, tx store.Tx, m store.ChannelMembership, to string, now time.Time) (events.Event, error) {
	from := m.SubChannelID
	if err := tx.MoveSubChannelMembership(ctx, m.AppInstanceID, m.ChannelID, from, to, m.Member, now); err != nil {
		return events.Event{}, err
	}
	m.SubChannelID, m.UpdatedAt = to, now
	return s.subMembershipEvent(evUpdateMembership, "", m, from), nil
}

// leaveElastic removes m's memberships of an elastic channel: the one in
// sub (a moderator's), or all of them when sub is "". Each sub-channel it
// leaves is then considered for scale-in. Removing a membership that does
// not exist changes nothing.
func (s *Service) leaveElastic(ctx context.Context, tx store.Tx, ch store.Channel, m store.Actor, sub string) error {
	var mems []store.ChannelMembership
	if sub != "" {
		mem, err := tx.GetSubChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, sub, m)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mems = []store.ChannelMembership{mem}
	} else {
		var err error
		if mems, err = tx.ListMemberSubChannelMemberships(ctx, ch.AppInstanceID, ch.ChannelID, m); err != nil {
			return err
		}
	}
	now := s.now()
	for _, mem := range mems {
		if err := tx.DeleteSubChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, mem.SubChannelID, m); err != nil {
			return err
		}
		mem.UpdatedAt = now
		s.emit(tx, s.subMembershipEvent(evDeleteMembership, "", mem, ""))
		if err := s.scaleIn(ctx, tx, ch, mem.SubChannelID, now); err != nil {
			return err
		}
	}
	return nil
}

// scaleIn merges sub-channel sub, which just lost a member, into another
// when allocation says so: its members move, its moderators' memberships
// end (they hear DELETE_CHANNEL_MEMBERSHIP with reason subchannel_DELETED),
// and the sub-channel goes with its messages.
func (s *Service) scaleIn(ctx context.Context, tx store.Tx, ch store.Channel, sub string, now time.Time) error {
	subs, err := allSubChannels(ctx, tx, ch)
	if err != nil {
		return err
	}
	mg, ok := elastic.AfterLeave(elasticOf(ch), subs, sub)
	if !ok {
		return nil
	}
	rows, err := tx.ListSubChannelMemberships(ctx, ch.AppInstanceID, ch.ChannelID, mg.From, store.Page{})
	if err != nil {
		return err
	}
	var evs []events.Event
	for _, m := range rows {
		mod, err := isModerator(ctx, tx, ch, m.Member)
		if err != nil {
			return err
		}
		if !mod {
			// An admin that chose Into besides being placed in From keeps
			// the membership it has there.
			if _, err := tx.GetSubChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, mg.Into, m.Member); errors.Is(err, store.ErrNotFound) {
				e, err := s.transfer(ctx, tx, m, mg.Into, now)
				if err != nil {
					return err
				}
				evs = append(evs, e)
				continue
			} else if err != nil {
				return err
			}
		}
		if err := tx.DeleteSubChannelMembership(ctx, ch.AppInstanceID, ch.ChannelID, mg.From, m.Member); err != nil {
			return err
		}
		m.UpdatedAt = now
		evs = append(evs, s.subMembershipEvent(evDeleteMembership, reasonSubChannelDeleted, m, ""))
	}
	if err := tx.DeleteSubChannel(ctx, ch.AppInstanceID, ch.ChannelID, mg.From); err != nil {
		return err
	}
	s.streamOnly(tx, subChannelStreamEvent(evDeleteSubChannel, s.channelArn(ch.AppInstanceID, ch.ChannelID), mg.From))
	s.emit(tx, evs...)
	return nil
}

// ListSubChannels lists an elastic channel's sub-channels with their
// membership counts, in creation order (admins and moderators only).
func (s *Service) ListSubChannels(ctx context.Context, in *chime.ListSubChannelsRequest) (*chime.ListSubChannelsResponse, error) {
	if err := s.permit(ctx, chime.OpListSubChannels, in); err != nil {
		return nil, err
	}
	sc := scope("ListSubChannels", deref(in.ChannelArn), deref(in.ChimeBearer))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var subs []store.SubChannel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enter(ctx, tx, deref(in.ChannelArn), deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		if err := c.require(chime.OpListSubChannels, false); err != nil {
			return err
		}
		if c.ch.Elastic == nil {
			return badRequest("ListSubChannels is only available for elastic channels; channel %s is a standard channel.", c.arn)
		}
		subs, err = tx.ListSubChannels(ctx, c.ch.AppInstanceID, c.ch.ChannelID, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	subs, next := trim(s, sc, subs, n, func(sc store.SubChannel) int64 { return sc.Seq })
	out := &chime.ListSubChannelsResponse{ChannelArn: in.ChannelArn, SubChannels: make([]chime.SubChannelSummary, 0, len(subs)), NextToken: next}
	for _, sc := range subs {
		out.SubChannels = append(out.SubChannels, chime.SubChannelSummary{SubChannelId: ptr(sc.SubChannelID), MembershipCount: ptr(int32(sc.MembershipCount))})
	}
	return out, nil
}
