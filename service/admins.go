package service

import (
	"context"
	"errors"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// adminMember parses AppInstanceAdminArn: a user or bot of the app
// instance ai. A user or bot of another app instance is a
// BadRequestException, since it can never be an admin of this one.
func (s *Service) adminMember(ai chime.ARN, adminArn string) (store.MemberKind, chime.ARN, error) {
	a, err := s.parse("AppInstanceAdminArn", adminArn, "AppInstanceUser or AppInstanceBot", chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot)
	if err != nil {
		return "", a, err
	}
	if a.AppInstanceID != ai.AppInstanceID {
		return "", a, badRequest("AppInstanceAdminArn %s does not belong to AppInstance %s.", adminArn, ai)
	}
	if a.Type == chime.ResourceAppInstanceBot {
		return store.MemberBot, a, nil
	}
	return store.MemberUser, a, nil
}

// memberNoun names a member kind in messages.
func memberNoun(k store.MemberKind) string {
	if k == store.MemberBot {
		return "AppInstanceBot"
	}
	return "AppInstanceUser"
}

// parseAdmin parses the AppInstanceArn and AppInstanceAdminArn every admin
// operation takes.
func (s *Service) parseAdmin(appInstanceArn, adminArn *string) (chime.ARN, store.MemberKind, chime.ARN, error) {
	ai, err := s.parseAppInstance("AppInstanceArn", deref(appInstanceArn))
	if err != nil {
		return ai, "", chime.ARN{}, err
	}
	kind, member, err := s.adminMember(ai, deref(adminArn))
	return ai, kind, member, err
}

// CreateAppInstanceAdmin promotes an existing user or bot to admin.
// Promoting an admin again is a ConflictException; a user or bot that does
// not exist is a NotFoundException.
func (s *Service) CreateAppInstanceAdmin(ctx context.Context, in *chime.CreateAppInstanceAdminRequest) (*chime.CreateAppInstanceAdminResponse, error) {
	if err := s.permit(ctx, chime.OpCreateAppInstanceAdmin, in); err != nil {
		return nil, err
	}
	ai, kind, member, err := s.parseAdmin(in.AppInstanceArn, in.AppInstanceAdminArn)
	if err != nil {
		return nil, err
	}
	var admin store.AppInstanceAdmin
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		if err := requireMember(ctx, tx, kind, member); err != nil {
			return err
		}
		if _, err := tx.GetAppInstanceAdmin(ctx, ai.AppInstanceID, kind, member.ID); err == nil {
			return conflict("%s %s is already an AppInstanceAdmin of %s.", memberNoun(kind), member, ai)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := tx.CountAppInstanceAdmins(ctx, ai.AppInstanceID)
		if err != nil {
			return err
		}
		if n >= MaxAppInstanceAdmins {
			return limitExceeded("AppInstance %s already has the maximum of %d AppInstanceAdmins.", ai, MaxAppInstanceAdmins)
		}
		admin, err = tx.CreateAppInstanceAdmin(ctx, store.AppInstanceAdmin{AppInstanceID: ai.AppInstanceID, Kind: kind, MemberID: member.ID, CreatedAt: s.now()})
		return err
	})
	if err != nil {
		return nil, storeErr(err, memberNoun(kind)+" "+member.String())
	}
	return &chime.CreateAppInstanceAdminResponse{
		AppInstanceAdmin: &chime.Identity{Arn: ptr(member.String()), Name: ptr(admin.Name)},
		AppInstanceArn:   ptr(ai.String()),
	}, nil
}

// requireMember returns NotFoundException unless the user or bot exists.
func requireMember(ctx context.Context, tx store.ReadTx, kind store.MemberKind, m chime.ARN) error {
	var err error
	if kind == store.MemberBot {
		_, err = tx.GetAppInstanceBot(ctx, m.AppInstanceID, m.ID)
	} else {
		_, err = tx.GetAppInstanceUser(ctx, m.AppInstanceID, m.ID)
	}
	return storeErr(err, memberNoun(kind)+" "+m.String())
}

// DescribeAppInstanceAdmin returns an admin; a user or bot that is not an
// admin is a NotFoundException.
func (s *Service) DescribeAppInstanceAdmin(ctx context.Context, in *chime.DescribeAppInstanceAdminRequest) (*chime.DescribeAppInstanceAdminResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeAppInstanceAdmin, in); err != nil {
		return nil, err
	}
	ai, kind, member, err := s.parseAdmin(in.AppInstanceArn, in.AppInstanceAdminArn)
	if err != nil {
		return nil, err
	}
	var a store.AppInstanceAdmin
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		a, err = tx.GetAppInstanceAdmin(ctx, ai.AppInstanceID, kind, member.ID)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("%s %s is not an AppInstanceAdmin of %s.", memberNoun(kind), member, ai)
		}
		return err
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceAdmin "+member.String())
	}
	return &chime.DescribeAppInstanceAdminResponse{AppInstanceAdmin: &chime.AppInstanceAdmin{
		Admin:            &chime.Identity{Arn: ptr(member.String()), Name: ptr(a.Name)},
		AppInstanceArn:   ptr(ai.String()),
		CreatedTimestamp: chime.NewTime(a.CreatedAt),
	}}, nil
}

// DeleteAppInstanceAdmin demotes an admin; the user or bot stays.
func (s *Service) DeleteAppInstanceAdmin(ctx context.Context, in *chime.DeleteAppInstanceAdminRequest) error {
	if err := s.permit(ctx, chime.OpDeleteAppInstanceAdmin, in); err != nil {
		return err
	}
	ai, kind, member, err := s.parseAdmin(in.AppInstanceArn, in.AppInstanceAdminArn)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		err := tx.DeleteAppInstanceAdmin(ctx, ai.AppInstanceID, kind, member.ID)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("%s %s is not an AppInstanceAdmin of %s.", memberNoun(kind), member, ai)
		}
		return err
	})
	return storeErr(err, "AppInstanceAdmin "+member.String())
}

// ListAppInstanceAdmins lists an app instance's admins in promotion order.
func (s *Service) ListAppInstanceAdmins(ctx context.Context, in *chime.ListAppInstanceAdminsRequest) (*chime.ListAppInstanceAdminsResponse, error) {
	if err := s.permit(ctx, chime.OpListAppInstanceAdmins, in); err != nil {
		return nil, err
	}
	ai, as, next, err := listInAppInstance(ctx, s, "ListAppInstanceAdmins", in.AppInstanceArn, in.MaxResults, in.NextToken,
		func(tx store.ReadTx, id string, p store.Page) ([]store.AppInstanceAdmin, error) {
			return tx.ListAppInstanceAdmins(ctx, id, p)
		},
		func(a store.AppInstanceAdmin) int64 { return a.Seq })
	if err != nil {
		return nil, err
	}
	out := &chime.ListAppInstanceAdminsResponse{AppInstanceArn: ptr(ai.String()), AppInstanceAdmins: make([]chime.AppInstanceAdminSummary, 0, len(as)), NextToken: next}
	for _, a := range as {
		out.AppInstanceAdmins = append(out.AppInstanceAdmins, chime.AppInstanceAdminSummary{
			Admin: &chime.Identity{Arn: ptr(s.memberArn(a.AppInstanceID, a.Kind, a.MemberID)), Name: ptr(a.Name)},
		})
	}
	return out, nil
}

// memberArn is the ARN of a user or bot.
func (s *Service) memberArn(appInstanceID string, kind store.MemberKind, id string) string {
	if kind == store.MemberBot {
		return s.botArn(appInstanceID, id)
	}
	return s.userArn(appInstanceID, id)
}
