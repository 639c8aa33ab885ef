package service

import (
	"fmt"
	"strings"

	"github.com/belfryhq/belfry/chime"
)

// The authorization matrix of the messaging API's bearer operations:
// semantics.md §2.3, one row per operation, one column per role the
// bearer may hold in the channel. Every channel operation asks it, through
// (*Service).channelAccess, before it reads or changes anything; the table
// test in authz_test.go exercises every cell.
//
// A bearer's effective permission is the union of its roles (AWS: "a
// member who is an AppInstanceAdmin or ChannelModerator can perform actions
// allowed by those two roles"), so cells that semantics.md marks "mem"
// (allowed only to admins and moderators who are also members) are N here
// and the Member column grants them. Operations outside a channel
// (CreateChannel, ListChannels, SearchChannels and the
// ...ForAppInstanceUser lists) are decided where they are implemented, as
// their comments say; their rule is "own ARN unless admin", see ownOrAdmin.
//
// Choices where the sources conflict or are silent (docs/compatibility.md):
//   - ListChannelModerators is allowed to members (the AWS demo app relies on
//     it, though the developer guide says denied).
//   - DescribeChannel is allowed to members and moderators of a private
//     channel, not only for public channels.
//   - DeleteChannelMessage is admin-only.
//   - Members may remove only themselves (leave); hidden members act as
//     members for adding others in UNRESTRICTED channels.
//   - Editing a message needs a current membership: a sender who left (or
//     was demoted to hidden) can no longer edit; redacting one's own
//     message needs a membership of either type.
//   - Membership preferences belong to a membership: an admin or moderator
//     without one is refused (ForbiddenException, as for non-members)
//     rather than told its own preferences do not exist.
//   - A banned user is a non-member with fewer rights: never more than
//     what PUBLIC channels allow anyone.

// access is what one role may do in one operation.
type access uint8

const (
	N     access = iota // denied
	Y                   // allowed
	Pub                 // allowed if the channel is PUBLIC
	Own                 // allowed on the bearer's own resource only (its membership, its message)
	Unres               // allowed if the channel's Mode is UNRESTRICTED
)

func (a access) String() string {
	return [...]string{"N", "Y", "Pub", "Own", "Unres"}[a]
}

// rule is one row of the matrix.
type rule struct {
	Admin, Moderator, Member, Hidden, NonMember, Banned access
}

// The matrix is keyed by the generated operation descriptors. One row is
// not an API operation of its own: CreateChannelMembership splits into
// adding someone else (its own row) and joining oneself (opSelfJoin).
var opSelfJoin = &chime.Operation{Name: "CreateChannelMembership(self)", Services: chime.ServiceMessaging, Bearer: chime.BearerRequired}

// matrix is semantics.md §2.3.
//
//	Admin Mod  Member Hidden NonMember Banned
var matrix = map[*chime.Operation]rule{
	chime.OpAssociateChannelFlow:            {Y, Y, N, N, N, N},
	chime.OpDisassociateChannelFlow:         {Y, Y, N, N, N, N},
	chime.OpBatchCreateChannelMembership:    {Y, Y, Unres, Unres, N, N},
	chime.OpCreateChannelMembership:         {Y, Y, Unres, Unres, N, N},
	opSelfJoin:                              {Y, Y, Y, Y, Pub, N}, // members reach the ConflictException
	chime.OpCreateChannelBan:                {Y, Y, N, N, N, N},
	chime.OpCreateChannelModerator:          {Y, Y, N, N, N, N},
	chime.OpDeleteChannel:                   {Y, Y, N, N, N, N},
	chime.OpDeleteChannelBan:                {Y, Y, N, N, N, N},
	chime.OpDeleteChannelMembership:         {Y, Y, Own, Own, N, N},
	chime.OpDeleteChannelMessage:            {Y, N, N, N, N, N},
	chime.OpDeleteChannelModerator:          {Y, Y, N, N, N, N},
	chime.OpDescribeChannel:                 {Y, Y, Y, Y, Pub, Pub},
	chime.OpDescribeChannelBan:              {Y, Y, N, N, N, N},
	chime.OpDescribeChannelMembership:       {Y, Y, Y, Y, Pub, Pub},
	chime.OpDescribeChannelModerator:        {Y, Y, N, N, N, N},
	chime.OpGetChannelMembershipPreferences: {N, N, Own, Own, N, N},
	chime.OpPutChannelMembershipPreferences: {N, N, Own, Own, N, N},
	chime.OpGetChannelMessage:               {Y, Y, Y, Y, Pub, Pub},
	chime.OpGetChannelMessageStatus:         {Own, Own, Own, Own, Own, Own},
	chime.OpListChannelBans:                 {Y, Y, N, N, N, N},
	chime.OpListChannelMemberships:          {Y, Y, Y, Y, Pub, Pub},
	chime.OpListChannelMessages:             {Y, Y, Y, Y, Pub, Pub},
	chime.OpListChannelModerators:           {Y, Y, Y, Y, N, N},
	chime.OpListSubChannels:                 {Y, Y, N, N, N, N},
	chime.OpPutChannelExpirationSettings:    {Y, Y, N, N, N, N},
	chime.OpRedactChannelMessage:            {Y, Y, Own, Own, N, N},
	chime.OpSendChannelMessage:              {N, N, Y, N, N, N},
	chime.OpUpdateChannel:                   {Y, Y, N, N, N, N},
	chime.OpUpdateChannelMessage:            {N, N, Own, N, N, N},
	chime.OpUpdateChannelReadMarker:         {N, N, Y, Y, N, N},
}

// roles is what a bearer is in one channel.
type roles struct {
	Admin     bool // AppInstanceAdmin of the channel's app instance
	Moderator bool // channel moderator
	Member    bool // DEFAULT member
	Hidden    bool // HIDDEN member
	Banned    bool // banned from the channel
}

func (r roles) String() string {
	var s []string
	for _, f := range []struct {
		on   bool
		name string
	}{{r.Admin, "AppInstanceAdmin"}, {r.Moderator, "channel moderator"}, {r.Member, "member"}, {r.Hidden, "hidden member"}, {r.Banned, "banned"}} {
		if f.on {
			s = append(s, f.name)
		}
	}
	if len(s) == 0 {
		return "not a member"
	}
	return strings.Join(s, ", ")
}

// channelFacts is what the conditional cells look at.
type channelFacts struct {
	Public       bool // Privacy PUBLIC
	Unrestricted bool // Mode UNRESTRICTED
	// Own says the resource the call addresses is the bearer's own: its
	// membership, a message it sent.
	Own bool
}

// allowed reports whether a bearer with roles r may perform op in a
// channel described by f: the union of the cells of the roles it holds.
func allowed(op *chime.Operation, r roles, f channelFacts) bool {
	row, ok := matrix[op]
	if !ok {
		panic(fmt.Sprintf("service: operation %s has no row in the authorization matrix", op.Name))
	}
	grants := func(a access) bool {
		switch a {
		case Y:
			return true
		case Pub:
			return f.Public
		case Own:
			return f.Own
		case Unres:
			return f.Unrestricted
		}
		return false
	}
	member := r.Member || r.Hidden
	switch {
	case r.Admin && grants(row.Admin),
		r.Moderator && grants(row.Moderator),
		r.Member && grants(row.Member),
		r.Hidden && grants(row.Hidden),
		r.Banned && grants(row.Banned),
		!member && !r.Banned && grants(row.NonMember):
		return true
	}
	return false
}
