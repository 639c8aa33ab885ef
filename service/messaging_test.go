package service

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/flowjobs"
	"github.com/belfryhq/belfry/relay"
	"github.com/belfryhq/belfry/store"
)

// recBus is a Bus that records what is published, in order. The service
// writes events to the outbox; take publishes them through a relay first,
// so a test sees every event committed before it called take.
type recBus struct {
	mu    sync.Mutex
	evs   []events.Event
	relay *relay.Relay
}

func (b *recBus) Publish(_ context.Context, evs ...events.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.evs = append(b.evs, evs...)
	return nil
}

func (b *recBus) Subscribe(context.Context) (events.Subscription, error) { panic("not used") }

// take returns and forgets what was published so far.
func (b *recBus) take() []events.Event {
	if err := b.relay.Flush(context.Background()); err != nil {
		panic(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	evs := b.evs
	b.evs = nil
	return evs
}

func types(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// chat is a small world: an app instance with an admin and three users.
type chat struct {
	s                 *Service
	clk               *clock
	st                store.Store
	bus               *recBus
	flows             flowjobs.Invoker // the channel-flow processors
	app               string
	admin, alice, bob string
	carol             string
	ch                string // a PUBLIC channel alice created, with bob as a member
}

func newChat(t *testing.T) *chat { return newChatB(t) }

func newChatB(t testing.TB) *chat {
	t.Helper()
	st := openStore(t, current)
	var err error
	c := &chat{st: st, bus: &recBus{}, clk: &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	c.bus.relay = relay.New(st, c.bus, relay.Options{})
	c.s, err = New(t.Context(), st, Config{Region: region, AccountID: account, Now: c.clk.Now, EventsCommitted: c.bus.relay.Committed, MessagingEndpoint: "127.0.0.1:8401"})
	if err != nil {
		t.Fatal(err)
	}
	c.app = createApp(t, c.s)
	c.admin = createUser(t, c.s, c.app, "admin")
	must(c.s.CreateAppInstanceAdmin(t.Context(), &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &c.app, AppInstanceAdminArn: &c.admin}))
	c.alice = createUser(t, c.s, c.app, "alice")
	c.bob = createUser(t, c.s, c.app, "bob")
	c.carol = createUser(t, c.s, c.app, "carol")
	c.ch = *must(c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{
		AppInstanceArn: &c.app, Name: p("general"), ChimeBearer: &c.alice, ClientRequestToken: p("create-general"),
		MemberArns: []string{c.bob},
	})).ChannelArn
	return c
}

func (c *chat) send(t *testing.T, bearer, content string) string {
	t.Helper()
	out, err := c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &bearer, Content: &content, Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint(time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("send %q as %s: %v", content, bearer, err)
	}
	return *out.MessageId
}

func TestCreateChannelEventsAndDefaults(t *testing.T) {
	c := newChat(t)
	evs := c.bus.take()
	if got := types(evs); !slices.Equal(got, []string{evCreateMembership, evCreateMembership}) {
		t.Fatalf("events = %v, want one CREATE_CHANNEL_MEMBERSHIP per member", got)
	}
	if !slices.Equal(evs[0].Joined, []string{c.alice}) || !evs[0].Members || !slices.Equal(evs[1].Joined, []string{c.bob}) {
		t.Errorf("membership events address %+v / %+v", evs[0], evs[1])
	}
	d := must(c.s.DescribeChannel(t.Context(), &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob})).Channel
	if d.Mode != chime.ChannelModeUnrestricted || d.Privacy != chime.ChannelPrivacyPublic || *d.CreatedBy.Arn != c.alice || *d.CreatedBy.Name != "alice" {
		t.Errorf("channel = %+v", d)
	}
	if d.LastMessageTimestamp != nil {
		t.Errorf("LastMessageTimestamp = %v before any message", d.LastMessageTimestamp)
	}
	// The creator is a moderator too.
	must(c.s.DescribeChannelModerator(t.Context(), &chime.DescribeChannelModeratorRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, ChannelModeratorArn: &c.alice}))
	// The same token and parameters return the same channel; other parameters conflict.
	again := must(c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{
		AppInstanceArn: &c.app, Name: p("general"), ChimeBearer: &c.alice, ClientRequestToken: p("create-general"), MemberArns: []string{c.bob},
	}))
	if *again.ChannelArn != c.ch {
		t.Errorf("retry created %s, want %s", *again.ChannelArn, c.ch)
	}
	_, err := c.s.CreateChannel(t.Context(), &chime.CreateChannelRequest{
		AppInstanceArn: &c.app, Name: p("other"), ChimeBearer: &c.alice, ClientRequestToken: p("create-general"),
	})
	wantKind(t, err, chime.Conflict, "token reused with other parameters")
}

func TestMessageLifecycleEvents(t *testing.T) {
	c := newChat(t)
	c.bus.take()
	id := c.send(t, c.alice, "hello")
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evCreateMessage || !evs[0].Members || evs[0].MessageType != "STANDARD" || evs[0].Persistence != "PERSISTENT" {
		t.Fatalf("send published %+v", evs)
	}
	var pl events.ChannelMessage
	if err := json.Unmarshal(evs[0].Payload, &pl); err != nil {
		t.Fatal(err)
	}
	if pl.MessageId != id || *pl.Content != "hello" || pl.Sender.Arn != c.alice || pl.Status.Value != "SENT" || pl.ChannelArn != c.ch {
		t.Errorf("payload = %s", evs[0].Payload)
	}
	if !json.Valid(evs[0].Payload) || !containsISO(string(evs[0].Payload), "2025-06-01T12:00:00.000Z") {
		t.Errorf("payload timestamps are not ISO-8601 with milliseconds: %s", evs[0].Payload)
	}

	c.clk.Advance(time.Second)
	must(c.s.UpdateChannelMessage(t.Context(), &chime.UpdateChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: &id, Content: p("hello, edited")}))
	got := must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: &id})).ChannelMessage
	if *got.Content != "hello, edited" || got.LastEditedTimestamp == nil || !got.LastEditedTimestamp.After(got.CreatedTimestamp.Time) {
		t.Errorf("after edit: %+v", got)
	}
	must(c.s.RedactChannelMessage(t.Context(), &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: &id}))
	got = must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: &id})).ChannelMessage
	if !got.Redacted || got.Content != nil || got.Metadata != nil {
		t.Errorf("after redact: %+v", got)
	}
	// Redacted messages cannot be edited; redacting again changes nothing.
	_, err := c.s.UpdateChannelMessage(t.Context(), &chime.UpdateChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: &id, Content: p("x")})
	wantKind(t, err, chime.Conflict, "edit a redacted message")
	must(c.s.RedactChannelMessage(t.Context(), &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MessageId: &id}))

	if err := c.s.DeleteChannelMessage(t.Context(), &chime.DeleteChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.admin, MessageId: &id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: &id})
	wantKind(t, err, chime.NotFound, "get a deleted message")
	if got := types(c.bus.take()); !slices.Equal(got, []string{evUpdateMessage, evRedactMessage, evDeleteMessage}) {
		t.Errorf("events = %v", got)
	}
}

func containsISO(s, ts string) bool {
	return strings.Contains(s, `"`+ts+`"`)
}

func TestFailedCallPublishesNothing(t *testing.T) {
	c := newChat(t)
	c.bus.take()
	// carol is not a member: Forbidden, and nothing is sent.
	_, err := c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.carol, Content: p("hi"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t1"),
	})
	wantKind(t, err, chime.Forbidden, "non-member send")
	// A batch whose every member fails adds nobody and tells nobody.
	out := must(c.s.BatchCreateChannelMembership(t.Context(), &chime.BatchCreateChannelMembershipRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArns: []string{c.bob, c.app + "/user/nobody"},
	}))
	if len(out.Errors) != 2 || out.Errors[0].ErrorCode != chime.ErrorCodeConflict || out.Errors[1].ErrorCode != chime.ErrorCodeForbidden {
		t.Errorf("batch errors = %+v", out.Errors)
	}
	if evs := c.bus.take(); len(evs) != 0 {
		t.Errorf("failed calls published %v", types(evs))
	}
}

func TestTargetedAndNonPersistentMessages(t *testing.T) {
	c := newChat(t)
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.carol}))
	c.bus.take()
	out := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("psst"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t-target"),
		Target: []chime.Target{{MemberArn: &c.bob}},
	}))
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Members || !slices.Equal(evs[0].Users, []string{c.alice, c.bob}) {
		t.Fatalf("targeted message addressed %+v", evs)
	}
	for _, who := range []string{c.alice, c.bob} {
		must(c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &who, MessageId: out.MessageId}))
	}
	_, err := c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.carol, MessageId: out.MessageId})
	wantKind(t, err, chime.NotFound, "carol gets a message targeted at bob")
	list := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.carol}))
	if len(list.ChannelMessages) != 0 {
		t.Errorf("carol lists %d messages, want 0", len(list.ChannelMessages))
	}
	// The channel's LastMessageTimestamp does not reveal targeted messages.
	d := must(c.s.DescribeChannel(t.Context(), &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.carol})).Channel
	if d.LastMessageTimestamp != nil {
		t.Errorf("LastMessageTimestamp = %v after a targeted message only", d.LastMessageTimestamp)
	}
	// A target that is not a member is refused.
	_, err = c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("psst"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t-target2"),
		Target: []chime.Target{{MemberArn: &c.admin}},
	})
	wantKind(t, err, chime.BadRequest, "target a non-member")

	np := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("typing"), Type: chime.ChannelMessageTypeControl,
		Persistence: chime.ChannelMessagePersistenceTypeNonPersistent, ClientRequestToken: p("t-np"),
	}))
	evs = c.bus.take()
	if len(evs) != 1 || evs[0].Persistence != "NON_PERSISTENT" || evs[0].MessageType != "CONTROL" || !evs[0].Members {
		t.Fatalf("non-persistent message published %+v", evs)
	}
	_, err = c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: np.MessageId})
	wantKind(t, err, chime.NotFound, "a non-persistent message is not stored")
	// A retry of the non-persistent send returns its id and sends nothing.
	again := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("typing"), Type: chime.ChannelMessageTypeControl,
		Persistence: chime.ChannelMessagePersistenceTypeNonPersistent, ClientRequestToken: p("t-np"),
	}))
	if *again.MessageId != *np.MessageId || len(c.bus.take()) != 0 {
		t.Errorf("retry: id %s (want %s), or it was sent again", *again.MessageId, *np.MessageId)
	}
}

// sameTokenSends sends n copies of one message with one ClientRequestToken
// at once, as bearer, and fails unless every one returns the same
// MessageId, which it returns.
func sameTokenSends(t *testing.T, c *chat, bearer string, n int) string {
	t.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
				ChannelArn: &c.ch, ChimeBearer: &bearer, Content: p("once"), Type: chime.ChannelMessageTypeStandard,
				Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("same-token"),
			})
			errs[i] = err
			if err == nil {
				ids[i] = *out.MessageId
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("retry %d: id %q err %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
	return ids[0]
}

func TestConcurrentRetriesStoreOneMessage(t *testing.T) {
	c := newChat(t)
	c.bus.take()
	id := sameTokenSends(t, c, c.alice, 20)
	list := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob}))
	if len(list.ChannelMessages) != 1 || *list.ChannelMessages[0].MessageId != id {
		t.Errorf("stored %d messages, want exactly 1 with id %s", len(list.ChannelMessages), id)
	}
	if evs := c.bus.take(); len(evs) != 1 {
		t.Errorf("published %d events, want 1", len(evs))
	}
}

func TestBanKicksAndBlocks(t *testing.T) {
	c := newChat(t)
	c.bus.take()
	must(c.s.CreateChannelBan(t.Context(), &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}))
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evDeleteMembership || !slices.Equal(evs[0].Left, []string{c.bob}) || !slices.Contains(evs[0].Users, c.bob) {
		t.Fatalf("ban published %+v", evs)
	}
	_, err := c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob})
	wantKind(t, err, chime.Forbidden, "re-add a banned member")
	_, err = c.s.CreateChannelBan(t.Context(), &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.admin})
	wantKind(t, err, chime.Forbidden, "ban an admin")
	_, err = c.s.CreateChannelBan(t.Context(), &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.admin, MemberArn: &c.alice})
	wantKind(t, err, chime.Forbidden, "ban a moderator")
	_, err = c.s.CreateChannelBan(t.Context(), &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob})
	wantKind(t, err, chime.Conflict, "ban twice")
	if err := c.s.DeleteChannelBan(t.Context(), &chime.DeleteChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}); err != nil {
		t.Fatal(err)
	}
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, MemberArn: &c.bob}))
}

func TestRetentionHidesThenSweeps(t *testing.T) {
	c := newChat(t)
	old := c.send(t, c.alice, "old")
	c.clk.Advance(3 * 24 * time.Hour)
	fresh := c.send(t, c.alice, "fresh")
	must(c.s.PutAppInstanceRetentionSettings(t.Context(), &chime.PutAppInstanceRetentionSettingsRequest{
		AppInstanceArn: &c.app, AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{RetentionDays: p(int32(2))}},
	}))
	ids := func() []string {
		var out []string
		for _, m := range must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob})).ChannelMessages {
			out = append(out, *m.MessageId)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{fresh}) {
		t.Fatalf("with 2-day retention, listed %v; want only the fresh message", got)
	}
	// Within the grace period nothing is deleted, and removing retention shows the message again.
	if n := must(c.s.Sweep(t.Context())); n != 0 {
		t.Errorf("sweep in the grace period deleted %d", n)
	}
	must(c.s.PutAppInstanceRetentionSettings(t.Context(), &chime.PutAppInstanceRetentionSettingsRequest{
		AppInstanceArn: &c.app, AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{}},
	}))
	if got := ids(); !slices.Equal(got, []string{fresh, old}) {
		t.Fatalf("retention removed: listed %v", got)
	}
	must(c.s.PutAppInstanceRetentionSettings(t.Context(), &chime.PutAppInstanceRetentionSettingsRequest{
		AppInstanceArn: &c.app, AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{RetentionDays: p(int32(2))}},
	}))
	c.clk.Advance(RetentionGracePeriod)
	must(c.s.Sweep(t.Context()))
	_, err := c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: &old})
	wantKind(t, err, chime.NotFound, "a message past retention")
	// Deleted for good: lifting retention does not bring it back.
	must(c.s.PutAppInstanceRetentionSettings(t.Context(), &chime.PutAppInstanceRetentionSettingsRequest{
		AppInstanceArn: &c.app, AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{}},
	}))
	_, err = c.s.GetChannelMessage(t.Context(), &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MessageId: &old})
	wantKind(t, err, chime.NotFound, "a swept message after retention is lifted")
}

func TestChannelExpirationSweep(t *testing.T) {
	c := newChat(t)
	must(c.s.PutChannelExpirationSettings(t.Context(), &chime.PutChannelExpirationSettingsRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice,
		ExpirationSettings: &chime.ExpirationSettings{ExpirationCriterion: chime.ExpirationCriterionLastMessageTimestamp, ExpirationDays: p(int32(1))},
	}))
	c.clk.Advance(20 * time.Hour)
	c.send(t, c.bob, "keep it alive")
	c.clk.Advance(20 * time.Hour) // 40h after creation, 20h after the last message
	c.bus.take()
	must(c.s.Sweep(t.Context()))
	must(c.s.DescribeChannel(t.Context(), &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob}))
	c.clk.Advance(5 * time.Hour)
	must(c.s.Sweep(t.Context()))
	_, err := c.s.DescribeChannel(t.Context(), &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob})
	wantKind(t, err, chime.NotFound, "an expired channel")
	evs := c.bus.take()
	if len(evs) != 1 || evs[0].Type != evDeleteChannel || !evs[0].ChannelDeleted {
		t.Errorf("expiry published %v", types(evs))
	}
}

func TestMessageLimits(t *testing.T) {
	c := newChat(t)
	big := string(make([]byte, MaxStandardContentBytes+1))
	cases := []struct {
		name     string
		typ      chime.ChannelMessageType
		content  string
		metadata *string
		attrs    map[string]chime.MessageAttributeValue
	}{
		{"content over 4 KB", chime.ChannelMessageTypeStandard, big, nil, nil},
		{"multi-byte content over 4 KB", chime.ChannelMessageTypeStandard, repeat("é", 2049), nil, nil},
		{"metadata over 1 KB", chime.ChannelMessageTypeStandard, "x", p(repeat("m", 1025)), nil},
		{"control over 30 bytes", chime.ChannelMessageTypeControl, repeat("c", 31), nil, nil},
		{"control with metadata", chime.ChannelMessageTypeControl, "c", p("m"), nil},
		{"attributes over 1 KB", chime.ChannelMessageTypeStandard, "x", nil, map[string]chime.MessageAttributeValue{"k": {StringValues: []string{repeat("v", 512), repeat("w", 512)}}}},
	}
	for _, tc := range cases {
		_, err := c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
			ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: &tc.content, Metadata: tc.metadata, Type: tc.typ,
			Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("limit"), MessageAttributes: tc.attrs,
		})
		wantKind(t, err, chime.BadRequest, tc.name)
	}
	// At the limits, it is accepted.
	must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p(repeat("é", 2048)), Metadata: p(repeat("m", 1024)),
		Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("at-limit"),
	}))
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

func TestMessagePaginationIsStable(t *testing.T) {
	c := newChat(t)
	var sent []string
	for i := range 120 {
		sent = append(sent, c.send(t, c.alice, fmt.Sprint("m", i)))
		if i%7 == 0 {
			c.clk.Advance(time.Millisecond) // some messages share a millisecond, some do not
		}
	}
	for _, order := range []chime.SortOrder{chime.SortOrderDescending, chime.SortOrderAscending} {
		var got []string
		var tok *string
		var extra string
		for page := 0; ; page++ {
			out := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, SortOrder: order, MaxResults: p(int32(50)), NextToken: tok}))
			for _, m := range out.ChannelMessages {
				got = append(got, *m.MessageId)
			}
			if page == 0 {
				extra = c.send(t, c.bob, "arrives while paging") // must not disturb the walk
			}
			if tok = out.NextToken; tok == nil {
				break
			}
		}
		want := slices.Clone(sent)
		if order == chime.SortOrderDescending {
			slices.Reverse(want) // newest first: the newcomer is above the walk
		} else {
			want = append(want, extra) // oldest first: the newcomer ends the walk
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s walk: got %d ids, want %d in order", order, len(got), len(want))
		}
		sent = append(sent, extra)
	}
	// A token is bound to its parameters.
	first := must(c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, MaxResults: p(int32(10))}))
	_, err := c.s.ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bob, SortOrder: chime.SortOrderAscending, NextToken: first.NextToken})
	wantKind(t, err, chime.BadRequest, "token used with another sort order")
}

// benchClients is how many concurrent senders per CPU the send benchmark
// runs, like HTTP clients of a busy server.
const benchClients = 16

// BenchmarkSendChannelMessage measures the service's send path (bearer and
// role lookups, idempotency, insert, channel update, commit) without HTTP.
func BenchmarkSendChannelMessage(b *testing.B) {
	c := newChatB(b)
	// The relay publishes and trims the outbox meanwhile, as in a server.
	ctx, stop := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.bus.relay.Run(ctx) }()
	defer func() { stop(); <-done }()
	var n atomic.Int64
	b.SetParallelism(benchClients)
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := c.s.SendChannelMessage(b.Context(), &chime.SendChannelMessageRequest{
				ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("hello"), Type: chime.ChannelMessageTypeStandard,
				Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint("bench-", n.Add(1))),
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU reports the process's CPU time per op (user and system, every
// goroutine: the clients, the writer, the relay) once the returned
// function runs: on a shared machine a steadier figure than ns/op.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSendManyChannels is BenchmarkSendChannelMessage with each
// sender in a channel of its own: sends of different channels share no
// row, so an engine with concurrent writers runs them side by side.
func BenchmarkSendManyChannels(b *testing.B) {
	c := newChatB(b)
	var chans []string
	for i := range benchClients * runtime.GOMAXPROCS(0) {
		chans = append(chans, *must(c.s.CreateChannel(b.Context(), &chime.CreateChannelRequest{
			AppInstanceArn: &c.app, Name: p("bench"), ChimeBearer: &c.alice, ClientRequestToken: p(fmt.Sprint("bench-channel-", i)),
		})).ChannelArn)
	}
	var n, sender atomic.Int64
	b.SetParallelism(benchClients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ch := chans[int(sender.Add(1)-1)%len(chans)]
		for pb.Next() {
			_, err := c.s.SendChannelMessage(b.Context(), &chime.SendChannelMessageRequest{
				ChannelArn: &ch, ChimeBearer: &c.alice, Content: p("hello"), Type: chime.ChannelMessageTypeStandard,
				Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint("bench-", n.Add(1))),
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// runner is a channel-flow job runner on c's service and processors.
func (c *chat) runner() *flowjobs.Runner {
	return flowjobs.New(c.st, c.s, c.flows, flowjobs.Options{Now: c.clk.Now})
}

// dispatchFlows runs one round of the flow-job runner, synchronously.
func (c *chat) dispatchFlows(ctx context.Context) error { return c.runner().Dispatch(ctx) }
