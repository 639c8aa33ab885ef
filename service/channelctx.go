package service

import (
	"context"
	"errors"
	"strings"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// inChannel is a bearer acting in a channel: who it is and what roles it
// holds there.
type inChannel struct {
	arn    chime.ARN
	ch     store.Channel
	bearer actor
	// roles are the bearer's roles. Until full is set only the membership
	// is known: most calls are made by members, whose membership decides,
	// so the admin, moderator and ban lookups wait until a decision needs
	// them (loadRoles).
	roles roles
	full  bool
	// membership is the bearer's membership; nil if it has none. When
	// the call addresses a sub-channel of an elastic channel (sub), it is
	// the membership in that sub-channel.
	membership *store.ChannelMembership
	// sub is the sub-channel the call addresses; "" for none.
	sub string

	// ctx and tx are the call's, for loadRoles.
	ctx context.Context
	tx  store.ReadTx
}

// channelArn is the channel's ARN as a string.
func (c inChannel) channelArn() string { return c.arn.String() }

// enter resolves the bearer and the channel of a bearer operation and
// works out the bearer's roles. The errors come in the order a caller can
// fix them: a malformed ChannelArn (BadRequest), an unusable bearer
// (UnauthorizedClient), a bearer of another app instance (Forbidden), a
// missing channel (NotFound).
func (s *Service) enter(ctx context.Context, tx store.ReadTx, channelArn, bearerArn string) (inChannel, error) {
	var c inChannel
	a, parseErr := s.parse("ChannelArn", channelArn, "Channel", chime.ResourceChannel)
	if parseErr != nil && chime.KindOf(parseErr) != chime.NotFound {
		return c, parseErr
	}
	c.arn = a
	var err error
	if c.bearer, err = s.resolveBearer(ctx, tx, bearerArn); err != nil {
		return c, err
	}
	if parseErr != nil { // a channel of another deployment
		return c, parseErr
	}
	if a.AppInstanceID != c.bearer.ARN.AppInstanceID {
		return c, chime.Errorf(chime.Forbidden, "The bearer %s belongs to another AppInstance than channel %s.", c.bearer, channelArn)
	}
	if c.ch, err = tx.GetChannel(ctx, a.AppInstanceID, a.ID); err != nil {
		return c, storeErr(err, "Channel "+channelArn)
	}
	c.ctx, c.tx = ctx, tx
	m, err := tx.GetChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, c.bearer.Actor)
	switch {
	case err == nil:
		c.membership = &m
		c.roles.Member, c.roles.Hidden = m.Type != chime.ChannelMembershipTypeHidden, m.Type == chime.ChannelMembershipTypeHidden
	case !errors.Is(err, store.ErrNotFound):
		return c, err
	}
	return c, nil
}

// loadRoles completes the bearer's roles with the admin, moderator and
// ban lookups.
func (c *inChannel) loadRoles() error {
	if c.full {
		return nil
	}
	r, err := otherRoles(c.ctx, c.tx, c.ch, c.bearer, c.roles)
	if err != nil {
		return err
	}
	c.roles, c.full = r, true
	return nil
}

// otherRoles adds to r what b is in ch besides a member.
func otherRoles(ctx context.Context, tx store.ReadTx, ch store.Channel, b actor, r roles) (roles, error) {
	var err error
	if r.Admin, err = isAdmin(ctx, tx, b); err != nil {
		return r, err
	}
	for _, g := range []struct {
		kind store.GrantKind
		on   *bool
	}{{store.Moderator, &r.Moderator}, {store.Ban, &r.Banned}} {
		_, err := tx.GetChannelGrant(ctx, g.kind, ch.AppInstanceID, ch.ChannelID, b.Actor)
		switch {
		case err == nil:
			*g.on = true
		case !errors.Is(err, store.ErrNotFound):
			return r, err
		}
	}
	return r, nil
}

// require returns ForbiddenException unless the matrix lets the bearer
// perform op; own says the call addresses the bearer's own membership or
// message.
//
// A member's own cells decide alone when they allow (the union can only add,
// and a member is never banned); anything else needs every role.
func (c *inChannel) require(op *chime.Operation, own bool) error {
	f := channelFacts{
		Public:       c.ch.Privacy == chime.ChannelPrivacyPublic,
		Unrestricted: c.ch.Mode == chime.ChannelModeUnrestricted,
		Own:          own,
	}
	if c.membership != nil && allowed(op, c.roles, f) {
		return nil
	}
	if err := c.loadRoles(); err != nil {
		return err
	}
	if allowed(op, c.roles, f) {
		return nil
	}
	return chime.Errorf(chime.Forbidden, "%s (%s) is not allowed to perform %s in %s channel %s.",
		c.bearer, c.roles, op, privacyNoun(c.ch), c.arn)
}

// privacyNoun describes a channel for error messages.
func privacyNoun(ch store.Channel) string {
	if ch.Privacy == chime.ChannelPrivacyPrivate {
		return "private " + strings.ToLower(string(ch.Mode))
	}
	return "public " + strings.ToLower(string(ch.Mode))
}

// enterAs is enter, then the call's SubChannelId (scopeSubChannel), then
// require(op) of a call that addresses no resource of the bearer's own and
// the sub-channel's own check: the opening of most channel operations.
func (s *Service) enterAs(ctx context.Context, tx store.ReadTx, op *chime.Operation, channelArn, bearerArn, subChannelID *string) (inChannel, error) {
	c, err := s.enter(ctx, tx, deref(channelArn), deref(bearerArn))
	if err != nil {
		return c, err
	}
	if err := s.scopeSubChannel(ctx, tx, &c, op, subChannelID); err != nil {
		return c, err
	}
	if err := c.require(op, false); err != nil {
		return c, err
	}
	return c, c.requireSubChannel()
}
