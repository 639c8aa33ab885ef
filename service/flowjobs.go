package service

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Message processing by channel flows (websocket-protocol.md §5.4):
//
//	Send/UpdateChannelMessage on a channel with a flow, STANDARD message
//	  -> PENDING: a durable store.FlowJob; the sender alone hears PENDING_*
//	  -> RunFlows invokes the processor (retrying with backoff)
//	       accepted                -> WAITING for ChannelFlowCallback
//	       gave up, CONTINUE       -> SENT as sent
//	       gave up, ABORT          -> FAILED; the sender hears FAILED_*
//	  -> ChannelFlowCallback       -> SENT with the processor's changes, or
//	     DeleteResource            -> DENIED (never stored); the sender hears DENIED_*
//
// Jobs live in the store, so a restart loses nothing: jobs still to invoke
// are invoked when RunFlows starts, and callbacks complete waiting jobs.

// FlowInvoker delivers a processor event; package flows implements it with
// AWS Lambda and webhooks. An error whose Permanent method reports true
// stops the retries at once.
type FlowInvoker interface {
	Invoke(ctx context.Context, processorArn string, event []byte) error
}

// pendingMessage is a message with a processor: as it will be delivered
// once SENT.
type pendingMessage struct {
	Message     store.ChannelMessage
	Persistence string
}

// flowed reports whether m on ch goes through the channel's flow: only
// STANDARD messages do, CONTROL messages are delivered at once.
func flowed(ch store.Channel, typ string) bool {
	return ch.FlowID != "" && typ == string(chime.ChannelMessageTypeStandard)
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
		ProcessorArn: deref(ps[0].Configuration.Lambda.ResourceArn), Fallback: string(ps[0].FallbackAction),
		State: store.FlowJobInvoking, NextAttemptAt: now, Deadline: now.Add(FlowCallbackWindow),
		CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return err
	}
	pending := m
	pending.Status = string(chime.ChannelMessageStatusPending)
	typ := "PENDING_CREATE_CHANNEL_MESSAGE"
	if update {
		typ = "PENDING_UPDATE_CHANNEL_MESSAGE"
	}
	s.emit(tx, s.senderEvent(typ, pending, persistence))
	tx.AfterCommit(s.wakeFlows)
	return nil
}

// senderEvent is a message event for the sender alone (flow statuses).
func (s *Service) senderEvent(typ string, m store.ChannelMessage, persistence string) events.Event {
	e := s.messageEvent(typ, m, persistence)
	e.Members, e.Users = false, []string{s.actorArn(m.AppInstanceID, m.Sender)}
	return e
}

// wakeFlows tells RunFlows there is work, without waiting.
func (s *Service) wakeFlows() {
	select {
	case s.flowWake <- struct{}{}:
	default:
	}
}

// processorEvent is the documented event a processor receives
// (websocket-protocol.md §5.2), with the optional members AWS may send.
type processorEvent struct {
	EventType      string           `json:"EventType"`
	CallbackId     string           `json:"CallbackId"`
	ChannelMessage processorMessage `json:"ChannelMessage"`
}

type processorMessage struct {
	MessageId           string                           `json:"MessageId"`
	ChannelArn          string                           `json:"ChannelArn"`
	Content             string                           `json:"Content"`
	Metadata            string                           `json:"Metadata,omitempty"`
	Sender              *events.Identity                 `json:"Sender"`
	Persistence         string                           `json:"Persistence"`
	LastEditedTimestamp *events.Time                     `json:"LastEditedTimestamp,omitempty"`
	Type                string                           `json:"Type"`
	CreatedTimestamp    *events.Time                     `json:"CreatedTimestamp"`
	MessageAttributes   map[string]events.AttributeValue `json:"MessageAttributes,omitempty"`
	ContentType         string                           `json:"ContentType,omitempty"`
	SubChannelId        string                           `json:"SubChannelId,omitempty"`
	Target              []events.Target                  `json:"Target,omitempty"`
}

func (s *Service) processorEvent(j store.FlowJob, pm pendingMessage) []byte {
	m := pm.Message
	p := s.messageEventPayload(m, pm.Persistence)
	return payload(processorEvent{EventType: "CHANNEL_MESSAGE_EVENT", CallbackId: j.CallbackID, ChannelMessage: processorMessage{
		MessageId: m.MessageID, ChannelArn: p.ChannelArn, Content: m.Content, Metadata: m.Metadata, Sender: p.Sender,
		Persistence: pm.Persistence, LastEditedTimestamp: p.LastEditedTimestamp, Type: m.Type, CreatedTimestamp: p.CreatedTimestamp,
		MessageAttributes: p.MessageAttributes, ContentType: m.ContentType, SubChannelId: m.SubChannelID, Target: p.Target,
	}})
}

// flowLease is how long a claimed job is left alone while its processor is
// invoked, so the next round does not invoke it twice.
const flowLease = 30 * time.Second

// flowConcurrency bounds the processor invocations in flight, so that a
// processor that hangs holds some of them, never the others' progress.
const flowConcurrency = 16

// RunFlows invokes the processors of pending messages until ctx ends: at
// once when a message is sent, and every quarter second for retries. Each
// invocation runs on its own, so one slow processor delays no other.
//
// It starts by taking back the jobs a previous run had claimed: in a
// process that has just started, no invocation can be in flight. With
// several nodes sharing the store (store.IsShared), another node's
// invocation may be, so the leases are left to run out.
func (s *Service) RunFlows(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !store.IsShared(s.store) {
		if err := s.reclaimFlows(ctx); err != nil && ctx.Err() == nil {
			log.Error("channel flow recovery failed", "err", err)
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, flowConcurrency)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if free := cap(slots) - len(slots); free > 0 {
			jobs, err := s.claimFlows(ctx, free)
			if err != nil && ctx.Err() == nil {
				log.Error("channel flow dispatch failed", "err", err)
			}
			for _, j := range jobs {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.runFlowJob(ctx, j); err != nil && ctx.Err() == nil {
						log.Error("channel flow processing failed", "callback_id", j.CallbackID, "err", err)
					}
					<-slots
					s.wakeFlows()
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.flowWake:
		case <-t.C:
		}
	}
}

// reclaimFlows makes every job in state Invoking due now.
func (s *Service) reclaimFlows(ctx context.Context) error {
	return s.store.Update(ctx, func(tx store.Tx) error {
		now := s.now()
		jobs, err := tx.ListDueFlowJobs(ctx, now.Add(flowLease), 0)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.NextAttemptAt.After(now) {
				j.NextAttemptAt, j.UpdatedAt = now, now
				if err := tx.UpdateFlowJob(ctx, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// claimFlows takes up to limit due jobs, leasing them for flowLease so no
// other round invokes them meanwhile.
func (s *Service) claimFlows(ctx context.Context, limit int) ([]store.FlowJob, error) {
	var jobs []store.FlowJob
	err := s.store.Update(ctx, func(tx store.Tx) error {
		now := s.now()
		var err error
		if jobs, err = tx.ListDueFlowJobs(ctx, now, limit); err != nil {
			return err
		}
		for i := range jobs {
			jobs[i].NextAttemptAt, jobs[i].UpdatedAt = now.Add(flowLease), now
			if err := tx.UpdateFlowJob(ctx, jobs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return jobs, err
}

// runFlowJob invokes a claimed job's processor and records the outcome.
func (s *Service) runFlowJob(ctx context.Context, j store.FlowJob) error {
	var pm pendingMessage
	if err := json.Unmarshal([]byte(j.Message), &pm); err != nil {
		return err
	}
	var err error = errNoInvoker
	if s.cfg.Flows != nil {
		err = s.cfg.Flows.Invoke(ctx, j.ProcessorArn, s.processorEvent(j, pm))
	}
	return s.invoked(ctx, j.CallbackID, err)
}

// dispatchFlows claims the due jobs and runs them concurrently, returning
// when all are done: one round of RunFlows, synchronous (for tests).
func (s *Service) dispatchFlows(ctx context.Context) error {
	jobs, err := s.claimFlows(ctx, 32)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.runFlowJob(ctx, j)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// errNoInvoker is the invocation error of a server without processors.
var errNoInvoker = permanentError{errors.New("this server has no channel-flow processor invoker configured")}

type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }

// isPermanent reports whether retrying err is pointless.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// invoked records the outcome of one invocation: WAITING on success; on
// failure a retry with backoff, or the FallbackAction once the attempts
// are spent or the failure is permanent.
func (s *Service) invoked(ctx context.Context, callbackID string, invokeErr error) error {
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
		if !isPermanent(invokeErr) && j.Attempts < FlowInvokeAttempts {
			j.NextAttemptAt = now.Add(FlowRetryBase << (j.Attempts - 1))
			return tx.UpdateFlowJob(ctx, j)
		}
		var pm pendingMessage
		if err := json.Unmarshal([]byte(j.Message), &pm); err != nil {
			return err
		}
		if j.Fallback == string(chime.FallbackActionContinue) {
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
	j.State, j.Outcome, j.Fingerprint, j.UpdatedAt = store.FlowJobDone, string(outcome), fp, now
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
		m.Status, m.StatusDetail, m.UpdatedAt = string(outcome), "", now
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
				if err := s.touchChannel(ctx, tx, ch, m); err != nil {
					return err
				}
			}
		}
		s.emit(tx, s.messageEvent(kind+"_CHANNEL_MESSAGE", m, pm.Persistence))
	case chime.ChannelMessageStatusDenied:
		m.Status, m.UpdatedAt = string(outcome), now
		if persistent && !j.Update {
			if err := tx.DeleteChannelMessage(ctx, j.AppInstanceID, j.ChannelID, j.MessageID); err != nil {
				return err
			}
		}
		s.emit(tx, s.senderEvent("DENIED_"+kind+"_CHANNEL_MESSAGE", m, pm.Persistence))
	default: // FAILED
		m.Status, m.StatusDetail, m.UpdatedAt = string(outcome), detail, now
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
