package service

import (
	"context"
	"errors"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// PutAppInstanceRetentionSettings stores an app instance's retention
// settings; an empty ChannelRetentionSettings disables retention. Belfry
// stores them (enforcement comes with messages). InitiateDeletionTimestamp
// is when deletion would start: RetentionGracePeriod after the settings
// last changed (re-putting the same days keeps it), absent when disabled.
func (s *Service) PutAppInstanceRetentionSettings(ctx context.Context, in *chime.PutAppInstanceRetentionSettingsRequest) (*chime.PutAppInstanceRetentionSettingsResponse, error) {
	if err := s.permit(ctx, chime.OpPutAppInstanceRetentionSettings, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	var days *int32
	if in.AppInstanceRetentionSettings != nil && in.AppInstanceRetentionSettings.ChannelRetentionSettings != nil {
		days = in.AppInstanceRetentionSettings.ChannelRetentionSettings.RetentionDays
	}
	var r store.RetentionSettings
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		old, err := tx.GetRetentionSettings(ctx, ai.AppInstanceID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.now()
		r = store.RetentionSettings{AppInstanceID: ai.AppInstanceID, ChannelRetentionDays: days, UpdatedAt: now}
		switch {
		case days == nil:
		case old.ChannelRetentionDays != nil && *old.ChannelRetentionDays == *days && old.InitiateDeletionAt != nil:
			r.InitiateDeletionAt = old.InitiateDeletionAt
		default:
			t := now.Add(RetentionGracePeriod)
			r.InitiateDeletionAt = &t
		}
		return tx.PutRetentionSettings(ctx, r)
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	out := &chime.PutAppInstanceRetentionSettingsResponse{AppInstanceRetentionSettings: retentionOut(r)}
	if r.InitiateDeletionAt != nil {
		out.InitiateDeletionTimestamp = chime.NewTime(*r.InitiateDeletionAt)
	}
	return out, nil
}

// GetAppInstanceRetentionSettings returns an app instance's retention
// settings: empty (retention disabled) if none were put.
func (s *Service) GetAppInstanceRetentionSettings(ctx context.Context, in *chime.GetAppInstanceRetentionSettingsRequest) (*chime.GetAppInstanceRetentionSettingsResponse, error) {
	if err := s.permit(ctx, chime.OpGetAppInstanceRetentionSettings, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	var r store.RetentionSettings
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		r, err = tx.GetRetentionSettings(ctx, ai.AppInstanceID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	out := &chime.GetAppInstanceRetentionSettingsResponse{AppInstanceRetentionSettings: retentionOut(r)}
	if r.InitiateDeletionAt != nil {
		out.InitiateDeletionTimestamp = chime.NewTime(*r.InitiateDeletionAt)
	}
	return out, nil
}

func retentionOut(r store.RetentionSettings) *chime.AppInstanceRetentionSettings {
	crs := &chime.ChannelRetentionSettings{}
	if r.ChannelRetentionDays != nil {
		crs.RetentionDays = ptr(*r.ChannelRetentionDays)
	}
	return &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: crs}
}
