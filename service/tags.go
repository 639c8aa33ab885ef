package service

import (
	"context"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// The tag operations are shared by both APIs and accept the ARN of any
// Chime resource: app instances, users, bots, channels and channel flows.

// resourceOwner checks that the resource arn names exists and returns it
// parsed (its AppInstanceID owns the tags).
func (s *Service) resourceOwner(ctx context.Context, tx store.ReadTx, arn string) (chime.ARN, error) {
	a, err := s.parse("ResourceARN", arn, "Chime resource",
		chime.ResourceAppInstance, chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot, chime.ResourceChannel, chime.ResourceChannelFlow)
	if err != nil {
		return a, err
	}
	switch a.Type {
	case chime.ResourceAppInstance:
		_, err = tx.GetAppInstance(ctx, a.AppInstanceID)
	case chime.ResourceAppInstanceUser:
		_, err = tx.GetAppInstanceUser(ctx, a.AppInstanceID, a.ID)
	case chime.ResourceAppInstanceBot:
		_, err = tx.GetAppInstanceBot(ctx, a.AppInstanceID, a.ID)
	case chime.ResourceChannel:
		_, err = tx.GetChannel(ctx, a.AppInstanceID, a.ID)
	case chime.ResourceChannelFlow:
		_, err = tx.GetChannelFlow(ctx, a.AppInstanceID, a.ID)
	}
	return a, storeErr(err, "Resource "+arn)
}

// storeTags converts model tags; a key given twice keeps its last value.
func storeTags(in []chime.Tag) []store.Tag {
	out := make([]store.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, store.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

// TagResource adds tags to a resource, replacing the values of keys it
// has. More than MaxTagsPerResource in all is a
// ResourceLimitExceededException, and nothing is added.
func (s *Service) TagResource(ctx context.Context, in *chime.TagResourceRequest) error {
	if err := s.permit(ctx, chime.OpTagResource, in); err != nil {
		return err
	}
	arn := deref(in.ResourceARN)
	return s.store.Update(ctx, func(tx store.Tx) error {
		a, err := s.resourceOwner(ctx, tx, arn)
		if err != nil {
			return err
		}
		have, err := tx.ListTags(ctx, arn)
		if err != nil {
			return err
		}
		keys := map[string]bool{}
		for _, t := range have {
			keys[t.Key] = true
		}
		tags := storeTags(in.Tags)
		for _, t := range tags {
			keys[t.Key] = true
		}
		if len(keys) > MaxTagsPerResource {
			return limitExceeded("TooManyTags: resource %s would have %d tags; at most %d are allowed.", arn, len(keys), MaxTagsPerResource)
		}
		return tx.PutTags(ctx, a.AppInstanceID, arn, tags)
	})
}

// UntagResource removes tag keys from a resource; absent keys are ignored.
func (s *Service) UntagResource(ctx context.Context, in *chime.UntagResourceRequest) error {
	if err := s.permit(ctx, chime.OpUntagResource, in); err != nil {
		return err
	}
	arn := deref(in.ResourceARN)
	return s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.resourceOwner(ctx, tx, arn); err != nil {
			return err
		}
		return tx.DeleteTags(ctx, arn, in.TagKeys)
	})
}

// ListTagsForResource returns a resource's tags, ordered by key.
func (s *Service) ListTagsForResource(ctx context.Context, in *chime.ListTagsForResourceRequest) (*chime.ListTagsForResourceResponse, error) {
	if err := s.permit(ctx, chime.OpListTagsForResource, in); err != nil {
		return nil, err
	}
	arn := deref(in.ResourceARN)
	var tags []store.Tag
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := s.resourceOwner(ctx, tx, arn); err != nil {
			return err
		}
		var err error
		tags, err = tx.ListTags(ctx, arn)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &chime.ListTagsForResourceResponse{Tags: make([]chime.Tag, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, chime.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out, nil
}
