package service

import (
	"context"
	"strings"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// kinesisStreamPrefix is the name prefix AWS requires of a messaging
// stream (semantics.md §9).
const kinesisStreamPrefix = "chime-messaging-"

// PutMessagingStreamingConfigurations replaces the app instance's
// streaming configurations. Only changes committed after it are streamed.
func (s *Service) PutMessagingStreamingConfigurations(ctx context.Context, in *chime.PutMessagingStreamingConfigurationsRequest) (*chime.PutMessagingStreamingConfigurationsResponse, error) {
	if err := s.permit(ctx, chime.OpPutMessagingStreamingConfigurations, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	if len(in.StreamingConfigurations) == 0 {
		return nil, badRequest("StreamingConfigurations must list 1 or 2 configurations.")
	}
	now := s.now()
	seen := map[chime.MessagingDataType]bool{}
	cs := make([]store.StreamingConfiguration, 0, len(in.StreamingConfigurations))
	for i, c := range in.StreamingConfigurations {
		field := fieldIndex("StreamingConfigurations", i)
		if seen[c.DataType] {
			return nil, badRequest("%s.DataType %s is configured more than once.", field, c.DataType)
		}
		seen[c.DataType] = true
		if err := checkKinesisStreamArn(field+".ResourceArn", deref(c.ResourceArn)); err != nil {
			return nil, err
		}
		cs = append(cs, store.StreamingConfiguration{AppInstanceID: ai.AppInstanceID, DataType: c.DataType, ResourceArn: deref(c.ResourceArn), CreatedAt: now})
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		return tx.PutStreamingConfigurations(ctx, ai.AppInstanceID, cs)
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	return &chime.PutMessagingStreamingConfigurationsResponse{StreamingConfigurations: in.StreamingConfigurations}, nil
}

// checkKinesisStreamArn accepts the ARN of a Kinesis data stream whose
// name has the prefix AWS requires. Belfry cannot see the stream, so its
// shards, encryption, account and region are the operator's business
// (docs/compatibility.md).
func checkKinesisStreamArn(field, arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "kinesis" || parts[3] == "" || parts[4] == "" ||
		!strings.HasPrefix(parts[5], "stream/") {
		return badRequest("%s %q is not a Kinesis data stream ARN (arn:aws:kinesis:<region>:<account>:stream/%s...).", field, arn, kinesisStreamPrefix)
	}
	if name := strings.TrimPrefix(parts[5], "stream/"); !strings.HasPrefix(name, kinesisStreamPrefix) || len(name) == len(kinesisStreamPrefix) {
		return badRequest("%s %s: the stream's name must start with %q.", field, arn, kinesisStreamPrefix)
	}
	return nil
}

// GetMessagingStreamingConfigurations returns the app instance's streaming
// configurations; NotFoundException when it has none.
func (s *Service) GetMessagingStreamingConfigurations(ctx context.Context, in *chime.GetMessagingStreamingConfigurationsRequest) (*chime.GetMessagingStreamingConfigurationsResponse, error) {
	if err := s.permit(ctx, chime.OpGetMessagingStreamingConfigurations, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	out := &chime.GetMessagingStreamingConfigurationsResponse{StreamingConfigurations: []chime.StreamingConfiguration{}}
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		cs, err := tx.ListStreamingConfigurations(ctx, ai.AppInstanceID)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return notFound("AppInstance %s has no streaming configurations.", ai)
		}
		for _, c := range cs {
			out.StreamingConfigurations = append(out.StreamingConfigurations, chime.StreamingConfiguration{
				DataType: chime.MessagingDataType(c.DataType), ResourceArn: optional(c.ResourceArn)})
		}
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	return out, nil
}

// DeleteMessagingStreamingConfigurations stops streaming the app
// instance's events; records already queued are still delivered.
// Deleting when there is nothing to delete succeeds.
func (s *Service) DeleteMessagingStreamingConfigurations(ctx context.Context, in *chime.DeleteMessagingStreamingConfigurationsRequest) error {
	if err := s.permit(ctx, chime.OpDeleteMessagingStreamingConfigurations, in); err != nil {
		return err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		_, err := tx.DeleteStreamingConfigurations(ctx, ai.AppInstanceID)
		return err
	})
	return storeErr(err, "AppInstance "+ai.String())
}
