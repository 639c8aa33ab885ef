package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// chat is createIdentity's app instance (user alice, a bot) plus users bob
// and carol and a channel, general, created by alice with no members.
type chat struct {
	identityFixture
	alice, bob, carol, robot store.Actor
	general                  store.Channel
}

func createChat(t *testing.T, s store.Store, id string) chat {
	t.Helper()
	f := chat{identityFixture: createIdentity(t, s, id)}
	f.alice = store.Actor{Kind: store.MemberUser, ID: f.user.UserID}
	f.bob = store.Actor{Kind: store.MemberUser, ID: "bob"}
	f.carol = store.Actor{Kind: store.MemberUser, ID: "carol"}
	f.robot = store.Actor{Kind: store.MemberBot, ID: f.bot.BotID}
	update(t, s, func(tx store.Tx) error {
		for _, u := range []string{"bob", "carol"} {
			user := store.AppInstanceUser{AppInstanceID: id, UserID: u, Name: "name of " + u, CreatedAt: epoch, UpdatedAt: epoch}
			if _, err := tx.CreateAppInstanceUser(ctx(t), user); err != nil {
				return err
			}
		}
		return nil
	})
	f.general = createChannels(t, s, f.channel("general"))[0]
	return f
}

// channel returns a standard public channel of f's app instance, created
// by alice.
func (f chat) channel(id string) store.Channel {
	return store.Channel{
		AppInstanceID: f.app.ID, ChannelID: id, Name: "channel " + id, Mode: "UNRESTRICTED", Privacy: "PUBLIC",
		CreatedByKind: store.MemberUser, CreatedByID: f.alice.ID, CreatedByName: "Alice",
		CreatedAt: epoch, UpdatedAt: epoch,
	}
}

// member returns a membership of m in the channel, invited by alice.
func (f chat) member(channelID string, m store.Actor, typ chime.ChannelMembershipType) store.ChannelMembership {
	return store.ChannelMembership{
		AppInstanceID: f.app.ID, ChannelID: channelID, Member: m, Type: typ,
		InvitedBy: f.alice, InvitedByName: "Alice", CreatedAt: epoch, UpdatedAt: epoch,
	}
}

// grant returns a moderator or ban of m in the channel, granted by alice.
func (f chat) grant(channelID string, m store.Actor) store.ChannelGrant {
	return store.ChannelGrant{AppInstanceID: f.app.ID, ChannelID: channelID, Member: m,
		CreatedBy: f.alice, CreatedByName: "Alice", CreatedAt: epoch}
}

// message returns a SENT standard message of the channel, sent by sender
// at at.
func (f chat) message(channelID, id string, sender store.Actor, at time.Time) store.ChannelMessage {
	return store.ChannelMessage{
		AppInstanceID: f.app.ID, ChannelID: channelID, MessageID: id, Content: "content of " + id,
		ContentType: "text/plain", Type: "STANDARD", Sender: sender, SenderName: "name of " + sender.ID,
		Status: "SENT", CreatedAt: at, UpdatedAt: at,
	}
}

// createChannels stores cs in one Update and returns them with Seq set.
func createChannels(t *testing.T, s store.Store, cs ...store.Channel) []store.Channel {
	t.Helper()
	return createAll(t, s, cs, func(tx store.Tx, c store.Channel) (store.Channel, error) { return tx.CreateChannel(ctx(t), c) })
}

// createMemberships stores ms in one Update and returns them as created.
func createMemberships(t *testing.T, s store.Store, ms ...store.ChannelMembership) []store.ChannelMembership {
	t.Helper()
	return createAll(t, s, ms, func(tx store.Tx, m store.ChannelMembership) (store.ChannelMembership, error) {
		return tx.CreateChannelMembership(ctx(t), m)
	})
}

// createGrants stores gs as grants of kind in one Update and returns them
// as created.
func createGrants(t *testing.T, s store.Store, kind store.GrantKind, gs ...store.ChannelGrant) []store.ChannelGrant {
	t.Helper()
	return createAll(t, s, gs, func(tx store.Tx, g store.ChannelGrant) (store.ChannelGrant, error) {
		return tx.CreateChannelGrant(ctx(t), kind, g)
	})
}

// createMessages stores ms in one Update, in order, and returns them with
// Seq set.
func createMessages(t *testing.T, s store.Store, ms ...store.ChannelMessage) []store.ChannelMessage {
	t.Helper()
	return createAll(t, s, ms, func(tx store.Tx, m store.ChannelMessage) (store.ChannelMessage, error) {
		return tx.CreateChannelMessage(ctx(t), m)
	})
}

func createAll[T any](t *testing.T, s store.Store, in []T, create func(store.Tx, T) (T, error)) []T {
	t.Helper()
	var out []T
	update(t, s, func(tx store.Tx) error {
		out = nil // in case an engine calls fn again
		for _, v := range in {
			v, err := create(tx, v)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out
}

// read returns what fn reads in a View, failing t on an error.
func read[T any](t *testing.T, s store.Store, fn func(tx store.ReadTx) (T, error)) T {
	t.Helper()
	var v T
	view(t, s, func(tx store.ReadTx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// readPages reads a list limit records at a time, each page in its own
// View, calling between (if not nil) after each page, and returns the
// records of every page in order.
func readPages[T any](t *testing.T, s store.Store, limit int, list func(tx store.ReadTx, p store.Page) ([]T, error), seq func(T) int64, between func()) []T {
	t.Helper()
	var all []T
	p := store.Page{Limit: limit}
	for range 1000 {
		page := read(t, s, func(tx store.ReadTx) ([]T, error) { return list(tx, p) })
		if len(page) > limit {
			t.Fatalf("page of %d records, limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		p.After = seq(page[len(page)-1])
		if between != nil {
			between()
		}
	}
	t.Fatal("pages never end")
	return nil
}

// checkEqual fails t unless got and want are deeply equal (times compared
// with ==, as the contract promises UTC), printing both as JSON so that
// pointer fields show their values.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, asJSON(got), asJSON(want))
	}
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// wantErr fails t unless err matches want (nil for success).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func channelIDs(cs []store.Channel) []string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ChannelID)
	}
	return ids
}

func channelSeq(c store.Channel) int64 { return c.Seq }

func testChannelCreateGet(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	full := f.channel("full")
	full.Mode, full.Privacy, full.Metadata, full.FlowID = "RESTRICTED", "PRIVATE", "meta", "flow-1"
	full.CreatedByKind, full.CreatedByID, full.CreatedByName = store.MemberBot, f.robot.ID, "Bot"
	full.Elastic = &store.ElasticConfig{MaximumSubChannels: 10, TargetMembershipsPerSubChannel: 100, MinimumMembershipPercentage: 25}
	full.Expiration = &store.ChannelExpiration{Criterion: "LAST_MESSAGE_TIMESTAMP", Days: 7, At: epoch.Add(7 * 24 * time.Hour)}
	full.CreatedAt, full.UpdatedAt, full.LastMessageAt = epoch.Add(time.Second), epoch.Add(2*time.Second), epoch.Add(3*time.Second)
	createFlows(t, s, f.flow("flow-1"))
	full = createChannels(t, s, full)[0]
	if f.general.Seq == 0 || full.Seq <= f.general.Seq {
		t.Errorf("Seq = %d then %d, want increasing from > 0", f.general.Seq, full.Seq)
	}
	for _, want := range []store.Channel{f.general, full} {
		got := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", want.ChannelID) })
		checkEqual(t, "GetChannel "+want.ChannelID, got, want)
	}

	// UpdateChannel sets the mutable fields and ignores the others.
	want := full
	want.Name, want.Mode, want.Metadata, want.FlowID = "renamed", "UNRESTRICTED", "m2", ""
	want.Expiration = &store.ChannelExpiration{Criterion: "CREATED_TIMESTAMP", Days: 1, At: epoch.Add(24 * time.Hour)}
	want.UpdatedAt, want.LastMessageAt = epoch.Add(time.Hour), epoch.Add(2*time.Hour)
	in := want
	in.Privacy, in.Elastic, in.CreatedByID, in.CreatedByName, in.CreatedAt = "PUBLIC", nil, "someone", "else", epoch.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannel(ctx(t), in) })
	got := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "full") })
	checkEqual(t, "after UpdateChannel", got, want)

	// Optional fields can be cleared.
	want.Expiration, want.LastMessageAt, want.FlowID = nil, time.Time{}, ""
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannel(ctx(t), want) })
	got = read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "full") })
	checkEqual(t, "after clearing optional fields", got, want)

	// Channel ids are unique per app instance only.
	g := createChat(t, s, "a2")
	if g.general.Seq <= full.Seq {
		t.Errorf("a2's general: Seq %d, want > %d", g.general.Seq, full.Seq)
	}
}

func testChannelErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	missing := f.channel("missing")
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate channel", func(tx store.Tx) error { _, err := tx.CreateChannel(ctx(t), f.general); return err }, store.ErrConflict},
		{"channel of missing app instance", func(tx store.Tx) error {
			c := f.channel("x")
			c.AppInstanceID = "nope"
			_, err := tx.CreateChannel(ctx(t), c)
			return err
		}, store.ErrNotFound},
		{"get missing", func(tx store.Tx) error { _, err := tx.GetChannel(ctx(t), "a1", "missing"); return err }, store.ErrNotFound},
		{"get from another app instance", func(tx store.Tx) error { _, err := tx.GetChannel(ctx(t), "nope", "general"); return err }, store.ErrNotFound},
		{"update missing", func(tx store.Tx) error { return tx.UpdateChannel(ctx(t), missing) }, store.ErrNotFound},
		{"delete missing", func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "missing") }, store.ErrNotFound},
		{"idempotency record of missing channel", func(tx store.Tx) error {
			return tx.PutIdempotencyRecord(ctx(t), store.IdempotencyRecord{Scope: "s", Token: "t", AppInstanceID: "a1", ChannelID: "missing", CreatedAt: epoch})
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
}

// testChannelList pages through the channels while others are created and
// deleted: no page repeats or skips a channel.
func testChannelList(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChat(t, s, "a2") // its general must not show in a1's lists
	var cs []store.Channel
	for i := range 5 {
		c := f.channel(fmt.Sprint("c", i))
		if i%2 == 0 {
			c.Privacy = "PRIVATE"
		}
		if i == 3 {
			c.Elastic = &store.ElasticConfig{MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 2, MinimumMembershipPercentage: 1}
		}
		cs = append(cs, c)
	}
	createChannels(t, s, cs...)

	list := func(privacy string) func(tx store.ReadTx, p store.Page) ([]store.Channel, error) {
		return func(tx store.ReadTx, p store.Page) ([]store.Channel, error) {
			return tx.ListChannels(ctx(t), "a1", privacy, p)
		}
	}
	pages := 0
	got := readPages(t, s, 2, list(""), channelSeq, func() {
		pages++
		if pages == 1 {
			late := f.channel("late")
			late.Privacy = "PRIVATE"
			createChannels(t, s, late)
			update(t, s, func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "c0") }) // already listed
		}
	})
	if want := []string{"general", "c0", "c1", "c2", "c3", "c4", "late"}; !slices.Equal(channelIDs(got), want) {
		t.Errorf("pages of all channels = %v, want %v", channelIDs(got), want)
	}
	for _, tc := range []struct {
		privacy string
		want    []string
	}{
		{"PRIVATE", []string{"c2", "c4", "late"}},
		{"PUBLIC", []string{"general", "c1", "c3"}},
	} {
		got := readPages(t, s, 1, list(tc.privacy), channelSeq, nil)
		if !slices.Equal(channelIDs(got), tc.want) {
			t.Errorf("pages of %s channels = %v, want %v", tc.privacy, channelIDs(got), tc.want)
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		for _, tc := range []struct {
			what string
			fn   func() (int, error)
			want int
		}{
			{"CountChannels(a1)", func() (int, error) { return tx.CountChannels(ctx(t), "a1") }, 6},
			{"CountChannels(a2)", func() (int, error) { return tx.CountChannels(ctx(t), "a2") }, 1},
			{"CountChannels(nope)", func() (int, error) { return tx.CountChannels(ctx(t), "nope") }, 0},
			{"CountElasticChannels(a1)", func() (int, error) { return tx.CountElasticChannels(ctx(t), "a1") }, 1},
			{"CountElasticChannels(a2)", func() (int, error) { return tx.CountElasticChannels(ctx(t), "a2") }, 0},
		} {
			if n, err := tc.fn(); err != nil || n != tc.want {
				t.Errorf("%s = %d, %v; want %d", tc.what, n, err, tc.want)
			}
		}
		return nil
	})
}

func testChannelExpired(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	expiring := func(f chat, id string, at time.Duration) store.Channel {
		c := f.channel(id)
		c.Expiration = &store.ChannelExpiration{Criterion: "CREATED_TIMESTAMP", Days: 1, At: epoch.Add(at)}
		return c
	}
	cs := createChannels(t, s, expiring(f, "x2h", 2*time.Hour), expiring(f, "x1h", time.Hour), expiring(g, "y90m", 90*time.Minute))
	tests := []struct {
		now   time.Duration
		limit int
		want  []string
	}{
		{0, 10, []string{}},
		{time.Hour - time.Millisecond, 10, []string{}},
		{time.Hour, 10, []string{"x1h"}}, // at or before now
		{90 * time.Minute, 10, []string{"x1h", "y90m"}},
		{3 * time.Hour, 10, []string{"x1h", "y90m", "x2h"}},
		{3 * time.Hour, 2, []string{"x1h", "y90m"}},
		{3 * time.Hour, 0, []string{"x1h", "y90m", "x2h"}}, // no limit
	}
	for _, tc := range tests {
		got := read(t, s, func(tx store.ReadTx) ([]store.Channel, error) {
			return tx.ListExpiredChannels(ctx(t), epoch.Add(tc.now), tc.limit)
		})
		if !slices.Equal(channelIDs(got), tc.want) {
			t.Errorf("ListExpiredChannels(epoch+%v, %d) = %v, want %v", tc.now, tc.limit, channelIDs(got), tc.want)
		}
	}
	// Clearing the expiration takes the channel off the list.
	c := cs[1]
	c.Expiration = nil
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannel(ctx(t), c) })
	got := read(t, s, func(tx store.ReadTx) ([]store.Channel, error) {
		return tx.ListExpiredChannels(ctx(t), epoch.Add(3*time.Hour), 0)
	})
	if want := []string{"y90m", "x2h"}; !slices.Equal(channelIDs(got), want) {
		t.Errorf("after clearing x1h's expiration: %v, want %v", channelIDs(got), want)
	}
}

func testChannelSearch(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createChannels(t, s, f.channel("ab"), f.channel("abc"), f.channel("aH"), f.channel("bR"), f.channel("empty"), g.channel("ab"))
	// Memberships in another order than the channels', which must not
	// change the results' order.
	createMemberships(t, s,
		f.member("bR", f.bob, "DEFAULT"), f.member("bR", f.robot, "DEFAULT"),
		f.member("aH", f.alice, "DEFAULT"), f.member("aH", f.bob, "HIDDEN"),
		f.member("abc", f.carol, "DEFAULT"), f.member("abc", f.bob, "DEFAULT"), f.member("abc", f.alice, "DEFAULT"),
		f.member("ab", f.bob, "DEFAULT"), f.member("ab", f.alice, "DEFAULT"),
		g.member("ab", g.alice, "DEFAULT"), g.member("ab", g.bob, "DEFAULT"),
	)
	all := []string{"general", "ab", "abc", "aH", "bR", "empty"}
	includes := func(ms ...store.Actor) store.MemberClause { return store.MemberClause{Members: ms} }
	equals := func(ms ...store.Actor) store.MemberClause { return store.MemberClause{Equals: true, Members: ms} }
	zed := store.Actor{Kind: store.MemberUser, ID: "zed"}
	tests := []struct {
		name     string
		clauses  []store.MemberClause
		memberOf *store.Actor
		want     []string
	}{
		{"no clauses", nil, nil, all},
		{"includes alice", []store.MemberClause{includes(f.alice)}, nil, []string{"ab", "abc", "aH"}},
		{"includes alice and bob (hidden bob is no match)", []store.MemberClause{includes(f.alice, f.bob)}, nil, []string{"ab", "abc"}},
		{"includes bob and alice (the first member hidden)", []store.MemberClause{includes(f.bob, f.alice)}, nil, []string{"ab", "abc"}},
		{"includes the bot", []store.MemberClause{includes(f.robot)}, nil, []string{"bR"}},
		{"includes a stranger", []store.MemberClause{includes(zed)}, nil, []string{}},
		{"includes nobody", []store.MemberClause{includes()}, nil, all},
		{"equals alice and bob", []store.MemberClause{equals(f.alice, f.bob)}, nil, []string{"ab"}},
		{"equals with a duplicate", []store.MemberClause{equals(f.bob, f.alice, f.bob)}, nil, []string{"ab"}},
		{"equals alice (hidden members do not count)", []store.MemberClause{equals(f.alice)}, nil, []string{"aH"}},
		{"equals bot and bob", []store.MemberClause{equals(f.robot, f.bob)}, nil, []string{"bR"}},
		{"equals nobody", []store.MemberClause{equals()}, nil, []string{"general", "empty"}},
		{"includes and equals", []store.MemberClause{includes(f.carol), equals(f.alice, f.bob, f.carol)}, nil, []string{"abc"}},
		{"two different equals", []store.MemberClause{equals(f.alice, f.bob), equals(f.alice)}, nil, []string{}},
		{"member of, hidden included", nil, &f.bob, []string{"ab", "abc", "aH", "bR"}},
		{"member of with includes", []store.MemberClause{includes(f.alice)}, &f.carol, []string{"abc"}},
		{"bot member of with includes", []store.MemberClause{includes(f.alice)}, &f.robot, []string{}},
		{"member of with equals", []store.MemberClause{equals(f.alice)}, &f.bob, []string{"aH"}},
		{"stranger member of", nil, &zed, []string{}},
	}
	for _, tc := range tests {
		for _, limit := range []int{1, 100} {
			got := readPages(t, s, limit, func(tx store.ReadTx, p store.Page) ([]store.Channel, error) {
				return tx.SearchChannels(ctx(t), "a1", tc.clauses, tc.memberOf, p)
			}, channelSeq, nil)
			if !slices.Equal(channelIDs(got), tc.want) {
				t.Errorf("%s, pages of %d: %v, want %v", tc.name, limit, channelIDs(got), tc.want)
			}
		}
	}
	got := read(t, s, func(tx store.ReadTx) ([]store.Channel, error) {
		return tx.SearchChannels(ctx(t), "a1", []store.MemberClause{equals(f.alice, f.bob)}, nil, store.Page{})
	})
	if len(got) == 1 {
		want := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "ab") })
		checkEqual(t, "found channel", got[0], want)
	}
}

// testChannelDelete deletes a channel with members, moderators, bans,
// messages and idempotency records; its sibling keeps all of its own.
func testChannelDelete(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChannels(t, s, f.channel("doomed"))
	for _, id := range []string{"doomed", "general"} {
		createMemberships(t, s, f.member(id, f.alice, "DEFAULT"), f.member(id, f.robot, "HIDDEN"))
		createGrants(t, s, store.Moderator, f.grant(id, f.bob))
		createGrants(t, s, store.Ban, f.grant(id, f.carol))
		createMessages(t, s, f.message(id, id+"-m1", f.alice, epoch), f.message(id, id+"-m2", f.robot, epoch))
		update(t, s, func(tx store.Tx) error {
			// Put twice: the second replaces the first, owner included.
			r := store.IdempotencyRecord{Scope: "CreateChannelMessage " + id, Token: "t", AppInstanceID: "a1", CreatedAt: epoch}
			if err := tx.PutIdempotencyRecord(ctx(t), r); err != nil {
				return err
			}
			r.Result, r.ChannelID = id+"-m1", id
			return tx.PutIdempotencyRecord(ctx(t), r)
		})
	}
	rec := read(t, s, func(tx store.ReadTx) (store.IdempotencyRecord, error) {
		return tx.GetIdempotencyRecord(ctx(t), "CreateChannelMessage doomed", "t")
	})
	if rec.ChannelID != "doomed" {
		t.Errorf("idempotency record's ChannelID = %q, want doomed", rec.ChannelID)
	}

	update(t, s, func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "doomed") })

	view(t, s, func(tx store.ReadTx) error {
		for _, tc := range []struct {
			id   string
			want error // for the doomed channel's records; the general's exist
		}{{"doomed", store.ErrNotFound}, {"general", nil}} {
			_, err := tx.GetChannel(ctx(t), "a1", tc.id)
			wantErr(t, "channel "+tc.id, err, tc.want)
			_, err = tx.GetChannelMembership(ctx(t), "a1", tc.id, f.alice)
			wantErr(t, "membership in "+tc.id, err, tc.want)
			_, err = tx.GetChannelGrant(ctx(t), store.Moderator, "a1", tc.id, f.bob)
			wantErr(t, "moderator of "+tc.id, err, tc.want)
			_, err = tx.GetChannelGrant(ctx(t), store.Ban, "a1", tc.id, f.carol)
			wantErr(t, "ban in "+tc.id, err, tc.want)
			_, err = tx.GetChannelMessage(ctx(t), "a1", tc.id, tc.id+"-m2")
			wantErr(t, "message of "+tc.id, err, tc.want)
			_, err = tx.GetIdempotencyRecord(ctx(t), "CreateChannelMessage "+tc.id, "t")
			wantErr(t, "idempotency record of "+tc.id, err, tc.want)
		}
		if n, err := tx.CountChannelMemberships(ctx(t), "a1", "doomed"); n != 0 || err != nil {
			t.Errorf("CountChannelMemberships(doomed) = %d, %v; want 0", n, err)
		}
		if ms, err := tx.ListChannelMessages(ctx(t), "a1", "doomed", store.MessageQuery{Viewer: f.alice}); len(ms) != 0 || err != nil {
			t.Errorf("ListChannelMessages(doomed) = %d messages, %v; want none", len(ms), err)
		}
		mcs, err := tx.ListMembershipsOf(ctx(t), "a1", f.robot, store.Page{})
		if err != nil || len(mcs) != 1 || mcs[0].Channel.ChannelID != "general" {
			t.Errorf("ListMembershipsOf(bot) = %+v, %v; want general's only", mcs, err)
		}
		// The people stay.
		if _, err := tx.GetAppInstanceUser(ctx(t), "a1", "bob"); err != nil {
			t.Errorf("bob after the channel was deleted: %v", err)
		}
		return nil
	})

	// A new channel of the same id starts empty.
	createChannels(t, s, f.channel("doomed"))
	view(t, s, func(tx store.ReadTx) error {
		if n, err := tx.CountChannelGrants(ctx(t), store.Ban, "a1", "doomed"); n != 0 || err != nil {
			t.Errorf("bans of the new doomed = %d, %v; want 0", n, err)
		}
		if ms, err := tx.ListChannelMessages(ctx(t), "a1", "doomed", store.MessageQuery{Viewer: f.alice}); len(ms) != 0 || err != nil {
			t.Errorf("messages of the new doomed = %d, %v; want none", len(ms), err)
		}
		return nil
	})
}

// testMessagingDeleteAppInstance deletes an app instance with channels and
// everything in them; the other app instance, with the same ids, keeps its
// own.
func testMessagingDeleteAppInstance(t *testing.T, s store.Store) {
	fs := []chat{createChat(t, s, "a1"), createChat(t, s, "a2")}
	for _, f := range fs {
		c := f.channel("expiring")
		c.Expiration = &store.ChannelExpiration{Criterion: "CREATED_TIMESTAMP", Days: 1, At: epoch}
		createChannels(t, s, c)
		createMemberships(t, s, f.member("general", f.alice, "DEFAULT"), f.member("general", f.robot, "DEFAULT"))
		createGrants(t, s, store.Moderator, f.grant("general", f.alice))
		createGrants(t, s, store.Ban, f.grant("general", f.bob))
		createMessages(t, s, f.message("general", f.app.ID+"-m", f.alice, epoch))
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteAppInstance(ctx(t), "a1") })

	view(t, s, func(tx store.ReadTx) error {
		counts := []struct {
			what  string
			count func(f chat) (int, error)
			inA2  int // a1 must have none left
		}{
			{"channels", func(f chat) (int, error) { return tx.CountChannels(ctx(t), f.app.ID) }, 2},
			{"memberships", func(f chat) (int, error) { return tx.CountChannelMemberships(ctx(t), f.app.ID, "general") }, 2},
			{"alice's memberships", func(f chat) (int, error) { return tx.CountMembershipsOf(ctx(t), f.app.ID, f.alice) }, 1},
			{"bot's memberships", func(f chat) (int, error) { return tx.CountMembershipsOf(ctx(t), f.app.ID, f.robot) }, 1},
			{"moderators", func(f chat) (int, error) { return tx.CountChannelGrants(ctx(t), store.Moderator, f.app.ID, "general") }, 1},
			{"bans", func(f chat) (int, error) { return tx.CountChannelGrants(ctx(t), store.Ban, f.app.ID, "general") }, 1},
			{"messages", func(f chat) (int, error) {
				ms, err := tx.ListChannelMessages(ctx(t), f.app.ID, "general", store.MessageQuery{Viewer: f.alice})
				return len(ms), err
			}, 1},
		}
		for _, c := range counts {
			for i, f := range fs {
				want := c.inA2
				if i == 0 {
					want = 0
				}
				if n, err := c.count(f); n != want || err != nil {
					t.Errorf("%s of %s = %d, %v; want %d", c.what, f.app.ID, n, err, want)
				}
			}
		}
		expired, err := tx.ListExpiredChannels(ctx(t), epoch, 0)
		if err != nil || len(expired) != 1 || expired[0].AppInstanceID != "a2" {
			t.Errorf("ListExpiredChannels = %+v, %v; want a2's channel only", expired, err)
		}
		_, err = tx.GetChannelMessage(ctx(t), "a1", "general", "a1-m")
		wantErr(t, "a1's message", err, store.ErrNotFound)
		return nil
	})
}
