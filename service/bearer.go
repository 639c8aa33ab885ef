package service

import (
	"context"
	"errors"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// actor is a resolved user or bot: the bearer of a call, or a member,
// moderator or banned member it names.
type actor struct {
	ARN   chime.ARN
	Actor store.Actor
	Name  string
}

func (a actor) String() string { return a.ARN.String() }

// identity is a as the API's Identity shape.
func (a actor) identity() *chime.Identity {
	return &chime.Identity{Arn: ptr(a.ARN.String()), Name: ptr(a.Name)}
}

// kindOf is the store kind of a user or bot ARN.
func kindOf(a chime.ARN) store.MemberKind {
	if a.Type == chime.ResourceAppInstanceBot {
		return store.MemberBot
	}
	return store.MemberUser
}

// lookupActor returns the user or bot a names, or store.ErrNotFound.
func lookupActor(ctx context.Context, tx store.ReadTx, a chime.ARN) (actor, error) {
	out := actor{ARN: a, Actor: store.Actor{Kind: kindOf(a), ID: a.ID}}
	if out.Actor.Kind == store.MemberBot {
		b, err := tx.GetAppInstanceBot(ctx, a.AppInstanceID, a.ID)
		out.Name = b.Name
		return out, err
	}
	u, err := tx.GetAppInstanceUser(ctx, a.AppInstanceID, a.ID)
	out.Name = u.Name
	return out, err
}

// invalidBearer is the error AWS answers for a bearer it cannot use
// (semantics.md §8.2, observed).
func invalidBearer() error {
	return chime.Errorf(chime.UnauthorizedClient, "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header.")
}

// resolveBearer checks that the x-amz-chime-bearer names an existing user
// or bot of this deployment.
func (s *Service) resolveBearer(ctx context.Context, tx store.ReadTx, arn string) (actor, error) {
	a, err := chime.ParseARN(arn)
	if err != nil || (a.Type != chime.ResourceAppInstanceUser && a.Type != chime.ResourceAppInstanceBot) ||
		a.Partition != "aws" || a.Region != s.cfg.Region || a.Account != s.cfg.AccountID {
		return actor{}, invalidBearer()
	}
	b, err := lookupActor(ctx, tx, a)
	if errors.Is(err, store.ErrNotFound) {
		return b, invalidBearer()
	}
	return b, err
}

// invalidMember is the error for a user or bot ARN in the input that names
// nothing the channel could hold (observed AWS behaviour, semantics.md
// §8.2: ForbiddenException).
func invalidMember(field, arn string) error {
	return chime.Errorf(chime.Forbidden, "An invalid app instance user ARN was supplied for the input parameter %s: %s is not an AppInstanceUser or AppInstanceBot of the channel's AppInstance.", field, arn)
}

// parseMember parses a user or bot ARN the input names (MemberArn,
// ChannelModeratorArn, …): malformed is a BadRequestException; another
// deployment's, or another app instance's than appInstanceID, cannot be
// in the channel.
func (s *Service) parseMember(field, arn, appInstanceID string) (chime.ARN, error) {
	a, err := s.parse(field, arn, "AppInstanceUser or AppInstanceBot", chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot)
	if chime.KindOf(err) == chime.NotFound || (err == nil && a.AppInstanceID != appInstanceID) {
		return a, invalidMember(field, arn)
	}
	return a, err
}

// resolveMember parses and looks up a user or bot the input names, which
// must exist (creating a membership, moderator or ban).
func (s *Service) resolveMember(ctx context.Context, tx store.ReadTx, field, arn, appInstanceID string) (actor, error) {
	a, err := s.parseMember(field, arn, appInstanceID)
	if err != nil {
		return actor{}, err
	}
	m, err := lookupActor(ctx, tx, a)
	if errors.Is(err, store.ErrNotFound) {
		return m, invalidMember(field, arn)
	}
	return m, err
}

// memberRef parses a user or bot ARN the input names without requiring it
// to exist (describing or deleting a membership, moderator or ban of a
// user that may since have been deleted).
func (s *Service) memberRef(field, arn, appInstanceID string) (store.Actor, error) {
	a, err := s.parseMember(field, arn, appInstanceID)
	if err != nil {
		return store.Actor{}, err
	}
	return store.Actor{Kind: kindOf(a), ID: a.ID}, nil
}

// actorArn is the ARN of a store actor.
func (s *Service) actorArn(appInstanceID string, a store.Actor) string {
	return s.memberArn(appInstanceID, a.Kind, a.ID)
}

// isAdmin reports whether a is an AppInstanceAdmin of its app instance.
func isAdmin(ctx context.Context, tx store.ReadTx, a actor) (bool, error) {
	_, err := tx.GetAppInstanceAdmin(ctx, a.ARN.AppInstanceID, a.Actor.Kind, a.Actor.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
