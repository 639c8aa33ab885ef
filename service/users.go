package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// CreateAppInstanceUser creates a user with the id the caller chose. It is
// idempotent by ClientRequestToken; a second user with the same id is a
// ConflictException.
func (s *Service) CreateAppInstanceUser(ctx context.Context, in *chime.CreateAppInstanceUserRequest) (*chime.CreateAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpCreateAppInstanceUser, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		AppInstanceArn, UserID, Name, Metadata *string
		Expiration                             *chime.IdentityExpirationSettings
		Tags                                   []chime.Tag
	}{in.AppInstanceArn, in.AppInstanceUserId, in.Name, in.Metadata, in.ExpirationSettings, in.Tags})
	sc := scope("CreateAppInstanceUser", ai.String())
	userID := deref(in.AppInstanceUserId)
	arn := s.userArn(ai.AppInstanceID, userID)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "CreateAppInstanceUser")
		if err != nil || ok {
			arn = prev
			return err
		}
		if _, err := tx.GetAppInstanceUser(ctx, ai.AppInstanceID, userID); err == nil {
			return conflict("AppInstanceUser %s already exists.", arn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := tx.CountAppInstanceUsers(ctx, ai.AppInstanceID)
		if err != nil {
			return err
		}
		if n >= MaxAppInstanceUsers {
			return limitExceeded("AppInstance %s already has the maximum of %d AppInstanceUsers.", ai, MaxAppInstanceUsers)
		}
		now := s.now()
		u := store.AppInstanceUser{
			AppInstanceID: ai.AppInstanceID, UserID: userID, Name: deref(in.Name), Metadata: deref(in.Metadata),
			CreatedAt: now, UpdatedAt: now,
		}
		u.Expiration = expiration(in.ExpirationSettings, now)
		if _, err := tx.CreateAppInstanceUser(ctx, u); err != nil {
			return storeErr(err, "AppInstanceUser "+arn)
		}
		if err := tx.PutTags(ctx, ai.AppInstanceID, arn, storeTags(in.Tags)); err != nil {
			return err
		}
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: arn,
			AppInstanceID: ai.AppInstanceID, UserID: userID})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceUser "+arn)
	}
	return &chime.CreateAppInstanceUserResponse{AppInstanceUserArn: &arn}, nil
}

// expiration turns the model's settings into the store's, computing the
// instant of expiry from created (the only criterion is CREATED_TIMESTAMP).
func expiration(in *chime.IdentityExpirationSettings, created time.Time) *store.UserExpiration {
	if in == nil || in.ExpirationDays == nil {
		return nil
	}
	days := *in.ExpirationDays
	return &store.UserExpiration{
		Criterion: in.ExpirationCriterion,
		Days:      days,
		At:        created.Add(time.Duration(days) * 24 * time.Hour),
	}
}

// expirationOut is the inverse of expiration, for responses.
func expirationOut(e *store.UserExpiration) *chime.IdentityExpirationSettings {
	if e == nil {
		return nil
	}
	return &chime.IdentityExpirationSettings{ExpirationCriterion: chime.IdentityExpirationCriterion(e.Criterion), ExpirationDays: ptr(e.Days)}
}

// DescribeAppInstanceUser returns a user, with its expiration settings.
func (s *Service) DescribeAppInstanceUser(ctx context.Context, in *chime.DescribeAppInstanceUserRequest) (*chime.DescribeAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeAppInstanceUser, in); err != nil {
		return nil, err
	}
	arn, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	u, err := viewOne(ctx, s, "AppInstanceUser "+arn.String(), func(tx store.ReadTx) (store.AppInstanceUser, error) {
		return tx.GetAppInstanceUser(ctx, arn.AppInstanceID, arn.ID)
	})
	if err != nil {
		return nil, err
	}
	return &chime.DescribeAppInstanceUserResponse{AppInstanceUser: &chime.AppInstanceUser{
		AppInstanceUserArn:   ptr(arn.String()),
		Name:                 ptr(u.Name),
		Metadata:             optional(u.Metadata),
		ExpirationSettings:   expirationOut(u.Expiration),
		CreatedTimestamp:     chime.NewTime(u.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(u.UpdatedAt),
	}}, nil
}

// UpdateAppInstanceUser sets a user's name and metadata.
func (s *Service) UpdateAppInstanceUser(ctx context.Context, in *chime.UpdateAppInstanceUserRequest) (*chime.UpdateAppInstanceUserResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateAppInstanceUser, in); err != nil {
		return nil, err
	}
	arn, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		u, err := tx.GetAppInstanceUser(ctx, arn.AppInstanceID, arn.ID)
		if err != nil {
			return err
		}
		u.Name, u.Metadata, u.UpdatedAt = deref(in.Name), deref(in.Metadata), s.now()
		return tx.UpdateAppInstanceUser(ctx, u)
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceUser "+arn.String())
	}
	return &chime.UpdateAppInstanceUserResponse{AppInstanceUserArn: ptr(arn.String())}, nil
}

// DeleteAppInstanceUser deletes a user and what belongs to it.
func (s *Service) DeleteAppInstanceUser(ctx context.Context, in *chime.DeleteAppInstanceUserRequest) error {
	if err := s.permit(ctx, chime.OpDeleteAppInstanceUser, in); err != nil {
		return err
	}
	arn, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		return s.deleteUser(ctx, tx, arn.AppInstanceID, arn.ID)
	})
	return storeErr(err, "AppInstanceUser "+arn.String())
}

// deleteUser deletes a user; the store takes its admin role, endpoints,
// idempotency records, tags and scoped API credentials along. The API and
// the expiry sweeper both delete through here.
func (s *Service) deleteUser(ctx context.Context, tx store.Tx, appInstanceID, userID string) error {
	return tx.DeleteAppInstanceUser(ctx, appInstanceID, userID)
}

// ListAppInstanceUsers lists an app instance's users in creation order.
func (s *Service) ListAppInstanceUsers(ctx context.Context, in *chime.ListAppInstanceUsersRequest) (*chime.ListAppInstanceUsersResponse, error) {
	if err := s.permit(ctx, chime.OpListAppInstanceUsers, in); err != nil {
		return nil, err
	}
	ai, us, next, err := listInAppInstance(ctx, s, "ListAppInstanceUsers", in.AppInstanceArn, in.MaxResults, in.NextToken,
		func(tx store.ReadTx, id string, p store.Page) ([]store.AppInstanceUser, error) {
			return tx.ListAppInstanceUsers(ctx, id, p)
		},
		func(u store.AppInstanceUser) int64 { return u.Seq })
	if err != nil {
		return nil, err
	}
	out := &chime.ListAppInstanceUsersResponse{AppInstanceArn: ptr(ai.String()), AppInstanceUsers: make([]chime.AppInstanceUserSummary, 0, len(us)), NextToken: next}
	for _, u := range us {
		out.AppInstanceUsers = append(out.AppInstanceUsers, chime.AppInstanceUserSummary{
			AppInstanceUserArn: ptr(s.userArn(u.AppInstanceID, u.UserID)), Name: ptr(u.Name), Metadata: optional(u.Metadata),
		})
	}
	return out, nil
}

// PutAppInstanceUserExpirationSettings sets or (when ExpirationSettings is
// absent) removes a user's expiration. An already expired user that the
// sweeper has not deleted yet can still be given new settings, which are
// honoured (as AWS documents).
func (s *Service) PutAppInstanceUserExpirationSettings(ctx context.Context, in *chime.PutAppInstanceUserExpirationSettingsRequest) (*chime.PutAppInstanceUserExpirationSettingsResponse, error) {
	if err := s.permit(ctx, chime.OpPutAppInstanceUserExpirationSettings, in); err != nil {
		return nil, err
	}
	arn, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	var u store.AppInstanceUser
	err = s.store.Update(ctx, func(tx store.Tx) error {
		u, err = tx.GetAppInstanceUser(ctx, arn.AppInstanceID, arn.ID)
		if err != nil {
			return err
		}
		u.Expiration = expiration(in.ExpirationSettings, u.CreatedAt)
		u.UpdatedAt = s.now()
		return tx.UpdateAppInstanceUser(ctx, u)
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceUser "+arn.String())
	}
	return &chime.PutAppInstanceUserExpirationSettingsResponse{AppInstanceUserArn: ptr(arn.String()), ExpirationSettings: expirationOut(u.Expiration)}, nil
}
