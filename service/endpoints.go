package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// RegisterAppInstanceUserEndpoint registers a push endpoint for a user. It
// is idempotent by ClientRequestToken. A device token can be registered
// once per app instance and endpoint type (whichever user holds it): a
// second registration is a ConflictException, as AWS answers (semantics.md
// §3.5). More than MaxEndpointsPerUser is a ResourceLimitExceededException.
func (s *Service) RegisterAppInstanceUserEndpoint(ctx context.Context, in *chime.RegisterAppInstanceUserEndpointRequest) (*chime.RegisterAppInstanceUserEndpointResponse, error) {
	if err := s.permit(ctx, chime.OpRegisterAppInstanceUserEndpoint, in); err != nil {
		return nil, err
	}
	user, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	attrs := in.EndpointAttributes
	if attrs == nil {
		attrs = &chime.EndpointAttributes{}
	}
	if deref(attrs.VoipDeviceToken) != "" && in.Type == chime.AppInstanceUserEndpointTypeGcm {
		return nil, badRequest("EndpointAttributes.VoipDeviceToken is for APNS and APNS_SANDBOX endpoints only.")
	}
	allow := in.AllowMessages
	if allow == "" {
		allow = chime.AllowMessagesAll
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		Name, ResourceArn *string
		Type              chime.AppInstanceUserEndpointType
		Attrs             *chime.EndpointAttributes
		Allow             chime.AllowMessages
	}{in.Name, in.ResourceArn, in.Type, attrs, allow})
	sc := scope("RegisterAppInstanceUserEndpoint", user.String())
	var endpointID string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetAppInstanceUser(ctx, user.AppInstanceID, user.ID); err != nil {
			return storeErr(err, "AppInstanceUser "+user.String())
		}
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "RegisterAppInstanceUserEndpoint")
		if err != nil || ok {
			endpointID = prev
			return err
		}
		n, err := tx.CountAppInstanceUserEndpoints(ctx, user.AppInstanceID, user.ID)
		if err != nil {
			return err
		}
		if n >= MaxEndpointsPerUser {
			return limitExceeded("AppInstanceUser %s already has the maximum of %d endpoints.", user, MaxEndpointsPerUser)
		}
		now := s.now()
		e, err := tx.CreateAppInstanceUserEndpoint(ctx, store.AppInstanceUserEndpoint{
			AppInstanceID: user.AppInstanceID, UserID: user.ID, EndpointID: uuid.NewString(),
			Name: deref(in.Name), Type: in.Type, ResourceArn: deref(in.ResourceArn),
			DeviceToken: deref(attrs.DeviceToken), VoipDeviceToken: deref(attrs.VoipDeviceToken),
			AllowMessages: string(allow), CreatedAt: now, UpdatedAt: now,
		})
		if errors.Is(err, store.ErrConflict) {
			return conflict("The device token is already registered as a %s endpoint in AppInstance %s.", in.Type, user.AppInstanceARN())
		}
		if err != nil {
			return err
		}
		endpointID = e.EndpointID
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: endpointID,
			AppInstanceID: user.AppInstanceID, EndpointID: endpointID})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceUserEndpoint")
	}
	return &chime.RegisterAppInstanceUserEndpointResponse{AppInstanceUserArn: ptr(user.String()), EndpointId: &endpointID}, nil
}

// endpointState is every endpoint's state: Belfry does not talk to
// Pinpoint, so it never learns that a token or application is invalid.
func endpointState() *chime.EndpointState {
	return &chime.EndpointState{Status: chime.EndpointStatusActive}
}

// endpointNotFound names a missing endpoint.
func endpointNotFound(user chime.ARN, id string) error {
	return notFound("Endpoint %s of AppInstanceUser %s not found.", id, user)
}

// DescribeAppInstanceUserEndpoint returns an endpoint.
func (s *Service) DescribeAppInstanceUserEndpoint(ctx context.Context, in *chime.DescribeAppInstanceUserEndpointRequest) (*chime.DescribeAppInstanceUserEndpointResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeAppInstanceUserEndpoint, in); err != nil {
		return nil, err
	}
	user, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	id := deref(in.EndpointId)
	var e store.AppInstanceUserEndpoint
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		e, err = tx.GetAppInstanceUserEndpoint(ctx, user.AppInstanceID, user.ID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, endpointNotFound(user, id)
	}
	if err != nil {
		return nil, err
	}
	return &chime.DescribeAppInstanceUserEndpointResponse{AppInstanceUserEndpoint: &chime.AppInstanceUserEndpoint{
		AppInstanceUserArn:   ptr(user.String()),
		EndpointId:           ptr(e.EndpointID),
		Name:                 optional(e.Name),
		Type:                 chime.AppInstanceUserEndpointType(e.Type),
		ResourceArn:          ptr(e.ResourceArn),
		EndpointAttributes:   &chime.EndpointAttributes{DeviceToken: ptr(e.DeviceToken), VoipDeviceToken: optional(e.VoipDeviceToken)},
		AllowMessages:        chime.AllowMessages(e.AllowMessages),
		EndpointState:        endpointState(),
		CreatedTimestamp:     chime.NewTime(e.CreatedAt),
		LastUpdatedTimestamp: chime.NewTime(e.UpdatedAt),
	}}, nil
}

// UpdateAppInstanceUserEndpoint sets an endpoint's Name and AllowMessages
// (those given); nothing else of an endpoint can change.
func (s *Service) UpdateAppInstanceUserEndpoint(ctx context.Context, in *chime.UpdateAppInstanceUserEndpointRequest) (*chime.UpdateAppInstanceUserEndpointResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateAppInstanceUserEndpoint, in); err != nil {
		return nil, err
	}
	user, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	id := deref(in.EndpointId)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		e, err := tx.GetAppInstanceUserEndpoint(ctx, user.AppInstanceID, user.ID, id)
		if err != nil {
			return err
		}
		if in.Name != nil {
			e.Name = *in.Name
		}
		if in.AllowMessages != "" {
			e.AllowMessages = string(in.AllowMessages)
		}
		e.UpdatedAt = s.now()
		return tx.UpdateAppInstanceUserEndpoint(ctx, e)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, endpointNotFound(user, id)
	}
	if err != nil {
		return nil, err
	}
	return &chime.UpdateAppInstanceUserEndpointResponse{AppInstanceUserArn: ptr(user.String()), EndpointId: &id}, nil
}

// DeregisterAppInstanceUserEndpoint deletes an endpoint.
func (s *Service) DeregisterAppInstanceUserEndpoint(ctx context.Context, in *chime.DeregisterAppInstanceUserEndpointRequest) error {
	if err := s.permit(ctx, chime.OpDeregisterAppInstanceUserEndpoint, in); err != nil {
		return err
	}
	user, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return err
	}
	id := deref(in.EndpointId)
	err = s.store.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteAppInstanceUserEndpoint(ctx, user.AppInstanceID, user.ID, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return endpointNotFound(user, id)
	}
	return err
}

// ListAppInstanceUserEndpoints lists a user's endpoints in creation order.
func (s *Service) ListAppInstanceUserEndpoints(ctx context.Context, in *chime.ListAppInstanceUserEndpointsRequest) (*chime.ListAppInstanceUserEndpointsResponse, error) {
	if err := s.permit(ctx, chime.OpListAppInstanceUserEndpoints, in); err != nil {
		return nil, err
	}
	user, err := s.parseUser("AppInstanceUserArn", deref(in.AppInstanceUserArn))
	if err != nil {
		return nil, err
	}
	sc := scope("ListAppInstanceUserEndpoints", user.String())
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var es []store.AppInstanceUserEndpoint
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := tx.GetAppInstanceUser(ctx, user.AppInstanceID, user.ID); err != nil {
			return err
		}
		es, err = tx.ListAppInstanceUserEndpoints(ctx, user.AppInstanceID, user.ID, p)
		return err
	})
	if err != nil {
		return nil, storeErr(err, "AppInstanceUser "+user.String())
	}
	es, next := trim(s, sc, es, n, func(e store.AppInstanceUserEndpoint) int64 { return e.Seq })
	out := &chime.ListAppInstanceUserEndpointsResponse{AppInstanceUserEndpoints: make([]chime.AppInstanceUserEndpointSummary, 0, len(es)), NextToken: next}
	for _, e := range es {
		out.AppInstanceUserEndpoints = append(out.AppInstanceUserEndpoints, chime.AppInstanceUserEndpointSummary{
			AppInstanceUserArn: ptr(user.String()),
			EndpointId:         ptr(e.EndpointID),
			Name:               optional(e.Name),
			Type:               chime.AppInstanceUserEndpointType(e.Type),
			AllowMessages:      chime.AllowMessages(e.AllowMessages),
			EndpointState:      endpointState(),
		})
	}
	return out, nil
}
