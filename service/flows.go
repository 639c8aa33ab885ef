package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// Channel flows: CRUD of the developer API, association with channels
// (bearer operations, admins and moderators), and the processors' callback.
// The processing of messages is in flowjobs.go.

func (s *Service) channelFlowArn(appInstanceID, flowID string) string {
	return s.arn(appInstanceID, chime.ResourceChannelFlow, flowID).String()
}

// parseFlow parses a ChannelFlow ARN.
func (s *Service) parseFlow(field, arn string) (chime.ARN, error) {
	return s.parse(field, arn, "ChannelFlow", chime.ResourceChannelFlow)
}

// encodeProcessors checks what the model cannot (AWS supports one
// processor per flow, semantics.md §4.6, a quota; ExecutionOrder follows
// the list) and encodes the processors for the store.
func encodeProcessors(ps []chime.Processor) (string, error) {
	if len(ps) > MaxProcessorsPerFlow {
		return "", limitExceeded("Processors has %d processors; a channel flow supports at most %d.", len(ps), MaxProcessorsPerFlow)
	}
	for i, p := range ps {
		if o := *p.ExecutionOrder; o != int32(i+1) {
			return "", badRequest("Processors[%d].ExecutionOrder is %d; with %d processor(s) the orders must be 1..%d in list order.", i, o, len(ps), len(ps))
		}
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// processors decodes a flow's stored processors.
func processors(f store.ChannelFlow) []chime.Processor {
	var ps []chime.Processor
	if json.Unmarshal([]byte(f.Processors), &ps) != nil {
		return []chime.Processor{}
	}
	return ps
}

// CreateChannelFlow creates a channel flow. It is idempotent by
// ClientRequestToken within the app instance.
func (s *Service) CreateChannelFlow(ctx context.Context, in *chime.CreateChannelFlowRequest) (*chime.CreateChannelFlowResponse, error) {
	if err := s.permit(ctx, chime.OpCreateChannelFlow, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	procs, err := encodeProcessors(in.Processors)
	if err != nil {
		return nil, err
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		Name       *string
		Processors []chime.Processor
		Tags       []chime.Tag
	}{in.Name, in.Processors, in.Tags})
	sc := scope("CreateChannelFlow", ai.String())
	var arn string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "CreateChannelFlow")
		if err != nil || ok {
			arn = prev
			return err
		}
		n, err := tx.CountChannelFlows(ctx, ai.AppInstanceID)
		if err != nil {
			return err
		}
		if n >= MaxChannelFlows {
			return limitExceeded("AppInstance %s already has the maximum of %d channel flows.", ai, MaxChannelFlows)
		}
		now := s.now()
		f, err := tx.CreateChannelFlow(ctx, store.ChannelFlow{
			AppInstanceID: ai.AppInstanceID, FlowID: uuid.NewString(), Name: deref(in.Name), Processors: procs,
			CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
		arn = s.channelFlowArn(ai.AppInstanceID, f.FlowID)
		if err := tx.PutTags(ctx, ai.AppInstanceID, arn, storeTags(in.Tags)); err != nil {
			return err
		}
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: arn,
			AppInstanceID: ai.AppInstanceID, FlowID: f.FlowID})
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	return &chime.CreateChannelFlowResponse{ChannelFlowArn: &arn}, nil
}

// DescribeChannelFlow returns a channel flow.
func (s *Service) DescribeChannelFlow(ctx context.Context, in *chime.DescribeChannelFlowRequest) (*chime.DescribeChannelFlowResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannelFlow, in); err != nil {
		return nil, err
	}
	a, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return nil, err
	}
	f, err := viewOne(ctx, s, "ChannelFlow "+a.String(), func(tx store.ReadTx) (store.ChannelFlow, error) { return tx.GetChannelFlow(ctx, a.AppInstanceID, a.ID) })
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelFlowResponse{ChannelFlow: &chime.ChannelFlow{
		ChannelFlowArn: ptr(a.String()), Name: ptr(f.Name), Processors: processors(f),
		CreatedTimestamp: chime.NewTime(f.CreatedAt), LastUpdatedTimestamp: chime.NewTime(f.UpdatedAt),
	}}, nil
}

// UpdateChannelFlow replaces a flow's name and processors. Messages already
// being processed keep the processor they were sent to.
func (s *Service) UpdateChannelFlow(ctx context.Context, in *chime.UpdateChannelFlowRequest) (*chime.UpdateChannelFlowResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateChannelFlow, in); err != nil {
		return nil, err
	}
	a, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return nil, err
	}
	procs, err := encodeProcessors(in.Processors)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		f, err := tx.GetChannelFlow(ctx, a.AppInstanceID, a.ID)
		if err != nil {
			return err
		}
		f.Name, f.Processors, f.UpdatedAt = deref(in.Name), procs, s.now()
		return tx.UpdateChannelFlow(ctx, f)
	})
	if err != nil {
		return nil, storeErr(err, "ChannelFlow "+a.String())
	}
	return &chime.UpdateChannelFlowResponse{ChannelFlowArn: ptr(a.String())}, nil
}

// DeleteChannelFlow deletes a flow no channel is associated with.
func (s *Service) DeleteChannelFlow(ctx context.Context, in *chime.DeleteChannelFlowRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannelFlow, in); err != nil {
		return err
	}
	a, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteChannelFlow(ctx, a.AppInstanceID, a.ID)
		if errors.Is(err, store.ErrConflict) {
			return conflict("ChannelFlow %s is associated with channels; DisassociateChannelFlow first.", a)
		}
		return err // the store deletes its tags too
	})
	return storeErr(err, "ChannelFlow "+a.String())
}

// ListChannelFlows lists an app instance's flows in creation order.
func (s *Service) ListChannelFlows(ctx context.Context, in *chime.ListChannelFlowsRequest) (*chime.ListChannelFlowsResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelFlows, in); err != nil {
		return nil, err
	}
	_, fs, next, err := listInAppInstance(ctx, s, "ListChannelFlows", in.AppInstanceArn, in.MaxResults, in.NextToken,
		func(tx store.ReadTx, id string, p store.Page) ([]store.ChannelFlow, error) {
			return tx.ListChannelFlows(ctx, id, p)
		},
		func(f store.ChannelFlow) int64 { return f.Seq })
	if err != nil {
		return nil, err
	}
	out := &chime.ListChannelFlowsResponse{ChannelFlows: make([]chime.ChannelFlowSummary, 0, len(fs)), NextToken: next}
	for _, f := range fs {
		out.ChannelFlows = append(out.ChannelFlows, chime.ChannelFlowSummary{
			ChannelFlowArn: ptr(s.channelFlowArn(f.AppInstanceID, f.FlowID)), Name: ptr(f.Name), Processors: processors(f),
		})
	}
	return out, nil
}

// ListChannelsAssociatedWithChannelFlow lists the channels a flow serves.
func (s *Service) ListChannelsAssociatedWithChannelFlow(ctx context.Context, in *chime.ListChannelsAssociatedWithChannelFlowRequest) (*chime.ListChannelsAssociatedWithChannelFlowResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelsAssociatedWithChannelFlow, in); err != nil {
		return nil, err
	}
	a, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return nil, err
	}
	sc := scope("ListChannelsAssociatedWithChannelFlow", a.String())
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var chs []store.Channel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if _, err := tx.GetChannelFlow(ctx, a.AppInstanceID, a.ID); err != nil {
			return storeErr(err, "ChannelFlow "+a.String())
		}
		chs, err = tx.ListChannelsWithFlow(ctx, a.AppInstanceID, a.ID, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	chs, next := trim(s, sc, chs, n, func(c store.Channel) int64 { return c.Seq })
	out := &chime.ListChannelsAssociatedWithChannelFlowResponse{Channels: make([]chime.ChannelAssociatedWithFlowSummary, 0, len(chs)), NextToken: next}
	for _, c := range chs {
		out.Channels = append(out.Channels, chime.ChannelAssociatedWithFlowSummary{
			ChannelArn: ptr(s.channelArn(c.AppInstanceID, c.ChannelID)), Name: ptr(c.Name), Metadata: optional(c.Metadata),
			Mode: chime.ChannelMode(c.Mode), Privacy: chime.ChannelPrivacy(c.Privacy),
		})
	}
	return out, nil
}

// AssociateChannelFlow gives a channel a flow: from now on its new and
// edited STANDARD messages go to the flow's processor first. A channel has
// at most one flow (ConflictException).
func (s *Service) AssociateChannelFlow(ctx context.Context, in *chime.AssociateChannelFlowRequest) error {
	if err := s.permit(ctx, chime.OpAssociateChannelFlow, in); err != nil {
		return err
	}
	f, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpAssociateChannelFlow, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		if f.AppInstanceID != c.ch.AppInstanceID {
			return badRequest("ChannelFlowArn %s belongs to another AppInstance than channel %s.", f, c.arn)
		}
		if _, err := tx.GetChannelFlow(ctx, f.AppInstanceID, f.ID); err != nil {
			return storeErr(err, "ChannelFlow "+f.String())
		}
		if c.ch.FlowID != "" {
			return conflict("Channel %s is already associated with ChannelFlow %s.", c.arn, s.channelFlowArn(c.ch.AppInstanceID, c.ch.FlowID))
		}
		ch := c.ch
		ch.FlowID, ch.UpdatedAt = f.ID, s.now()
		return tx.UpdateChannel(ctx, ch)
	})
}

// DisassociateChannelFlow removes a channel's flow; messages already with
// the processor still complete through its callback.
func (s *Service) DisassociateChannelFlow(ctx context.Context, in *chime.DisassociateChannelFlowRequest) error {
	if err := s.permit(ctx, chime.OpDisassociateChannelFlow, in); err != nil {
		return err
	}
	f, err := s.parseFlow("ChannelFlowArn", deref(in.ChannelFlowArn))
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpDisassociateChannelFlow, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		if c.ch.FlowID != f.ID || f.AppInstanceID != c.ch.AppInstanceID {
			return notFound("Channel %s is not associated with ChannelFlow %s.", c.arn, f)
		}
		ch := c.ch
		ch.FlowID, ch.UpdatedAt = "", s.now()
		return tx.UpdateChannel(ctx, ch)
	})
}
