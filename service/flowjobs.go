package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/internal/retry"
	"github.com/belfryhq/belfry/store"
)

// Message processing by channel flows (websocket-protocol.md §5.4):
//
//	Send/UpdateChannelMessage on a channel with a flow, STANDARD message
//	  -> PENDING: a durable store.FlowJob; the sender alone hears PENDING_*
//	  -> flowjobs.Runner invokes the processor (retrying with backoff)
//	       accepted                -> WAITING for ChannelFlowCallback
//	       gave up, CONTINUE       -> SENT as sent
//	       gave up, ABORT          -> FAILED; the sender hears FAILED_*
//	  -> ChannelFlowCallback       -> SENT with the processor's changes, or
//	     DeleteResource            -> DENIED (never stored); the sender hears DENIED_*
//
// Jobs live in the store, so a restart loses nothing: package flowjobs
// runs them (claims, leases, invocations) and reports each outcome to
// FlowJobInvoked; callbacks complete waiting jobs.

// pendingMessage is a message with a processor: as it will be delivered
// once SENT.
type pendingMessage struct {
	Message     store.ChannelMessage
	Persistence string
}

// flowed reports whether m on ch goes through the channel's flow: only
// STANDARD messages do, CONTROL messages are delivered at once.
func flowed(ch store.Channel, typ chime.ChannelMessageType) bool {
	return ch.FlowID != "" && typ == chime.ChannelMessageTypeStandard
}

// startFlowJob records that m must go through ch's flow and tells the
// sender it is PENDING.
func (s *Service) startFlowJob(ctx context.Context, tx store.Tx, ch store.Channel, m store.ChannelMessage, persistence string, update bool) error {
	f, err := tx.GetChannelFlow(ctx, ch.AppInstanceID, ch.FlowID)
	if err != nil {
		return err
	}
	ps := processors(f)
	if len(ps) == 0 || ps[0].Configuration == nil || ps[0].Configuration.Lambda == nil {
		return chime.Errorf(chime.BadRequest, "ChannelFlow %s has no processor.", s.channelFlowArn(f.AppInstanceID, f.FlowID))
	}
	js, err := json.Marshal(pendingMessage{Message: m, Persistence: persistence})
	if err != nil {
		return err
	}
	now := s.now()
	err = tx.CreateFlowJob(ctx, store.FlowJob{
		CallbackID: newID(), AppInstanceID: ch.AppInstanceID, ChannelID: ch.ChannelID, MessageID: m.MessageID,
		Update: update, Message: string(js), FlowID: f.FlowID,
		ProcessorArn: deref(ps[0].Configuration.Lambda.ResourceArn), Fallback: ps[0].FallbackAction,
		State: store.FlowJobInvoking, NextAttemptAt: now, Deadline: now.Add(FlowCallbackWindow),
		CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return err
	}
	pending := m
	pending.Status = chime.ChannelMessageStatusPending
	typ := "PENDING_CREATE_CHANNEL_MESSAGE"
	if update {
		typ = "PENDING_UPDATE_CHANNEL_MESSAGE"
	}
	s.emit(tx, s.senderEvent(typ, pending, persistence))
	if s.cfg.FlowJobsQueued != nil {
		tx.AfterCommit(s.cfg.FlowJobsQueued)
	}
	return nil
}

// senderEvent is a message event for the sender alone (flow statuses).
func (s *Service) senderEvent(typ string, m store.ChannelMessage, persistence string) events.Event {
	e := s.messageEvent(typ, m, persistence)
	e.Members, e.Users = false, []string{s.actorArn(m.AppInstanceID, m.Sender)}
	return e
}

// FlowProcessorEvent implements flowjobs.Jobs: the event j's processor
// receives (websocket-protocol.md §5.2).
func (s *Service) FlowProcessorEvent(j store.FlowJob) ([]byte, error) {
	var pm pendingMessage
	if err := json.Unmarshal([]byte(j.Message), &pm); err != nil {
		return nil, err
	}
	p := s.messageEventPayload(pm.Message, pm.Persistence)
	return payload(p.ProcessorEvent(j.CallbackID)), nil
}

// FlowJobInvoked implements flowjobs.Jobs: it records the outcome of one
// invocation: WAITING on success; on failure a retry with backoff, or the
// FallbackAction once the attempts are spent or the failure is permanent.
func (s *Service) FlowJobInvoked(ctx context.Context, callbackID string, invokeErr error) error {
	return s.store.Update(ctx, func(tx store.Tx) error {
		j, err := tx.GetFlowJob(ctx, callbackID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the channel went away meanwhile
		}
		if err != nil || j.State != store.FlowJobInvoking {
			return err // the callback came first
		}
		now := s.now()
		j.UpdatedAt = now
		if invokeErr == nil {
			j.State = store.FlowJobWaiting
			return tx.UpdateFlowJob(ctx, j)
		}
		j.Attempts++
		if !retry.IsPermanent(invokeErr) && j.Attempts < FlowInvokeAttempts {
			j.NextAttemptAt = now.Add(FlowRetryBase << (j.Attempts - 1))
			return tx.UpdateFlowJob(ctx, j)
		}
		var pm pendingMessage
		if err := json.Unmarshal([]byte(j.Message), &pm); err != nil {
			return err
		}
		if j.Fallback == chime.FallbackActionContinue {
			return s.completeFlowJob(ctx, tx, j, pm, chime.ChannelMessageStatusSent, "", "")
		}
		// The sender sees the reason; the processor's own error text stays
		// out of it.
		return s.completeFlowJob(ctx, tx, j, pm, chime.ChannelMessageStatusFailed,
			"The channel flow's processor "+j.ProcessorArn+" could not be invoked.", "")
	})
}

// completeFlowJob finishes a job with outcome: SENT delivers pm (stored
// and to every member), DENIED discards it, FAILED marks it; the sender
// hears DENIED_* or FAILED_*. fp is the digest of the callback that
// finished it, if one did.
func (s *Service) completeFlowJob(ctx context.Context, tx store.Tx, j store.FlowJob, pm pendingMessage, outcome chime.ChannelMessageStatus, detail, fp string) error {
	now := s.now()
	j.State, j.Outcome, j.Fingerprint, j.UpdatedAt = store.FlowJobDone, outcome, fp, now
	if err := tx.UpdateFlowJob(ctx, j); err != nil {
		return err
	}
	m := pm.Message
	persistent := pm.Persistence == string(chime.ChannelMessagePersistenceTypePersistent)
	stored, err := tx.GetChannelMessage(ctx, j.AppInstanceID, j.ChannelID, j.MessageID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if persistent {
			return nil // deleted while pending: nothing left to deliver
		}
	case err != nil:
		return err
	}
	kind := "CREATE"
	if j.Update {
		kind = "UPDATE"
	}
	if j.Update && stored.Redacted {
		return nil // redacted while the edit was pending: the edit is moot
	}
	switch outcome {
	case chime.ChannelMessageStatusSent:
		m.Status, m.StatusDetail, m.UpdatedAt = outcome, "", now
		if persistent {
			m.Seq, m.CreatedAt, m.Redacted = stored.Seq, stored.CreatedAt, stored.Redacted
			if err := tx.UpdateChannelMessage(ctx, m); err != nil {
				return err
			}
			if !j.Update {
				ch, err := tx.GetChannel(ctx, j.AppInstanceID, j.ChannelID)
				if err != nil {
					return err
				}
				if m.Target == nil {
					if _, err := s.touchChannel(ctx, tx, ch, m.CreatedAt); err != nil {
						return err
					}
				}
			}
		}
		s.emit(tx, s.messageEvent(kind+"_CHANNEL_MESSAGE", m, pm.Persistence))
	case chime.ChannelMessageStatusDenied:
		m.Status, m.UpdatedAt = outcome, now
		if persistent && !j.Update {
			if err := tx.DeleteChannelMessage(ctx, j.AppInstanceID, j.ChannelID, j.MessageID); err != nil {
				return err
			}
		}
		s.emit(tx, s.senderEvent("DENIED_"+kind+"_CHANNEL_MESSAGE", m, pm.Persistence))
	default: // FAILED
		m.Status, m.StatusDetail, m.UpdatedAt = outcome, detail, now
		if persistent && !j.Update {
			stored.Status, stored.StatusDetail, stored.UpdatedAt = m.Status, detail, now
			if err := tx.UpdateChannelMessage(ctx, stored); err != nil {
				return err
			}
		}
		s.emit(tx, s.senderEvent("FAILED_"+kind+"_CHANNEL_MESSAGE", m, pm.Persistence))
	}
	return nil
}

// ChannelFlowCallback is the processor's answer for one message: let it
// through, changed by the members ChannelMessage sets, or deny it
// (DeleteResource). The CallbackId identifies the message; repeating a
// callback with the same parameters is answered the same way, a different
// one is a ConflictException; after the 48-hour window, or for an unknown
// CallbackId, ForbiddenException.
func (s *Service) ChannelFlowCallback(ctx context.Context, in *chime.ChannelFlowCallbackRequest) (*chime.ChannelFlowCallbackResponse, error) {
	if err := s.permit(ctx, chime.OpChannelFlowCallback, in); err != nil {
		return nil, err
	}
	a, err := s.parse("ChannelArn", deref(in.ChannelArn), "Channel", chime.ResourceChannel)
	if err != nil {
		return nil, err
	}
	cb := in.ChannelMessage
	fp := fingerprint(struct {
		M      *chime.ChannelMessageCallback
		Delete bool
	}{cb, in.DeleteResource})
	out := &chime.ChannelFlowCallbackResponse{ChannelArn: in.ChannelArn, CallbackId: in.CallbackId}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		j, err := tx.GetFlowJob(ctx, deref(in.CallbackId))
		if errors.Is(err, store.ErrNotFound) || (err == nil && s.now().After(j.Deadline)) {
			return chime.Errorf(chime.Forbidden, "CallbackId %s is unknown or its 48-hour window has passed.", deref(in.CallbackId))
		}
		if err != nil {
			return err
		}
		if j.AppInstanceID != a.AppInstanceID || j.ChannelID != a.ID {
			return badRequest("CallbackId %s does not belong to channel %s.", deref(in.CallbackId), a)
		}
		if deref(cb.MessageId) != j.MessageID {
			return badRequest("ChannelMessage.MessageId %s is not the message of CallbackId %s (%s).", deref(cb.MessageId), j.CallbackID, j.MessageID)
		}
		if j.State == store.FlowJobDone {
			if j.Fingerprint == fp {
				return nil
			}
			return conflict("CallbackId %s was already used: the message is %s.", j.CallbackID, j.Outcome)
		}
		var pm pendingMessage
		if err := json.Unmarshal([]byte(j.Message), &pm); err != nil {
			return err
		}
		if sub := deref(cb.SubChannelId); sub != "" && sub != pm.Message.SubChannelID {
			return badRequest("ChannelMessage.SubChannelId %s is not the sub-channel of message %s.", sub, j.MessageID)
		}
		if in.DeleteResource {
			return s.completeFlowJob(ctx, tx, j, pm, chime.ChannelMessageStatusDenied, "", fp)
		}
		m := &pm.Message
		if cb.Content != nil {
			m.Content = *cb.Content
		}
		if cb.Metadata != nil {
			m.Metadata = *cb.Metadata
		}
		if cb.ContentType != nil {
			m.ContentType = *cb.ContentType
		}
		if err := checkContent(chime.ChannelMessageType(m.Type), m.Content, &m.Metadata); err != nil {
			return err
		}
		if cb.MessageAttributes != nil {
			if m.Attributes, err = encodeAttributes(cb.MessageAttributes); err != nil {
				return err
			}
		}
		if cb.PushNotification != nil {
			b, err := json.Marshal(cb.PushNotification)
			if err != nil {
				return err
			}
			m.PushNotification = string(b)
		}
		return s.completeFlowJob(ctx, tx, j, pm, chime.ChannelMessageStatusSent, "", fp)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
