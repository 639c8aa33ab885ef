package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/flows"
)

// fakeProcessor records the events it is given and fails as told.
type fakeProcessor struct {
	mu     sync.Mutex
	events []events.ProcessorEvent
	fail   error
}

func (f *fakeProcessor) Invoke(_ context.Context, arn string, event []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var e events.ProcessorEvent
	if err := json.Unmarshal(event, &e); err != nil {
		return err
	}
	f.events = append(f.events, e)
	return f.fail
}

func (f *fakeProcessor) last(t *testing.T) events.ProcessorEvent {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		t.Fatal("the processor was not invoked")
	}
	return f.events[len(f.events)-1]
}

type transient struct{}

func (transient) Error() string { return "connection refused" }

// flowChat is a chat whose channel has a flow with one processor.
func flowChat(t *testing.T, fallback chime.FallbackAction) (*chat, *fakeProcessor, string) {
	t.Helper()
	c := newChat(t)
	proc := &fakeProcessor{}
	c.flows = proc
	flow := *must(c.s.CreateChannelFlow(t.Context(), &chime.CreateChannelFlowRequest{
		AppInstanceArn: &c.app, Name: p("moderation"), ClientRequestToken: p("flow-1"),
		Processors: []chime.Processor{{Name: p("p1"), ExecutionOrder: p(int32(1)), FallbackAction: fallback,
			Configuration: &chime.ProcessorConfiguration{Lambda: &chime.LambdaConfiguration{
				ResourceArn: p("arn:aws:lambda:us-east-1:111122223333:function:moderate"), InvocationType: chime.InvocationTypeAsync}}}},
	})).ChannelFlowArn
	if err := c.s.AssociateChannelFlow(t.Context(), &chime.AssociateChannelFlowRequest{ChannelArn: &c.ch, ChannelFlowArn: &flow, ChimeBearer: &c.alice}); err != nil {
		t.Fatal(err)
	}
	c.bus.take()
	return c, proc, flow
}

func (c *chat) sendStandard(t *testing.T, token, content string, persistence chime.ChannelMessagePersistenceType) *chime.SendChannelMessageResponse {
	t.Helper()
	return must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: &content, Type: chime.ChannelMessageTypeStandard,
		Persistence: persistence, ClientRequestToken: &token,
	}))
}

func (c *chat) status(t *testing.T, id string) (chime.ChannelMessageStatus, error) {
	t.Helper()
	out, err := c.s.GetChannelMessageStatus(t.Context(), &chime.GetChannelMessageStatusRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: &id})
	if err != nil {
		return "", err
	}
	return out.Status.Value, nil
}

func only(t *testing.T, evs []events.Event, typ string, to []string) events.Event {
	t.Helper()
	if len(evs) != 1 || evs[0].Type != typ || evs[0].Members || !slices.Equal(evs[0].Users, to) {
		t.Fatalf("published %v (members %v), want only %s to %v", types(evs), len(evs) > 0 && evs[0].Members, typ, to)
	}
	return evs[0]
}

func TestFlowAllowsWithChanges(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	out := c.sendStandard(t, "m1", "hello darn world", chime.ChannelMessagePersistenceTypePersistent)
	if out.Status.Value != chime.ChannelMessageStatusPending {
		t.Fatalf("status = %s, want PENDING", out.Status.Value)
	}
	only(t, c.bus.take(), "PENDING_CREATE_CHANNEL_MESSAGE", []string{c.alice})
	// Members see nothing yet; the sender sees its pending message.
	if _, err := c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: out.MessageId}); chime.KindOf(err) != chime.NotFound {
		t.Errorf("bob gets a pending message: %v", err)
	}
	if err := c.dispatchFlows(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := proc.last(t)
	if e.EventType != "CHANNEL_MESSAGE_EVENT" || e.ChannelMessage.MessageId != *out.MessageId || e.ChannelMessage.Content != "hello darn world" ||
		e.ChannelMessage.Sender.Arn != c.alice || e.ChannelMessage.Persistence != "PERSISTENT" || e.ChannelMessage.ChannelArn != c.ch || len(e.CallbackId) != 64 {
		t.Fatalf("processor event = %+v", e)
	}
	if st, _ := c.status(t, *out.MessageId); st != chime.ChannelMessageStatusPending {
		t.Errorf("status while waiting = %s", st)
	}
	cb := &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: &e.CallbackId,
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId, Content: p("hello **** world")}}
	must(c.s.ChannelFlowCallback(t.Context(), cb))
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evCreateMessage || !evs[0].Members {
		t.Fatalf("callback published %v", types(evs))
	}
	got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: out.MessageId})).ChannelMessage
	if *got.Content != "hello **** world" || got.Status.Value != chime.ChannelMessageStatusSent {
		t.Errorf("delivered %+v", got)
	}
	// The same callback again is answered the same way; another is a conflict.
	must(c.s.ChannelFlowCallback(t.Context(), cb))
	_, err := c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: &e.CallbackId, DeleteResource: true,
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId}})
	wantKind(t, err, chime.Conflict, "a second, different callback")
	if evs := c.bus.take(); len(evs) != 0 {
		t.Errorf("repeated callbacks published %v", types(evs))
	}
	_, err = c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(newID()),
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId}})
	wantKind(t, err, chime.Forbidden, "an unknown CallbackId")
}

func TestFlowDenies(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	out := c.sendStandard(t, "m1", "spam", chime.ChannelMessagePersistenceTypePersistent)
	must(0, c.dispatchFlows(t.Context()))
	c.bus.take()
	e := proc.last(t)
	must(c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: &e.CallbackId, DeleteResource: true,
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId}}))
	ev := only(t, c.bus.take(), "DENIED_CREATE_CHANNEL_MESSAGE", []string{c.alice})
	var pl events.ChannelMessage
	if err := json.Unmarshal(ev.Payload, &pl); err != nil || pl.Status.Value != "DENIED" {
		t.Errorf("denied payload %s", ev.Payload)
	}
	// Denied messages are not stored.
	_, err := c.status(t, *out.MessageId)
	wantKind(t, err, chime.NotFound, "status of a denied message")
	if list := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice})); len(list.ChannelMessages) != 0 {
		t.Errorf("the sender lists %d messages after a denial", len(list.ChannelMessages))
	}
}

func TestFlowProcessorDown(t *testing.T) {
	for _, tc := range []struct {
		fallback chime.FallbackAction
		want     chime.ChannelMessageStatus
		event    string
	}{
		{chime.FallbackActionAbort, chime.ChannelMessageStatusFailed, "FAILED_CREATE_CHANNEL_MESSAGE"},
		{chime.FallbackActionContinue, chime.ChannelMessageStatusSent, evCreateMessage},
	} {
		t.Run(string(tc.fallback), func(t *testing.T) {
			c, proc, _ := flowChat(t, tc.fallback)
			proc.fail = transient{}
			out := c.sendStandard(t, "m1", "hello", chime.ChannelMessagePersistenceTypePersistent)
			c.bus.take()
			for i := range FlowInvokeAttempts {
				if st, _ := c.status(t, *out.MessageId); st != chime.ChannelMessageStatusPending {
					t.Fatalf("after %d failed attempts the status is %s", i, st)
				}
				must(0, c.dispatchFlows(t.Context()))
				c.clk.Advance(FlowRetryBase << i) // the backoff doubles
			}
			if n := len(proc.events); n != FlowInvokeAttempts {
				t.Errorf("invoked %d times, want %d", n, FlowInvokeAttempts)
			}
			if st, _ := c.status(t, *out.MessageId); st != tc.want {
				t.Errorf("status = %s, want %s", st, tc.want)
			}
			evs := c.bus.take()
			if len(evs) != 1 || evs[0].Type != tc.event {
				t.Errorf("published %v, want %s", types(evs), tc.event)
			}
			// A later callback cannot change the outcome.
			_, err := c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(proc.last(t).CallbackId),
				ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId}})
			wantKind(t, err, chime.Conflict, "callback after the fallback")
		})
	}
}

func TestFlowPermanentFailureSkipsRetries(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	proc.fail = flows.Permanent(errors.New("function not found"))
	out := c.sendStandard(t, "m1", "hello", chime.ChannelMessagePersistenceTypePersistent)
	must(0, c.dispatchFlows(t.Context()))
	if st, _ := c.status(t, *out.MessageId); st != chime.ChannelMessageStatusFailed || len(proc.events) != 1 {
		t.Errorf("status %s after %d invocations", st, len(proc.events))
	}
}

func TestFlowEditsAndBypasses(t *testing.T) {
	c, proc, flow := flowChat(t, chime.FallbackActionAbort)
	// CONTROL messages bypass the flow.
	ctl := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("typing"),
		Type: chime.ChannelMessageTypeControl, Persistence: chime.ChannelMessagePersistenceTypeNonPersistent, ClientRequestToken: p("ctl")}))
	if ctl.Status.Value != chime.ChannelMessageStatusSent || types(c.bus.take())[0] != evCreateMessage {
		t.Errorf("a CONTROL message went through the flow")
	}
	// A message sent before the flow is edited through it.
	id := c.sendStandard(t, "m1", "v1", chime.ChannelMessagePersistenceTypePersistent).MessageId
	must(0, c.dispatchFlows(t.Context()))
	must(c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(proc.last(t).CallbackId),
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: id}}))
	c.bus.take()
	up := must(c.s.UpdateChannelMessage(t.Context(), &chime.UpdateChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: id, Content: p("v2")}))
	if up.Status.Value != chime.ChannelMessageStatusPending {
		t.Fatalf("edit status = %s", up.Status.Value)
	}
	only(t, c.bus.take(), "PENDING_UPDATE_CHANNEL_MESSAGE", []string{c.alice})
	// Until the processor answers, members see v1, and the message cannot be changed again.
	if got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: id})).ChannelMessage; *got.Content != "v1" {
		t.Errorf("bob sees %q during the edit", *got.Content)
	}
	_, err := c.s.RedactChannelMessage(t.Context(), &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: id})
	wantKind(t, err, chime.Conflict, "redact during a pending edit")
	must(0, c.dispatchFlows(t.Context()))
	if e := proc.last(t); e.ChannelMessage.Content != "v2" || e.ChannelMessage.LastEditedTimestamp == nil {
		t.Errorf("edit event = %+v", e)
	}
	must(c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(proc.last(t).CallbackId),
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: id}}))
	if evs := c.bus.take(); len(evs) != 1 || evs[0].Type != evUpdateMessage || !evs[0].Members {
		t.Errorf("edit completion published %v", types(evs))
	}
	if got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: id})).ChannelMessage; *got.Content != "v2" {
		t.Errorf("bob sees %q after the edit", *got.Content)
	}
	// A flow in use cannot be deleted; once disassociated it can.
	wantKind(t, c.s.DeleteChannelFlow(t.Context(), &chime.DeleteChannelFlowRequest{ChannelFlowArn: &flow}), chime.Conflict, "delete an associated flow")
	if err := c.s.DisassociateChannelFlow(t.Context(), &chime.DisassociateChannelFlowRequest{ChannelArn: &c.ch, ChannelFlowArn: &flow, ChimeBearer: &c.alice}); err != nil {
		t.Fatal(err)
	}
	if err := c.s.DeleteChannelFlow(t.Context(), &chime.DeleteChannelFlowRequest{ChannelFlowArn: &flow}); err != nil {
		t.Fatal(err)
	}
}

func TestFlowCallbackWindow(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	out := c.sendStandard(t, "m1", "hello", chime.ChannelMessagePersistenceTypeNonPersistent)
	must(0, c.dispatchFlows(t.Context()))
	c.clk.Advance(FlowCallbackWindow + time.Second)
	must(c.s.Sweep(t.Context()))
	_, err := c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(proc.last(t).CallbackId),
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId}})
	wantKind(t, err, chime.Forbidden, "a callback after 48 hours")
}

func TestFlowNonPersistentDelivered(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	out := c.sendStandard(t, "np", "hi", chime.ChannelMessagePersistenceTypeNonPersistent)
	must(0, c.dispatchFlows(t.Context()))
	c.bus.take()
	must(c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(proc.last(t).CallbackId),
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId, Metadata: p("checked")}}))
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evCreateMessage || evs[0].Persistence != "NON_PERSISTENT" || !evs[0].Members {
		t.Fatalf("published %v", types(evs))
	}
	var pl events.ChannelMessage
	if err := json.Unmarshal(evs[0].Payload, &pl); err != nil || *pl.Content != "hi" || *pl.Metadata != "checked" {
		t.Errorf("payload %s", evs[0].Payload)
	}
	_, err := c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: out.MessageId})
	wantKind(t, err, chime.NotFound, "a non-persistent message is never stored")
}

// gatedProcessor blocks invocations of one ARN until released and reports
// every invocation.
type gatedProcessor struct {
	hang    string
	release chan struct{}
	invoked chan string
}

func (g *gatedProcessor) Invoke(ctx context.Context, arn string, _ []byte) error {
	g.invoked <- arn
	if arn == g.hang {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func TestRunFlowsSlowProcessorBlocksNoOther(t *testing.T) {
	c, _, _ := flowChat(t, chime.FallbackActionAbort)
	const slow, fast = "arn:aws:lambda:us-east-1:111122223333:function:moderate", "arn:aws:lambda:us-east-1:111122223333:function:fast"
	g := &gatedProcessor{hang: slow, release: make(chan struct{}), invoked: make(chan string, 4)}
	c.flows = g
	// A second channel whose flow's processor answers at once.
	ch2 := *must(c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{AppInstanceArn: &c.app, Name: p("second"), ChimeBearer: &c.alice, ClientRequestToken: p("ch2")})).ChannelArn
	flow2 := *must(c.s.CreateChannelFlow(t.Context(), &chime.CreateChannelFlowRequest{AppInstanceArn: &c.app, Name: p("fast"), ClientRequestToken: p("flow-2"),
		Processors: []chime.Processor{{Name: p("p"), ExecutionOrder: p(int32(1)), FallbackAction: chime.FallbackActionAbort,
			Configuration: &chime.ProcessorConfiguration{Lambda: &chime.LambdaConfiguration{ResourceArn: p(fast), InvocationType: chime.InvocationTypeAsync}}}}})).ChannelFlowArn
	if err := c.s.AssociateChannelFlow(t.Context(), &chime.AssociateChannelFlowRequest{ChannelArn: &ch2, ChannelFlowArn: &flow2, ChimeBearer: &c.alice}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.runner().Run(ctx) }()
	defer func() { stop(); <-done }()

	c.sendStandard(t, "slow", "held up", chime.ChannelMessagePersistenceTypePersistent)
	if got := <-g.invoked; got != slow {
		t.Fatalf("invoked %s first", got)
	}
	must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &ch2, ChimeBearer: &c.alice, Content: p("quick"),
		Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("fast")}))
	if got := <-g.invoked; got != fast {
		t.Fatalf("invoked %s, want the fast processor while the slow one hangs", got)
	}
	close(g.release)
}

func TestReclaimFlowsAfterRestart(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	out := c.sendStandard(t, "m1", "hello", chime.ChannelMessagePersistenceTypePersistent)
	// A claim whose process died: the lease keeps the job from being due.
	jobs := must(c.runner().Claim(t.Context(), 10))
	if len(jobs) != 1 || len(must(c.runner().Claim(t.Context(), 10))) != 0 {
		t.Fatalf("claimed %d jobs, then the lease did not hold", len(jobs))
	}
	if err := c.runner().Reclaim(t.Context()); err != nil {
		t.Fatal(err)
	}
	must(0, c.dispatchFlows(t.Context()))
	if e := proc.last(t); e.ChannelMessage.MessageId != *out.MessageId || e.CallbackId != jobs[0].CallbackID {
		t.Errorf("after reclaiming, invoked %+v", e)
	}
}
