package service

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// elasticChat is a chat with an elastic channel created by alice (its
// moderator) and n users u001…, not yet members.
type elasticChat struct {
	*chat
	el    string
	users []string
}

func newElastic(t testing.TB, max, target, pct int32, n int) *elasticChat {
	t.Helper()
	c := &elasticChat{chat: newChatB(t)}
	c.el = *must(c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{
		AppInstanceArn: &c.app, Name: p("live"), ChimeBearer: &c.alice, ClientRequestToken: p("create-live"),
		ElasticChannelConfiguration: &chime.ElasticChannelConfiguration{MaximumSubChannels: &max, TargetMembershipsPerSubChannel: &target, MinimumMembershipPercentage: &pct},
	})).ChannelArn
	for i := range n {
		c.users = append(c.users, createUser(t, c.s, c.app, fmt.Sprintf("u%03d", i+1)))
	}
	c.bus.take()
	return c
}

// subChannels returns the sub-channel counts ListSubChannels reports, in
// order, paging by 2 so pagination is exercised.
func (c *elasticChat) subChannels(t testing.TB) []chime.SubChannelSummary {
	t.Helper()
	var out []chime.SubChannelSummary
	var next *string
	for {
		page := must(c.s.ListSubChannels(t.Context(), &chime.ListSubChannelsRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MaxResults: p(int32(2)), NextToken: next}))
		out = append(out, page.SubChannels...)
		if next = page.NextToken; next == nil {
			return out
		}
	}
}

// members lists a sub-channel's members as a moderator sees them.
func (c *elasticChat) members(t testing.TB, sub string) []string {
	t.Helper()
	var out []string
	var next *string
	for {
		page := must(c.s.ListChannelMemberships(t.Context(), &chime.ListChannelMembershipsRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, SubChannelId: &sub, NextToken: next}))
		for _, m := range page.ChannelMemberships {
			out = append(out, *m.Member.Arn)
		}
		if next = page.NextToken; next == nil {
			return out
		}
	}
}

// check verifies the invariants against the API: counts equal to the
// listed rows, none above the target, every joined member in exactly one
// sub-channel, DescribeChannelMembership agreeing.
func (c *elasticChat) check(t testing.TB, joined map[string]bool, max, target int) []chime.SubChannelSummary {
	t.Helper()
	subs := c.subChannels(t)
	if len(subs) > max {
		t.Fatalf("%d sub-channels, maximum %d", len(subs), max)
	}
	where := map[string]string{}
	for _, sc := range subs {
		ms := c.members(t, *sc.SubChannelId)
		if int(*sc.MembershipCount) != len(ms) {
			t.Fatalf("sub-channel %s: MembershipCount %d, %d memberships listed", *sc.SubChannelId, *sc.MembershipCount, len(ms))
		}
		if len(ms) > target {
			t.Fatalf("sub-channel %s has %d members, target %d", *sc.SubChannelId, len(ms), target)
		}
		for _, m := range ms {
			if prev, ok := where[m]; ok {
				t.Fatalf("%s is in sub-channels %s and %s", m, prev, *sc.SubChannelId)
			}
			where[m] = *sc.SubChannelId
		}
	}
	if len(where) != len(joined) {
		t.Fatalf("%d members placed, %d joined", len(where), len(joined))
	}
	for m := range joined {
		sub, ok := where[m]
		if !ok {
			t.Fatalf("%s joined but is in no sub-channel", m)
		}
		d := must(c.s.DescribeChannelMembership(t.Context(), &chime.DescribeChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &m, MemberArn: &m})).ChannelMembership
		if deref(d.SubChannelId) != sub {
			t.Fatalf("DescribeChannelMembership of %s says sub-channel %s, ListChannelMemberships %s", m, deref(d.SubChannelId), sub)
		}
	}
	return subs
}

func counts(subs []chime.SubChannelSummary) []int32 {
	var out []int32
	for _, s := range subs {
		out = append(out, *s.MembershipCount)
	}
	return out
}

func TestElasticCreate(t *testing.T) {
	c := newElastic(t, 2, 4, 40, 0)
	d := must(c.s.DescribeChannel(t.Context(), &chime.DescribeChannelRequest{ChannelArn: &c.el, ChimeBearer: &c.alice})).Channel
	if e := d.ElasticChannelConfiguration; e == nil || *e.MaximumSubChannels != 2 || *e.TargetMembershipsPerSubChannel != 4 || *e.MinimumMembershipPercentage != 40 {
		t.Errorf("ElasticChannelConfiguration = %+v", d.ElasticChannelConfiguration)
	}
	if d.Mode != chime.ChannelModeRestricted {
		t.Errorf("Mode = %s, want RESTRICTED by default", d.Mode)
	}
	// The creator is a moderator, not a member; no sub-channel exists yet.
	must(c.s.DescribeChannelModerator(t.Context(), &chime.DescribeChannelModeratorRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, ChannelModeratorArn: &c.alice}))
	_, err := c.s.DescribeChannelMembership(t.Context(), &chime.DescribeChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.alice})
	wantKind(t, err, chime.NotFound, "creator's membership")
	if subs := c.subChannels(t); len(subs) != 0 {
		t.Errorf("new elastic channel has sub-channels %v", counts(subs))
	}
	// The quota: one elastic channel per app instance.
	max, target, pct := int32(2), int32(4), int32(40)
	_, err = c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{AppInstanceArn: &c.app, Name: p("second"), ChimeBearer: &c.alice, ClientRequestToken: p("second"),
		ElasticChannelConfiguration: &chime.ElasticChannelConfiguration{MaximumSubChannels: &max, TargetMembershipsPerSubChannel: &target, MinimumMembershipPercentage: &pct}})
	wantKind(t, err, chime.ResourceLimitExceeded, "second elastic channel")
	// ListSubChannels is for elastic channels.
	_, err = c.s.ListSubChannels(t.Context(), &chime.ListSubChannelsRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice})
	wantKind(t, err, chime.BadRequest, "ListSubChannels of a standard channel")
	// Members may not list sub-channels.
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.bob}))
	_, err = c.s.ListSubChannels(t.Context(), &chime.ListSubChannelsRequest{ChannelArn: &c.el, ChimeBearer: &c.bob})
	wantKind(t, err, chime.Forbidden, "ListSubChannels as a member")
}

func TestElasticCreateRefusals(t *testing.T) {
	c := newChat(t)
	cfg := func(max, target, pct int32) *chime.ElasticChannelConfiguration {
		return &chime.ElasticChannelConfiguration{MaximumSubChannels: &max, TargetMembershipsPerSubChannel: &target, MinimumMembershipPercentage: &pct}
	}
	for i, tc := range []struct {
		in    chime.CreateChannelRequest
		field string
	}{
		{chime.CreateChannelRequest{ElasticChannelConfiguration: cfg(101, 4, 40)}, "MaximumSubChannels"},
		{chime.CreateChannelRequest{ElasticChannelConfiguration: cfg(2, 1001, 40)}, "TargetMembershipsPerSubChannel"},
		{chime.CreateChannelRequest{ElasticChannelConfiguration: cfg(2, 4, 41)}, "MinimumMembershipPercentage"},
		{chime.CreateChannelRequest{ElasticChannelConfiguration: &chime.ElasticChannelConfiguration{MaximumSubChannels: p(int32(2))}}, "TargetMembershipsPerSubChannel"},
		{chime.CreateChannelRequest{ElasticChannelConfiguration: cfg(2, 4, 40), Mode: chime.ChannelModeUnrestricted}, "Mode"},
		{chime.CreateChannelRequest{ElasticChannelConfiguration: cfg(2, 4, 40), MemberArns: []string{c.bob}}, "MemberArns"},
	} {
		in := tc.in
		in.AppInstanceArn, in.Name, in.ChimeBearer, in.ClientRequestToken = &c.app, p("bad"), &c.alice, p(fmt.Sprint("bad-", i))
		_, err := c.s.CreateChannel(t.Context(), &in)
		wantKind(t, err, chime.BadRequest, tc.field)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("case %d: error %v does not name %s", i, err, tc.field)
		}
	}
	// Nothing was written: the quota's one elastic channel is still free.
	err := c.st.View(t.Context(), func(tx store.ReadTx) error {
		n, err := tx.CountElasticChannels(t.Context(), strings.TrimPrefix(c.app[strings.LastIndex(c.app, "/"):], "/"))
		if err == nil && n != 0 {
			t.Errorf("%d elastic channels after refusals", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The walk: 10 × 6 × 40 from 0 to 30 members (batches of 5) and
// back to 3 (one by one), every step checked.
func TestElasticGrowAndShrink(t *testing.T) {
	c := newElastic(t, 10, 6, 40, 30)
	joined := map[string]bool{}
	maxSubs := 0
	for i := 0; i < 30; i += 5 {
		out := must(c.s.BatchCreateChannelMembership(t.Context(), &chime.BatchCreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArns: c.users[i : i+5]}))
		if len(out.Errors) != 0 || len(out.BatchChannelMemberships.Members) != 5 {
			t.Fatalf("batch %d: %+v", i, out)
		}
		for _, u := range c.users[i : i+5] {
			joined[u] = true
		}
		subs := c.check(t, joined, 10, 6)
		maxSubs = max(maxSubs, len(subs))
	}
	if maxSubs < 5 {
		t.Errorf("30 members in %d sub-channels; target 6 needs at least 5", maxSubs)
	}
	// No BATCH_CREATE_CHANNEL_MEMBERSHIP on elastic channels.
	evs := c.bus.take()
	if slices.Contains(types(evs), evBatchMembership) {
		t.Errorf("elastic batch published BATCH_CREATE_CHANNEL_MEMBERSHIP")
	}
	if n := strings.Count(strings.Join(types(evs), " "), evCreateMembership); n != 30 {
		t.Errorf("%d CREATE_CHANNEL_MEMBERSHIP events for 30 joins", n)
	}
	for i := 29; i >= 3; i-- {
		if err := c.s.DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.users[i]}); err != nil {
			t.Fatal(err)
		}
		delete(joined, c.users[i])
		c.check(t, joined, 10, 6)
	}
	if subs := c.subChannels(t); len(subs) != 1 || *subs[0].MembershipCount != 3 {
		t.Errorf("3 members left in sub-channels %v", counts(subs))
	}
}

// The AWS demo's settings, 2 × 4 × 40: 8 members fit, the 9th is refused
// and nothing is written.
func TestElasticFull(t *testing.T) {
	c := newElastic(t, 2, 4, 40, 9)
	for _, u := range c.users[:8] {
		must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}))
	}
	before := counts(c.subChannels(t))
	c.bus.take()
	_, err := c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.users[8]})
	wantKind(t, err, chime.ResourceLimitExceeded, "9th member")
	out := must(c.s.BatchCreateChannelMembership(t.Context(), &chime.BatchCreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArns: c.users[8:]}))
	if len(out.Errors) != 1 || out.Errors[0].ErrorCode != chime.ErrorCodeResourcelimitexceeded {
		t.Errorf("batch of the 9th: %+v", out.Errors)
	}
	if after := counts(c.subChannels(t)); !slices.Equal(after, before) || !slices.Equal(after, []int32{4, 4}) {
		t.Errorf("sub-channels %v after refusals, want %v = [4 4]", after, before)
	}
	if evs := c.bus.take(); len(evs) != 0 {
		t.Errorf("refused joins published %v", types(evs))
	}
}

// Concurrent joins: allocation runs inside the store transaction, so the
// last seats are never given twice.
func TestElasticConcurrentJoins(t *testing.T) {
	c := newElastic(t, 3, 5, 40, 20)
	var wg sync.WaitGroup
	errs := make([]error, len(c.users))
	for i, u := range c.users {
		wg.Go(func() {
			_, errs[i] = c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u})
		})
	}
	wg.Wait()
	joined := map[string]bool{}
	for i, err := range errs {
		switch chime.KindOf(err) {
		case "":
			joined[c.users[i]] = true
		case chime.ResourceLimitExceeded:
		default:
			t.Errorf("join %d: %v", i, err)
		}
	}
	if len(joined) != 15 {
		t.Errorf("%d members joined a channel of 15 seats", len(joined))
	}
	c.check(t, joined, 3, 5)
}

func TestElasticSubChannelIdRules(t *testing.T) {
	c := newElastic(t, 3, 4, 40, 2)
	u1, u2 := c.users[0], c.users[1]
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u1}))
	sub := *c.subChannels(t)[0].SubChannelId
	for _, tc := range []struct {
		what string
		err  error
	}{
		{"member create with SubChannelId", second(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u2, SubChannelId: &sub}))},
		{"moderator create without SubChannelId", second(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.alice}))},
		{"member delete with SubChannelId", c.s.DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u1, SubChannelId: &sub})},
		{"HIDDEN membership", second(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u2, Type: chime.ChannelMembershipTypeHidden}))},
		{"send without SubChannelId", second(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &u1, Content: p("x"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t1")}))},
		{"list without SubChannelId", second(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &u1}))},
		{"send to a standard channel with SubChannelId", second(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, SubChannelId: &sub, Content: p("x"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t2")}))},
		{"list memberships of a standard channel with SubChannelId", second(c.s.ListChannelMemberships(t.Context(), &chime.ListChannelMembershipsRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, SubChannelId: &sub}))},
		{"read marker", second(c.s.UpdateChannelReadMarker(t.Context(), &chime.UpdateChannelReadMarkerRequest{ChannelArn: &c.el, ChimeBearer: &u1}))},
		{"preferences", second(c.s.GetChannelMembershipPreferences(t.Context(), &chime.GetChannelMembershipPreferencesRequest{ChannelArn: &c.el, ChimeBearer: &u1, MemberArn: &u1}))},
	} {
		wantKind(t, tc.err, chime.BadRequest, tc.what)
		if tc.err != nil && !strings.Contains(tc.err.Error(), "SubChannelId") && !strings.Contains(tc.err.Error(), "elastic") {
			t.Errorf("%s: %v names neither SubChannelId nor elastic channels", tc.what, tc.err)
		}
	}
	// Nothing was written.
	if got := counts(c.subChannels(t)); !slices.Equal(got, []int32{1}) {
		t.Errorf("sub-channels %v after refusals", got)
	}
	_, err := c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &u1, SubChannelId: p("nope")})
	wantKind(t, err, chime.NotFound, "unknown sub-channel")
}

func second[T any](_ T, err error) error { return err }

// Messages belong to one sub-channel: listed, read, edited and delivered
// there only; moderators and admins see every sub-channel.
func TestElasticMessagesScoped(t *testing.T) {
	c := newElastic(t, 2, 2, 40, 3)
	for _, u := range c.users {
		must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}))
	}
	subs := c.subChannels(t)
	if len(subs) != 2 {
		t.Fatalf("3 members with target 2 in %v", counts(subs))
	}
	subOf := map[string]string{}
	for _, sc := range subs {
		for _, m := range c.members(t, *sc.SubChannelId) {
			subOf[m] = *sc.SubChannelId
		}
	}
	// sender and mate share a sub-channel; other is alone in the other.
	var sender, mate, other string
	for _, u := range c.users {
		switch {
		case sender == "":
			sender = u
		case subOf[u] == subOf[sender] && mate == "":
			mate = u
		default:
			other = u
		}
	}
	if mate == "" {
		sender, mate, other = mate, other, sender
		for _, u := range c.users {
			if u != other && sender == "" {
				sender = u
			} else if u != other && u != sender {
				mate = u
			}
		}
	}
	sub, otherSub := subOf[sender], subOf[other]
	if subOf[mate] != sub || otherSub == sub {
		t.Fatalf("could not find two members sharing a sub-channel: %v", subOf)
	}
	c.bus.take()
	out := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &sender, SubChannelId: &sub,
		Content: p("hello sub"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("s1")}))
	if deref(out.SubChannelId) != sub {
		t.Errorf("SendChannelMessage answered SubChannelId %v", out.SubChannelId)
	}
	id := *out.MessageId
	evs := c.bus.take()
	if len(evs) != 1 || !evs[0].Members || evs[0].SubChannelID != sub || len(evs[0].Users) != 0 || evs[0].Audience() != events.AudienceKey(c.el, sub) {
		t.Fatalf("message event addressed to %+v, want the sub-channel's members only", evs)
	}
	var pl events.ChannelMessage
	if err := json.Unmarshal(evs[0].Payload, &pl); err != nil || pl.SubChannelId != sub {
		t.Errorf("payload SubChannelId = %q (%v)", pl.SubChannelId, err)
	}
	// The mate and the moderator list it; the other sub-channel does not
	// have it.
	for _, who := range []string{mate, c.alice, c.admin} {
		l := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &who, SubChannelId: &sub}))
		if len(l.ChannelMessages) != 1 || *l.ChannelMessages[0].MessageId != id || deref(l.SubChannelId) != sub {
			t.Errorf("%s lists %+v", who, l)
		}
		if who != mate {
			l = must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &who, SubChannelId: &otherSub}))
			if len(l.ChannelMessages) != 0 {
				t.Errorf("%s lists %d messages in the other sub-channel", who, len(l.ChannelMessages))
			}
		}
		must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &who, SubChannelId: &sub, MessageId: &id}))
	}
	// Moderators and admins, who belong to no sub-channel, may address the
	// whole channel without a SubChannelId.
	for _, who := range []string{c.alice, c.admin} {
		l := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &who}))
		if len(l.ChannelMessages) != 1 || *l.ChannelMessages[0].MessageId != id || l.SubChannelId != nil {
			t.Errorf("%s lists the whole channel: %+v", who, l)
		}
		got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &who, MessageId: &id})).ChannelMessage
		if deref(got.SubChannelId) != sub {
			t.Errorf("%s gets %+v", who, got)
		}
	}
	_, err := c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &mate})
	wantKind(t, err, chime.BadRequest, "a member lists without SubChannelId")
	_, err = c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &c.alice,
		Content: p("x"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("s0")})
	wantKind(t, err, chime.BadRequest, "a moderator sends without SubChannelId")

	// A member of the other sub-channel: Forbidden in this one, NotFound
	// when it asks its own sub-channel for the message.
	_, err = c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.el, ChimeBearer: &other, SubChannelId: &sub})
	wantKind(t, err, chime.Forbidden, "other sub-channel lists")
	_, err = c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &other, SubChannelId: &sub, MessageId: &id})
	wantKind(t, err, chime.Forbidden, "other sub-channel gets")
	_, err = c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &other, SubChannelId: &otherSub, MessageId: &id})
	wantKind(t, err, chime.NotFound, "message asked of the wrong sub-channel")
	_, err = c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &other, SubChannelId: &sub,
		Content: p("intruder"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("s2")})
	wantKind(t, err, chime.Forbidden, "send to another sub-channel")

	// Edit with the SubChannelId; the wrong one does not find it.
	up := must(c.s.UpdateChannelMessage(t.Context(), &chime.UpdateChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &sender, SubChannelId: &sub, MessageId: &id, Content: p("edited")}))
	if deref(up.SubChannelId) != sub {
		t.Errorf("UpdateChannelMessage answered SubChannelId %v", up.SubChannelId)
	}
	got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &mate, SubChannelId: &sub, MessageId: &id})).ChannelMessage
	if *got.Content != "edited" || deref(got.SubChannelId) != sub {
		t.Errorf("after edit: %+v", got)
	}
	must(c.s.GetChannelMessageStatus(t.Context(), &chime.GetChannelMessageStatusRequest{ChannelArn: &c.el, ChimeBearer: &sender, SubChannelId: &sub, MessageId: &id}))
	must(c.s.RedactChannelMessage(t.Context(), &chime.RedactChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &sender, SubChannelId: &sub, MessageId: &id}))
	err = c.s.DeleteChannelMessage(t.Context(), &chime.DeleteChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &c.admin, SubChannelId: &otherSub, MessageId: &id})
	wantKind(t, err, chime.NotFound, "delete from the wrong sub-channel")
	if err := c.s.DeleteChannelMessage(t.Context(), &chime.DeleteChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &c.admin, SubChannelId: &sub, MessageId: &id}); err != nil {
		t.Fatal(err)
	}
	// A member lists its own sub-channel's memberships by default.
	l := must(c.s.ListChannelMemberships(t.Context(), &chime.ListChannelMembershipsRequest{ChannelArn: &c.el, ChimeBearer: &other}))
	if len(l.ChannelMemberships) != 1 || *l.ChannelMemberships[0].Member.Arn != other {
		t.Errorf("member's default membership list: %+v", l.ChannelMemberships)
	}
	_, err = c.s.ListChannelMemberships(t.Context(), &chime.ListChannelMembershipsRequest{ChannelArn: &c.el, ChimeBearer: &other, SubChannelId: &sub})
	wantKind(t, err, chime.Forbidden, "member lists another sub-channel's memberships")
}

// Scale-out transfers members (UPDATE_CHANNEL_MEMBERSHIP to each, alone);
// scale-in transfers them back and ends the moderators' memberships of
// the deleted sub-channel (DELETE_CHANNEL_MEMBERSHIP, subchannel_DELETED),
// deleting its messages.
func TestElasticScaleEvents(t *testing.T) {
	c := newElastic(t, 3, 6, 40, 7) // threshold 3
	for _, u := range c.users[:6] {
		must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}))
	}
	first := *c.subChannels(t)[0].SubChannelId
	c.bus.take()
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.users[6]}))
	subs := c.subChannels(t)
	if !slices.Equal(counts(subs), []int32{3, 4}) {
		t.Fatalf("after scale-out: %v, want [3 4]", counts(subs))
	}
	second := *subs[1].SubChannelId
	evs := c.bus.take()
	if got := types(evs); !slices.Equal(got, []string{evUpdateMembership, evUpdateMembership, evUpdateMembership, evCreateMembership}) {
		t.Fatalf("scale-out events = %v", got)
	}
	for _, e := range evs[:3] {
		var pl events.ChannelMembership
		_ = json.Unmarshal(e.Payload, &pl)
		if len(e.Users) != 1 || e.Users[0] != pl.Member.Arn || e.Members || pl.SubChannelId != second || e.SubChannelID != second || e.FromSubChannelID != first {
			t.Errorf("transfer event %+v payload %s", e, e.Payload)
		}
	}
	// The moderator joins the second sub-channel, someone posts there.
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.alice, SubChannelId: &second}))
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &c.alice, SubChannelId: &first}))
	inSecond := c.members(t, second)
	msg := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &inSecond[0], SubChannelId: &second,
		Content: p("soon gone"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("gone")})).MessageId
	// Three of the second sub-channel's four members leave: with alice,
	// 2 memberships remain, below the threshold of 3, and the first
	// sub-channel (3 members and alice) can take both.
	c.bus.take()
	var members []string
	for _, m := range inSecond {
		if m != c.alice {
			members = append(members, m)
		}
	}
	for _, m := range members[:3] {
		if err := c.s.DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &m, MemberArn: &m}); err != nil {
			t.Fatal(err)
		}
	}
	subs = c.subChannels(t)
	if len(subs) != 1 || *subs[0].SubChannelId != first || *subs[0].MembershipCount != 5 {
		t.Fatalf("after scale-in: %d sub-channels %v", len(subs), counts(subs))
	}
	var sawTransfer, sawModerator bool
	for _, e := range c.bus.take() {
		var pl events.ChannelMembership
		_ = json.Unmarshal(e.Payload, &pl)
		switch {
		case e.Type == evUpdateMembership && pl.Member.Arn == members[3] && pl.SubChannelId == first:
			sawTransfer = slices.Equal(e.Users, []string{members[3]}) && !e.Members && e.SubChannelID == first &&
				e.FromSubChannelID == second && slices.Equal(e.Joined, []string{members[3]})
		case e.Type == evDeleteMembership && e.Reason == reasonSubChannelDeleted:
			sawModerator = pl.Member.Arn == c.alice && pl.SubChannelId == second && slices.Equal(e.Users, []string{c.alice}) && !e.Members &&
				e.SubChannelID == second && slices.Equal(e.Left, []string{c.alice})
		}
	}
	if !sawTransfer || !sawModerator {
		t.Errorf("scale-in events: transfer %v, moderator %v", sawTransfer, sawModerator)
	}
	_, err := c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, SubChannelId: &second, MessageId: msg})
	wantKind(t, err, chime.NotFound, "message of a deleted sub-channel")

	// Promoting a member removes its membership (DG:elastic).
	u := c.members(t, first)[0]
	if u == c.alice {
		u = c.members(t, first)[1]
	}
	must(c.s.CreateChannelModerator(t.Context(), &chime.CreateChannelModeratorRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, ChannelModeratorArn: &u}))
	_, err = c.s.DescribeChannelMembership(t.Context(), &chime.DescribeChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u})
	wantKind(t, err, chime.NotFound, "promoted member's membership")
}

// TestElasticInvariantsProperty drives random joins and leaves through
// the service and checks the invariants against the API after each.
func TestElasticInvariantsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 3 {
		max, target, pct := int32(2+r.IntN(4)), int32(2+r.IntN(5)), int32(1+r.IntN(40))
		c := newElastic(t, max, target, pct, 40)
		joined := map[string]bool{}
		for step := range 80 {
			u := c.users[r.IntN(len(c.users))]
			if joined[u] {
				if err := c.s.DeleteChannelMembership(t.Context(), &chime.DeleteChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}); err != nil {
					t.Fatal(err)
				}
				delete(joined, u)
			} else {
				_, err := c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u})
				switch {
				case err == nil:
					joined[u] = true
				case chime.KindOf(err) == chime.ResourceLimitExceeded && len(joined) == int(max*target):
				default:
					t.Fatalf("round %d step %d: join with %d/%d seats taken: %v", round, step, len(joined), max*target, err)
				}
			}
			c.check(t, joined, int(max), int(target))
			c.clk.Advance(time.Millisecond)
		}
	}
}

// BenchmarkElasticJoin10k measures 10,000 members joining one elastic
// channel through the service (authorization, allocation with scale-out,
// the membership write, the event and its sub-channel audience, commit),
// from 16 concurrent callers like HTTP clients. One iteration is the
// 10,000 joins into a fresh channel; ns/join is the wall time per join.
// Run: go test ./service -run '^$' -bench ElasticJoin10k -benchtime 1x
func BenchmarkElasticJoin10k(b *testing.B) {
	for _, cfg := range []struct {
		name             string
		max, target, pct int32
	}{
		{"10x1000", 10, 1000, 40},
		{"100x100", 100, 100, 40},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			const members = 10_000
			c := newChatB(b)
			c.s.cfg.MaxElasticChannels = 1 << 20
			app := c.app
			users := make([]string, members)
			err := c.st.Update(b.Context(), func(tx store.Tx) error {
				appID := app[strings.LastIndex(app, "/")+1:]
				now := c.clk.Now()
				for i := range users {
					id := fmt.Sprintf("m%05d", i)
					if _, err := tx.CreateAppInstanceUser(b.Context(), store.AppInstanceUser{AppInstanceID: appID, UserID: id, Name: id, CreatedAt: now, UpdatedAt: now}); err != nil {
						return err
					}
					users[i] = app + "/user/" + id
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				ch := *must(c.s.CreateChannel(b.Context(), &chime.CreateChannelRequest{
					AppInstanceArn: &app, Name: p("bench"), ChimeBearer: &c.alice, ClientRequestToken: p(fmt.Sprint("bench-", cfg.name, i)),
					ElasticChannelConfiguration: &chime.ElasticChannelConfiguration{MaximumSubChannels: &cfg.max, TargetMembershipsPerSubChannel: &cfg.target, MinimumMembershipPercentage: &cfg.pct},
				})).ChannelArn
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				b.StartTimer()
				for range benchClients {
					wg.Go(func() {
						for j := next.Add(1) - 1; j < members; j = next.Add(1) - 1 {
							if _, err := c.s.CreateChannelMembership(b.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &ch, ChimeBearer: &c.alice, MemberArn: &users[j]}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				elapsed := time.Since(start)
				b.ReportMetric(float64(elapsed.Nanoseconds())/members, "ns/join")
				b.ReportMetric(elapsed.Seconds(), "s/10k-joins")
				c.bus.take()
				total := 0
				var tok *string
				for {
					subs := must(c.s.ListSubChannels(b.Context(), &chime.ListSubChannelsRequest{ChannelArn: &ch, ChimeBearer: &c.alice, NextToken: tok}))
					for _, sc := range subs.SubChannels {
						total += int(*sc.MembershipCount)
					}
					if tok = subs.NextToken; tok == nil {
						break
					}
				}
				if total != members {
					b.Fatalf("%d memberships after %d joins", total, members)
				}
				b.StartTimer()
			}
		})
	}
}

// Channel flows run on elastic channels: the processor event carries the
// SubChannelId, the message reaches its sub-channel once allowed, and a
// callback naming another sub-channel is refused.
func TestElasticChannelFlow(t *testing.T) {
	c := newElastic(t, 2, 4, 40, 1)
	proc := &fakeProcessor{}
	c.flows = proc
	flow := *must(c.s.CreateChannelFlow(t.Context(), &chime.CreateChannelFlowRequest{
		AppInstanceArn: &c.app, Name: p("moderation"), ClientRequestToken: p("flow-1"),
		Processors: []chime.Processor{{Name: p("p1"), ExecutionOrder: p(int32(1)), FallbackAction: chime.FallbackActionAbort,
			Configuration: &chime.ProcessorConfiguration{Lambda: &chime.LambdaConfiguration{
				ResourceArn: p("arn:aws:lambda:us-east-1:111122223333:function:moderate"), InvocationType: chime.InvocationTypeAsync}}}},
	})).ChannelFlowArn
	if err := c.s.AssociateChannelFlow(t.Context(), &chime.AssociateChannelFlowRequest{ChannelArn: &c.el, ChannelFlowArn: &flow, ChimeBearer: &c.alice}); err != nil {
		t.Fatal(err)
	}
	u := c.users[0]
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}))
	sub := *c.subChannels(t)[0].SubChannelId
	out := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &u, SubChannelId: &sub,
		Content: p("check me"), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("f1")}))
	if out.Status.Value != chime.ChannelMessageStatusPending {
		t.Fatalf("status %s, want PENDING", out.Status.Value)
	}
	if err := c.dispatchFlows(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := proc.last(t)
	if e.ChannelMessage.SubChannelId != sub || e.ChannelMessage.MessageId != *out.MessageId {
		t.Fatalf("processor event %+v, want SubChannelId %s", e, sub)
	}
	_, err := c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.el, CallbackId: &e.CallbackId,
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId, SubChannelId: p("elsewhere")}})
	wantKind(t, err, chime.BadRequest, "callback naming another sub-channel")
	c.bus.take()
	must(c.s.ChannelFlowCallback(t.Context(), &chime.ChannelFlowCallbackRequest{ChannelArn: &c.el, CallbackId: &e.CallbackId,
		ChannelMessage: &chime.ChannelMessageCallback{MessageId: out.MessageId, SubChannelId: &sub}}))
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evCreateMessage || evs[0].SubChannelID != sub || !evs[0].Members {
		t.Fatalf("allowed message published %+v", evs)
	}
	got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &u, SubChannelId: &sub, MessageId: out.MessageId})).ChannelMessage
	if got.Status.Value != chime.ChannelMessageStatusSent || deref(got.SubChannelId) != sub {
		t.Errorf("delivered %+v", got)
	}
}

// A member's session joins its sub-channel's audience, and prefetch shows
// that sub-channel only.
func TestElasticSessionAndPrefetch(t *testing.T) {
	c := newElastic(t, 2, 2, 40, 3)
	for _, u := range c.users {
		must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, ChimeBearer: &c.alice, MemberArn: &u}))
	}
	subOf := map[string]string{}
	for _, sc := range c.subChannels(t) {
		for _, m := range c.members(t, *sc.SubChannelId) {
			subOf[m] = *sc.SubChannelId
		}
	}
	for _, u := range c.users {
		must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{ChannelArn: &c.el, ChimeBearer: &u, SubChannelId: p(subOf[u]),
			Content: p("from " + u), Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t-" + u[len(u)-3:])}))
	}
	for _, u := range c.users {
		keys := must(c.s.SessionChannels(t.Context(), u))
		if want := events.AudienceKey(c.el, subOf[u]); !slices.Contains(keys, want) || slices.Contains(keys, c.el) {
			t.Errorf("SessionChannels(%s) = %v, want its sub-channel %s", u, keys, want)
		}
		details := must(c.s.Prefetch(t.Context(), u, ""))
		found := false
		for _, d := range details {
			if d.Channel.ChannelArn != c.el {
				continue
			}
			found = found || len(d.ChannelMessages) > 0
			for _, m := range d.ChannelMessages {
				if sender := m.Sender.Arn; subOf[sender] != subOf[u] {
					t.Errorf("%s's prefetch shows %s's message from another sub-channel", u, sender)
				}
			}
			for _, m := range d.ChannelMemberships {
				if subOf[m.Member.Arn] != subOf[u] {
					t.Errorf("%s's prefetch lists %s of another sub-channel", u, m.Member.Arn)
				}
			}
		}
		if !found {
			t.Errorf("%s's prefetch has no messages of the elastic channel: %+v", u, details)
		}
	}
}

// Scale-out and scale-in are streamed as CREATE_SUB_CHANNEL and
// DELETE_SUB_CHANNEL records of the Channel data type (semantics.md §9),
// one per sub-channel opened or merged away, naming the channel and the
// sub-channel.
func TestElasticSubChannelsStreamed(t *testing.T) {
	c := newElastic(t, 10, 2, 40, 6)
	ctx := t.Context()
	stream := "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-elastic"
	must(c.s.PutMessagingStreamingConfigurations(ctx, &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app,
		StreamingConfigurations: []chime.StreamingConfiguration{{DataType: chime.MessagingDataTypeChannel, ResourceArn: &stream}}}))
	subRecords := func() (created, deleted []string) {
		for _, d := range c.deliveries(t, store.DeliveryStream) {
			var r struct {
				EventType string
				Payload   events.SubChannel
			}
			if err := json.Unmarshal([]byte(d.Body), &r); err != nil {
				t.Fatal(err)
			}
			switch r.EventType {
			case evCreateSubChannel, evDeleteSubChannel:
				if r.Payload.ChannelArn != c.el || r.Payload.SubChannelId == "" || d.PartitionKey != c.el {
					t.Errorf("record %s (partition key %s)", d.Body, d.PartitionKey)
				}
				if r.EventType == evCreateSubChannel {
					created = append(created, r.Payload.SubChannelId)
				} else {
					deleted = append(deleted, r.Payload.SubChannelId)
				}
			}
		}
		return created, deleted
	}
	for _, u := range c.users {
		must(c.s.CreateChannelMembership(ctx, &chime.CreateChannelMembershipRequest{ChannelArn: &c.el, MemberArn: &u, Type: chime.ChannelMembershipTypeDefault, ChimeBearer: &c.alice}))
	}
	subs := c.subChannels(t)
	created, deleted := subRecords()
	if len(deleted) != 0 || len(created) != len(subs) {
		t.Fatalf("after 6 joins: %d sub-channels, CREATE_SUB_CHANNEL for %v, DELETE_SUB_CHANNEL for %v", len(subs), created, deleted)
	}
	for i, sc := range subs {
		if *sc.SubChannelId != created[i] {
			t.Errorf("sub-channel %d is %s, streamed %s", i, *sc.SubChannelId, created[i])
		}
	}
	for _, u := range c.users[1:] {
		must(0, c.s.DeleteChannelMembership(ctx, &chime.DeleteChannelMembershipRequest{ChannelArn: &c.el, MemberArn: &u, ChimeBearer: &c.alice}))
	}
	left := c.subChannels(t)
	created, deleted = subRecords()
	if len(created)-len(deleted) != len(left) || len(deleted) == 0 {
		t.Errorf("%d sub-channels left; streamed %d created, %d deleted", len(left), len(created), len(deleted))
	}
	for _, id := range deleted {
		if slices.ContainsFunc(left, func(sc chime.SubChannelSummary) bool { return *sc.SubChannelId == id }) {
			t.Errorf("DELETE_SUB_CHANNEL streamed for %s, which still exists", id)
		}
	}
}
