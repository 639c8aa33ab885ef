package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/relay"
)

// TestAccessCheckedInService: the service checks the caller's credential
// itself, whatever transport called it (moved from httpapi's scoped-key
// tests, which went through HTTP only).
func TestAccessCheckedInService(t *testing.T) {
	c := newChat(t)
	scoped := chime.WithPrincipal(t.Context(), chime.Principal{AccessKeyID: "BKIAALICE", UserArn: c.alice})
	root := chime.WithPrincipal(t.Context(), chime.Principal{AccessKeyID: "ROOT"})
	forbidden := func(name string, err error, msg string) {
		t.Helper()
		var ce *chime.Error
		if !errors.As(err, &ce) || ce.Kind != chime.Forbidden || !strings.Contains(ce.Message, msg) {
			t.Errorf("%s: err = %v, want ForbiddenException mentioning %q", name, err, msg)
		}
	}
	allowed := func(name string, err error) {
		t.Helper()
		var ce *chime.Error
		if errors.As(err, &ce) && ce.Kind == chime.Forbidden {
			t.Errorf("%s: refused: %v", name, err)
		}
	}

	_, err := c.s.ListAppInstances(scoped, &chime.ListAppInstancesRequest{})
	forbidden("scoped key on developer API", err, "developer API")
	_, err = c.s.ListAppInstances(root, &chime.ListAppInstancesRequest{})
	allowed("root on developer API", err)

	_, err = c.s.ListChannelMessages(scoped, &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob})
	forbidden("scoped key acting as someone else", err, "x-amz-chime-bearer")
	_, err = c.s.ListChannelMessages(scoped, &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice})
	allowed("scoped key with its own bearer", err)

	_, err = c.s.GetMessagingSessionEndpoint(scoped, &chime.GetMessagingSessionEndpointRequest{})
	allowed("scoped key on GetMessagingSessionEndpoint", err)
	_, err = c.s.ListAppInstanceUserEndpoints(scoped, &chime.ListAppInstanceUserEndpointsRequest{AppInstanceUserArn: &c.alice})
	allowed("scoped key on its own endpoints", err)
	_, err = c.s.ListAppInstanceUserEndpoints(scoped, &chime.ListAppInstanceUserEndpointsRequest{AppInstanceUserArn: &c.bob})
	forbidden("scoped key on another user's endpoints", err, "not authorized")

	// A refused call changes nothing.
	err = c.s.DeleteChannel(scoped, &chime.DeleteChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob})
	forbidden("scoped key deleting as someone else", err, "x-amz-chime-bearer")
	if _, err := c.s.DescribeChannel(context.Background(), &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice}); err != nil {
		t.Errorf("channel gone after a refused delete: %v", err)
	}
}

// TestMatrixKeyedByOperations: every row of the authorization matrix is a
// generated operation descriptor of a bearer operation (or the self-join
// row), so a renamed operation cannot silently lose its row.
func TestMatrixKeyedByOperations(t *testing.T) {
	for op := range matrix {
		if op == opSelfJoin {
			continue
		}
		if op.Bearer == chime.BearerNone || op.Services&chime.ServiceMessaging == 0 {
			t.Errorf("matrix row %s is not a messaging bearer operation", op)
		}
	}
}

// TestEventSurvivesCrashBeforePublish: a send commits its event into the
// outbox; if the process dies before its relay publishes it, the relay of
// the next process publishes it (relay/relay_test.go reopens the store
// file; here the next process's relay is a fresh one on the same store).
func TestEventSurvivesCrashBeforePublish(t *testing.T) {
	c := newChat(t)
	c.bus.take() // the setup's events
	out := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice,
		Content: p("kept"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("crash-1")}))
	// The crash: this process's relay never runs. The next one starts.
	next := &recBus{}
	next.relay = relay.New(c.st, next, relay.Options{})
	// It publishes every event not yet trimmed (the setup's too: at least
	// once), in commit order, the send's last.
	evs := next.take()
	last := evs[len(evs)-1]
	if last.Type != evCreateMessage || last.ID == 0 || !strings.Contains(string(last.Payload), *out.MessageId) {
		t.Fatalf("after the restart the relay published %s last (%d events)", last.Type, len(evs))
	}
}
