package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// sendAs sends a persistent STANDARD message as bearer with a fresh
// token, counting the statements the store ran for it.
func sendAs(ctx context.Context, s *Service, channel, bearer, content string) (*chime.SendChannelMessageResponse, int64, error) {
	var n atomic.Int64
	out, err := s.SendChannelMessage(sqlstore.CountStatements(ctx, &n), &chime.SendChannelMessageRequest{
		ChannelArn: &channel, ChimeBearer: &bearer, Content: &content, Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(newID()),
	})
	return out, n.Load(), err
}

// channelState is what a refused send must leave as it was.
type channelState struct {
	lastMessageAt time.Time
	messages      int
}

func (c *chat) state(t *testing.T) channelState {
	t.Helper()
	a, err := chime.ParseARN(c.ch)
	if err != nil {
		t.Fatal(err)
	}
	var st channelState
	err = c.st.View(t.Context(), func(tx store.ReadTx) error {
		ch, err := tx.GetChannel(t.Context(), a.AppInstanceID, a.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted: nothing left to change
		}
		if err != nil {
			return err
		}
		ms, err := tx.ListChannelMessages(t.Context(), a.AppInstanceID, a.ID, store.MessageQuery{Viewer: store.Actor{Kind: store.MemberUser, ID: "nobody"}})
		st = channelState{ch.LastMessageAt, len(ms)}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// cachedSend is the statements of a send the cache serves, on every
// engine (the session advisory locks PostgreSQL takes around the
// transaction are not part of it).
func cachedSend() int64 { return 3 }

// The common send costs three statements once the node knows the bearer
// in the channel: the touch that checks the cached authorization, the
// insert that claims the token, the outbox append.
func TestSendStatements(t *testing.T) {
	c := newChat(t)
	_, first, err := sendAs(t.Context(), c.s, c.ch, c.bob, "first")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := sendAs(t.Context(), c.s, c.ch, c.bob, "second")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("statements per send: %d on the first (full checks), %d once cached", first, second)
	if second != cachedSend() {
		t.Errorf("a cached send ran %d statements, want %d", second, cachedSend())
	}
	if first <= second {
		t.Errorf("the first send ran %d statements, the cached one %d: the cache did not serve", first, second)
	}
}

// Every change that can alter a send's authorization or what it stores
// is seen by the very next send, exactly as a node without the cache sees
// it; a refused send writes nothing.
func TestSendCacheInvalidation(t *testing.T) {
	stream := "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-cache"
	cases := []struct {
		name string
		// before runs before the cache is warmed, change after.
		before, change func(t *testing.T, c *chat)
		kind           chime.ErrorKind // of the next send; "" for success
		check          func(t *testing.T, c *chat, out *chime.SendChannelMessageResponse)
	}{
		{name: "member removed", kind: chime.Forbidden, change: func(t *testing.T, c *chat) {
			if err := c.s.DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "member banned", kind: chime.Forbidden, change: func(t *testing.T, c *chat) {
			must(c.s.CreateChannelBan(t.Context(), &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}))
		}},
		{name: "user deleted", kind: chime.UnauthorizedClient, change: func(t *testing.T, c *chat) {
			if err := c.s.DeleteAppInstanceUser(t.Context(), &chime.DeleteAppInstanceUserRequest{AppInstanceUserArn: &c.bob}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "channel deleted", kind: chime.NotFound, change: func(t *testing.T, c *chat) {
			if err := c.s.DeleteChannel(t.Context(), &chime.DeleteChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "user renamed", change: func(t *testing.T, c *chat) {
			must(c.s.UpdateAppInstanceUser(t.Context(), &chime.UpdateAppInstanceUserRequest{AppInstanceUserArn: &c.bob, Name: p("Robert"), Metadata: p("")}))
		}, check: func(t *testing.T, c *chat, out *chime.SendChannelMessageResponse) {
			m := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: out.MessageId}))
			if got := deref(m.ChannelMessage.Sender.Name); got != "Robert" {
				t.Errorf("sender name %q, want the new name Robert", got)
			}
		}},
		{name: "flow associated", change: func(t *testing.T, c *chat) {
			flow := *must(c.s.CreateChannelFlow(t.Context(), &chime.CreateChannelFlowRequest{
				AppInstanceArn: &c.app, Name: p("moderation"), ClientRequestToken: p("flow-1"),
				Processors: []chime.Processor{{Name: p("p1"), ExecutionOrder: p(int32(1)), FallbackAction: chime.FallbackActionAbort,
					Configuration: &chime.ProcessorConfiguration{Lambda: &chime.LambdaConfiguration{
						ResourceArn: p("arn:aws:lambda:us-east-1:111122223333:function:moderate"), InvocationType: chime.InvocationTypeAsync}}}},
			})).ChannelFlowArn
			if err := c.s.AssociateChannelFlow(t.Context(), &chime.AssociateChannelFlowRequest{ChannelArn: &c.ch, ChannelFlowArn: &flow, ChimeBearer: &c.alice}); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, c *chat, out *chime.SendChannelMessageResponse) {
			if out.Status.Value != chime.ChannelMessageStatusPending {
				t.Errorf("status %s, want PENDING: the flow holds it", out.Status.Value)
			}
		}},
		{name: "channel mode changed", change: func(t *testing.T, c *chat) {
			must(c.s.UpdateChannel(t.Context(), &chime.UpdateChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, Name: p("general"), Mode: chime.ChannelModeRestricted}))
		}},
		{name: "admin removed", before: func(t *testing.T, c *chat) {
			must(c.s.CreateAppInstanceAdmin(t.Context(), &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &c.app, AppInstanceAdminArn: &c.bob}))
		}, change: func(t *testing.T, c *chat) {
			if err := c.s.DeleteAppInstanceAdmin(t.Context(), &chime.DeleteAppInstanceAdminRequest{AppInstanceArn: &c.app, AppInstanceAdminArn: &c.bob}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "streaming configured", change: func(t *testing.T, c *chat) {
			must(c.s.PutMessagingStreamingConfigurations(t.Context(), &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app,
				StreamingConfigurations: []chime.StreamingConfiguration{{DataType: chime.MessagingDataTypeChannelmessage, ResourceArn: &stream}}}))
		}, check: func(t *testing.T, c *chat, out *chime.SendChannelMessageResponse) {
			if n := len(c.deliveries(t, store.DeliveryStream)); n != 1 {
				t.Errorf("%d stream records queued, want 1 for the send after the configuration", n)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newChat(t)
			if tc.before != nil {
				tc.before(t, c)
			}
			for _, s := range []string{"warm", "cached"} {
				if _, _, err := sendAs(t.Context(), c.s, c.ch, c.bob, s); err != nil {
					t.Fatal(err)
				}
			}
			if _, n, _ := sendAs(t.Context(), c.s, c.ch, c.bob, "hit"); n != cachedSend() {
				t.Fatalf("the warmed send ran %d statements, want %d (a cache hit)", n, cachedSend())
			}
			tc.change(t, c)
			var before channelState
			if tc.kind != "" {
				before = c.state(t)
			}
			out, n, err := sendAs(t.Context(), c.s, c.ch, c.bob, "next")
			// A node that never cached anything answers the same.
			fresh, ferr := New(t.Context(), c.st, c.s.cfg)
			if ferr != nil {
				t.Fatal(ferr)
			}
			if tc.kind != "" {
				wantKind(t, err, tc.kind, "the next send")
				if got := c.state(t); got != before {
					t.Errorf("the refused send changed the channel: %+v, was %+v", got, before)
				}
				_, _, ferr := sendAs(t.Context(), fresh, c.ch, c.bob, "fresh")
				wantKind(t, ferr, tc.kind, "a send through an uncached node")
				return
			}
			if err != nil {
				t.Fatalf("the next send: %v", err)
			}
			if n <= cachedSend() {
				t.Errorf("the send after the change ran %d statements: it trusted the cache", n)
			}
			if tc.check != nil {
				tc.check(t, c, out)
			}
			fout, _, ferr := sendAs(t.Context(), fresh, c.ch, c.bob, "fresh")
			if ferr != nil || fout.Status.Value != out.Status.Value {
				t.Errorf("uncached node: %v %v; the cached one answered %s", fout, ferr, out.Status.Value)
			}
		})
	}
}

// A send through one node sees a change made through another.
func TestNodesSendCacheInvalidation(t *testing.T) {
	c := newNodes(t, 2)
	for _, s := range []string{"warm", "cached"} {
		if _, _, err := sendAs(t.Context(), c.s[0], c.ch, c.bob, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, n, _ := sendAs(t.Context(), c.s[0], c.ch, c.bob, "hit"); n != cachedSend() {
		t.Fatalf("the warmed send ran %d statements, want %d", n, cachedSend())
	}
	must(c.s[1].UpdateAppInstanceUser(t.Context(), &chime.UpdateAppInstanceUserRequest{AppInstanceUserArn: &c.bob, Name: p("Robert"), Metadata: p("")}))
	out, _, err := sendAs(t.Context(), c.s[0], c.ch, c.bob, "renamed")
	if err != nil {
		t.Fatal(err)
	}
	m := must(c.s[0].GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: out.MessageId}))
	if got := deref(m.ChannelMessage.Sender.Name); got != "Robert" {
		t.Errorf("sender name %q after a rename through the other node, want Robert", got)
	}
	if err := c.s[1].DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}); err != nil {
		t.Fatal(err)
	}
	_, _, err = sendAs(t.Context(), c.s[0], c.ch, c.bob, "removed")
	wantKind(t, err, chime.Forbidden, "a send after removal through the other node")
}

// ClientRequestToken on the message row: a retry replays (same id and
// status, nothing sent again, the channel not touched again), other
// parameters under the same token conflict, persistent and non-persistent
// sends share the token space, and a token is forgotten after the window.
func TestSendTokens(t *testing.T) {
	c := newChat(t)
	send := func(token, content string, persistence chime.ChannelMessagePersistenceType) (*chime.SendChannelMessageResponse, error) {
		return c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
			ChannelArn: &c.ch, ChimeBearer: &c.bob, Content: &content, Type: chime.ChannelMessageTypeStandard,
			Persistence: persistence, ClientRequestToken: &token,
		})
	}
	const P, NP = chime.ChannelMessagePersistenceTypePersistent, chime.ChannelMessagePersistenceTypeNonPersistent
	// Warm the cache, so that the retries below take the cached path.
	for _, s := range []string{"w1", "w2"} {
		must(send(s, s, P))
	}
	first := must(send("t1", "hello", P))
	c.bus.take()
	was := c.state(t)
	c.clk.Advance(time.Minute)
	again := must(send("t1", "hello", P))
	if *again.MessageId != *first.MessageId || again.Status.Value != chime.ChannelMessageStatusSent {
		t.Errorf("retry: %s %s, want %s SENT", *again.MessageId, again.Status.Value, *first.MessageId)
	}
	if got := c.state(t); got != was {
		t.Errorf("a retry changed the channel: %+v, was %+v", got, was)
	}
	_, err := send("t1", "other", P)
	wantKind(t, err, chime.Conflict, "same token, other content")
	_, err = send("t1", "hello", NP)
	wantKind(t, err, chime.Conflict, "same token, non-persistent")
	np := must(send("t2", "np", NP))
	if again := must(send("t2", "np", NP)); *again.MessageId != *np.MessageId {
		t.Errorf("non-persistent retry: %s, want %s", *again.MessageId, *np.MessageId)
	}
	_, err = send("t2", "np", P)
	wantKind(t, err, chime.Conflict, "a non-persistent send's token reused by a persistent one")
	if evs := c.bus.take(); len(evs) != 1 {
		t.Errorf("published %d events, want 1 (the non-persistent message, once)", len(evs))
	}
	c.clk.Advance(IdempotencyWindow + time.Minute)
	later := must(send("t1", "other", P))
	if *later.MessageId == *first.MessageId {
		t.Errorf("a token reused after the window replayed the old message")
	}
	if again := must(send("t1", "other", P)); *again.MessageId != *later.MessageId {
		t.Errorf("retry of the reused token: %s, want %s", *again.MessageId, *later.MessageId)
	}
}

// Concurrent retries of one send through a warm cache store one message.
func TestConcurrentCachedRetriesStoreOneMessage(t *testing.T) {
	c := newChat(t)
	for _, s := range []string{"warm", "cached"} {
		if _, _, err := sendAs(t.Context(), c.s, c.ch, c.bob, s); err != nil {
			t.Fatal(err)
		}
	}
	c.bus.take()
	was := c.state(t).messages
	sameTokenSends(t, c, c.bob, 16)
	if got := c.state(t).messages; got != was+1 {
		t.Errorf("%d messages stored, want 1", got-was)
	}
	if evs := c.bus.take(); len(evs) != 1 {
		t.Errorf("published %d events, want 1", len(evs))
	}
}

// The cache never holds more than its bounds.
func TestSendCacheBounds(t *testing.T) {
	c := newSendCache(2, 1)
	for i := range 5 {
		c.putGrant(sendKey{channelArn: fmt.Sprint("ch", i), bearerArn: "b"}, sendGrant{})
		c.putStreamConfigs(fmt.Sprint("app", i), int64(i), nil)
	}
	if n := c.len(); n != 2 {
		t.Errorf("%d grants cached, bound 2", n)
	}
	if _, ok := c.grant(sendKey{channelArn: "ch4", bearerArn: "b"}); !ok {
		t.Error("the newest grant was evicted")
	}
	if _, ok := c.streamConfigs("app4", 4); !ok {
		t.Error("the newest streaming configurations were evicted")
	}
	if _, ok := c.streamConfigs("app4", 5); ok {
		t.Error("streaming configurations served for another generation")
	}
	c.putGrant(sendKey{channelArn: "ch4", bearerArn: "b"}, sendGrant{})
	c.dropGrant(sendKey{channelArn: "ch4", bearerArn: "b"})
	if _, ok := c.grant(sendKey{channelArn: "ch4", bearerArn: "b"}); ok {
		t.Error("a dropped grant is still served")
	}
}
