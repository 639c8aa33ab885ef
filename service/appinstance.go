package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// CreateAppInstance creates an app instance with a UUIDv4 id. It is
// idempotent by ClientRequestToken (semantics.md §3.5).
func (s *Service) CreateAppInstance(ctx context.Context, in *chime.CreateAppInstanceRequest) (*chime.CreateAppInstanceResponse, error) {
	if err := s.permit(ctx, chime.OpCreateAppInstance, in); err != nil {
		return nil, err
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		Name, Metadata *string
		Tags           []chime.Tag
	}{in.Name, in.Metadata, in.Tags})
	const sc = "CreateAppInstance"
	var arn string
	err := s.store.Update(ctx, func(tx store.Tx) error {
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "CreateAppInstance")
		if err != nil || ok {
			arn = prev
			return err
		}
		n, err := tx.CountAppInstances(ctx)
		if err != nil {
			return err
		}
		if n >= MaxAppInstances {
			return limitExceeded("The account already has the maximum of %d AppInstances.", MaxAppInstances)
		}
		now := s.now()
		a, err := tx.CreateAppInstance(ctx, store.AppInstance{
			ID: uuid.NewString(), Name: deref(in.Name), Metadata: deref(in.Metadata), CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
		arn = s.appInstanceArn(a.ID)
		if err := tx.PutTags(ctx, a.ID, arn, storeTags(in.Tags)); err != nil {
			return err
		}
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: arn, AppInstanceID: a.ID})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance")
	}
	return &chime.CreateAppInstanceResponse{AppInstanceArn: &arn}, nil
}

// DescribeAppInstance returns an app instance.
func (s *Service) DescribeAppInstance(ctx context.Context, in *chime.DescribeAppInstanceRequest) (*chime.DescribeAppInstanceResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeAppInstance, in); err != nil {
		return nil, err
	}
	arn, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	a, err := viewOne(ctx, s, "AppInstance "+arn.String(), func(tx store.ReadTx) (store.AppInstance, error) { return tx.GetAppInstance(ctx, arn.AppInstanceID) })
	if err != nil {
		return nil, err
	}
	return &chime.DescribeAppInstanceResponse{AppInstance: &chime.AppInstance{
		AppInstanceArn:       ptr(s.appInstanceArn(a.ID)),
		Name:                 ptr(a.Name),
		Metadata:             optional(a.Metadata),
		CreatedTimestamp:     chime.NewTime(a.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(a.UpdatedAt),
	}}, nil
}

// UpdateAppInstance sets an app instance's name and metadata.
func (s *Service) UpdateAppInstance(ctx context.Context, in *chime.UpdateAppInstanceRequest) (*chime.UpdateAppInstanceResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateAppInstance, in); err != nil {
		return nil, err
	}
	arn, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateAppInstance(ctx, store.AppInstance{ID: arn.AppInstanceID, Name: deref(in.Name), Metadata: deref(in.Metadata), UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+arn.String())
	}
	return &chime.UpdateAppInstanceResponse{AppInstanceArn: ptr(arn.String())}, nil
}

// DeleteAppInstance deletes an app instance and everything in it. Unlike
// AWS, which deletes asynchronously, Belfry deletes in the one transaction:
// once the call returns nothing of it is left.
func (s *Service) DeleteAppInstance(ctx context.Context, in *chime.DeleteAppInstanceRequest) error {
	if err := s.permit(ctx, chime.OpDeleteAppInstance, in); err != nil {
		return err
	}
	arn, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		// The store deletes its users' credentials too.
		return tx.DeleteAppInstance(ctx, arn.AppInstanceID)
	})
	return storeErr(err, "AppInstance "+arn.String())
}

// ListAppInstances lists the account's app instances in creation order.
func (s *Service) ListAppInstances(ctx context.Context, in *chime.ListAppInstancesRequest) (*chime.ListAppInstancesResponse, error) {
	if err := s.permit(ctx, chime.OpListAppInstances, in); err != nil {
		return nil, err
	}
	sc := scope("ListAppInstances")
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var as []store.AppInstance
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		as, err = tx.ListAppInstances(ctx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	as, next := trim(s, sc, as, n, func(a store.AppInstance) int64 { return a.Seq })
	out := &chime.ListAppInstancesResponse{AppInstances: make([]chime.AppInstanceSummary, 0, len(as)), NextToken: next}
	for _, a := range as {
		out.AppInstances = append(out.AppInstances, chime.AppInstanceSummary{
			AppInstanceArn: ptr(s.appInstanceArn(a.ID)), Name: ptr(a.Name), Metadata: optional(a.Metadata),
		})
	}
	return out, nil
}

// requireAppInstance returns NotFoundException unless the app instance exists.
func requireAppInstance(ctx context.Context, tx store.ReadTx, arn chime.ARN) error {
	_, err := tx.GetAppInstance(ctx, arn.AppInstanceID)
	return storeErr(err, "AppInstance "+arn.AppInstanceARN().String())
}

// optional returns nil for "", so that unset optional members are omitted
// from responses rather than sent empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
