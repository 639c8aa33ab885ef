package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/belfryhq/belfry/store"
)

func grantMemberIDs(gs []store.ChannelGrant) []string {
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.Member.ID)
	}
	return ids
}

// testGrants creates moderators and bans, which are separate records: a
// member may be both, and deleting one leaves the other.
func testGrants(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	byBot := f.grant("general", f.carol)
	byBot.CreatedBy, byBot.CreatedByName = f.robot, "Bot"
	mods := createGrants(t, s, store.Moderator, f.grant("general", f.bob), f.grant("general", f.robot))
	bans := createGrants(t, s, store.Ban, byBot, f.grant("general", f.bob))

	for i, tc := range []struct {
		kind store.GrantKind
		got  store.ChannelGrant
		in   store.ChannelGrant
		name string
	}{
		{store.Moderator, mods[0], f.grant("general", f.bob), "name of bob"},
		{store.Moderator, mods[1], f.grant("general", f.robot), "Bot"},
		{store.Ban, bans[0], byBot, "name of carol"},
		{store.Ban, bans[1], f.grant("general", f.bob), "name of bob"},
	} {
		want := tc.in
		want.MemberName, want.Seq = tc.name, tc.got.Seq
		if tc.got.Seq == 0 {
			t.Errorf("grant %d: Seq not set", i)
		}
		checkEqual(t, fmt.Sprintf("CreateChannelGrant %s %s", tc.kind, tc.in.Member.ID), tc.got, want)
		got := read(t, s, func(tx store.ReadTx) (store.ChannelGrant, error) {
			return tx.GetChannelGrant(ctx(t), tc.kind, "a1", "general", tc.in.Member)
		})
		checkEqual(t, fmt.Sprintf("GetChannelGrant %s %s", tc.kind, tc.in.Member.ID), got, want)
	}

	for _, tc := range []struct {
		kind store.GrantKind
		want []store.ChannelGrant
	}{
		{store.Moderator, mods},
		{store.Ban, bans},
	} {
		got := readPages(t, s, 1, func(tx store.ReadTx, p store.Page) ([]store.ChannelGrant, error) {
			return tx.ListChannelGrants(ctx(t), tc.kind, "a1", "general", p)
		}, func(g store.ChannelGrant) int64 { return g.Seq }, nil)
		checkEqual(t, "ListChannelGrants "+string(tc.kind), got, tc.want)
		if n := read(t, s, func(tx store.ReadTx) (int, error) { return tx.CountChannelGrants(ctx(t), tc.kind, "a1", "general") }); n != 2 {
			t.Errorf("CountChannelGrants(%s) = %d, want 2", tc.kind, n)
		}
	}

	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelGrant(ctx(t), store.Moderator, "a1", "general", f.bob) })
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetChannelGrant(ctx(t), store.Moderator, "a1", "general", f.bob)
		wantErr(t, "deleted moderator", err, store.ErrNotFound)
		_, err = tx.GetChannelGrant(ctx(t), store.Ban, "a1", "general", f.bob)
		wantErr(t, "ban of the deleted moderator", err, nil)
		mods, err := tx.ListChannelGrants(ctx(t), store.Moderator, "a1", "general", store.Page{})
		if got := grantMemberIDs(mods); err != nil || !slices.Equal(got, []string{f.robot.ID}) {
			t.Errorf("moderators after the delete = %v, %v; want [%s]", got, err, f.robot.ID)
		}
		return nil
	})
}

func testGrantErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createGrants(t, s, store.Moderator, f.grant("general", f.bob))
	createGrants(t, s, store.Ban, f.grant("general", f.robot))
	create := func(kind store.GrantKind, g store.ChannelGrant) func(tx store.Tx) error {
		return func(tx store.Tx) error { _, err := tx.CreateChannelGrant(ctx(t), kind, g); return err }
	}
	dave := store.Actor{Kind: store.MemberUser, ID: "dave"}
	ghostBot := store.Actor{Kind: store.MemberBot, ID: "ghost"}
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate moderator", create(store.Moderator, f.grant("general", f.bob)), store.ErrConflict},
		{"duplicate ban", create(store.Ban, f.grant("general", f.robot)), store.ErrConflict},
		{"moderator of missing channel", create(store.Moderator, f.grant("missing", f.carol)), store.ErrNotFound},
		{"ban of missing channel", create(store.Ban, f.grant("missing", f.carol)), store.ErrNotFound},
		{"missing user", create(store.Moderator, f.grant("general", dave)), store.ErrNotFound},
		{"missing bot", create(store.Ban, f.grant("general", ghostBot)), store.ErrNotFound},
		{"get missing", func(tx store.Tx) error {
			_, err := tx.GetChannelGrant(ctx(t), store.Ban, "a1", "general", f.bob)
			return err
		}, store.ErrNotFound},
		{"delete missing", func(tx store.Tx) error { return tx.DeleteChannelGrant(ctx(t), store.Ban, "a1", "general", f.bob) }, store.ErrNotFound},
		{"delete of the other kind", func(tx store.Tx) error {
			return tx.DeleteChannelGrant(ctx(t), store.Moderator, "a1", "general", f.robot)
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
}

// testChannelsModeratedBy lists a member's moderator grants, with their
// channels, in grant order; bans are not moderation.
func testChannelsModeratedBy(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	cs := createChannels(t, s, f.channel("c1"), f.channel("c2"), f.channel("c3"))
	createGrants(t, s, store.Moderator, g.grant("general", g.bob))
	mods := createGrants(t, s, store.Moderator, f.grant("c3", f.bob), f.grant("c1", f.robot), f.grant("general", f.bob), f.grant("c1", f.bob))
	createGrants(t, s, store.Ban, f.grant("c2", f.bob))
	channels := map[string]store.Channel{"general": f.general}
	for _, c := range cs {
		channels[c.ChannelID] = c
	}
	for _, tc := range []struct {
		m    store.Actor
		want []store.ChannelGrant
	}{
		{f.bob, []store.ChannelGrant{mods[0], mods[2], mods[3]}},
		{f.robot, []store.ChannelGrant{mods[1]}},
		{f.carol, nil},
	} {
		got := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.ModeratedChannel, error) {
			return tx.ListChannelsModeratedBy(ctx(t), "a1", tc.m, p)
		}, func(mc store.ModeratedChannel) int64 { return mc.Grant.Seq }, nil)
		var want []store.ModeratedChannel
		for _, g := range tc.want {
			want = append(want, store.ModeratedChannel{Grant: g, Channel: channels[g.ChannelID]})
		}
		checkEqual(t, "ListChannelsModeratedBy "+tc.m.ID, got, want)
	}
}
