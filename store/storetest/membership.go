package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

func memberIDs(ms []store.ChannelMembership) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.Member.ID)
	}
	return ids
}

func membershipSeq(m store.ChannelMembership) int64 { return m.Seq }

func testMembershipCreateGet(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	bob := f.member("general", f.bob, "DEFAULT")
	bot := f.member("general", f.robot, "HIDDEN")
	bot.InvitedBy, bot.InvitedByName = f.robot, "Bot"
	bot.ReadMarkerAt, bot.Preferences, bot.SubChannelID = epoch.Add(time.Minute), `{"PushNotifications":{}}`, "sub-1"
	created := createMemberships(t, s, bob, bot)

	// Create returns the record as stored, with Seq and the member's name.
	bob.MemberName, bot.MemberName = "name of bob", "Bot"
	for i, want := range []store.ChannelMembership{bob, bot} {
		got := created[i]
		if got.Seq == 0 || i > 0 && got.Seq <= created[0].Seq {
			t.Errorf("Seq of %s = %d, want increasing from > 0", want.Member.ID, got.Seq)
		}
		want.Seq = got.Seq
		checkEqual(t, "CreateChannelMembership "+want.Member.ID, got, want)
		got = read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
			return tx.GetChannelMembership(ctx(t), "a1", "general", want.Member)
		})
		checkEqual(t, "GetChannelMembership "+want.Member.ID, got, want)
	}

	// UpdateChannelMembership sets ReadMarkerAt, Preferences, SubChannelID
	// and UpdatedAt, and nothing else.
	want := created[0]
	want.ReadMarkerAt, want.Preferences, want.SubChannelID, want.UpdatedAt = epoch.Add(time.Hour), `{"x":1}`, "sub-2", epoch.Add(2*time.Hour)
	in := want
	in.Type, in.InvitedBy, in.InvitedByName, in.CreatedAt, in.MemberName = "HIDDEN", f.carol, "Carol", epoch.Add(time.Hour), "ignored"
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannelMembership(ctx(t), in) })
	got := read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetChannelMembership(ctx(t), "a1", "general", f.bob)
	})
	checkEqual(t, "after UpdateChannelMembership", got, want)
	want.ReadMarkerAt, want.Preferences, want.SubChannelID = time.Time{}, "", ""
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannelMembership(ctx(t), want) })
	got = read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetChannelMembership(ctx(t), "a1", "general", f.bob)
	})
	checkEqual(t, "after clearing optional fields", got, want)

	// MemberName follows renames.
	update(t, s, func(tx store.Tx) error {
		u, err := tx.GetAppInstanceUser(ctx(t), "a1", "bob")
		if err != nil {
			return err
		}
		u.Name = "Robert"
		return tx.UpdateAppInstanceUser(ctx(t), u)
	})
	view(t, s, func(tx store.ReadTx) error {
		m, err := tx.GetChannelMembership(ctx(t), "a1", "general", f.bob)
		if err != nil || m.MemberName != "Robert" {
			t.Errorf("GetChannelMembership after rename: MemberName %q, %v; want Robert", m.MemberName, err)
		}
		ms, err := tx.ListChannelMemberships(ctx(t), "a1", "general", "", store.Page{})
		if err != nil || len(ms) != 2 || ms[0].MemberName != "Robert" || ms[1].MemberName != "Bot" {
			t.Errorf("ListChannelMemberships after rename = %+v, %v", ms, err)
		}
		return nil
	})

	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelMembership(ctx(t), "a1", "general", f.bob) })
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetChannelMembership(ctx(t), "a1", "general", f.bob)
		wantErr(t, "deleted membership", err, store.ErrNotFound)
		_, err = tx.GetChannelMembership(ctx(t), "a1", "general", f.robot)
		wantErr(t, "the other membership", err, nil)
		return nil
	})
}

func testMembershipErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChat(t, s, "a2") // its bob must not do for a1's
	createChannels(t, s, f.channel("other"))
	createMemberships(t, s, f.member("general", f.bob, "DEFAULT"), f.member("general", f.robot, "DEFAULT"))
	create := func(m store.ChannelMembership) func(tx store.Tx) error {
		return func(tx store.Tx) error { _, err := tx.CreateChannelMembership(ctx(t), m); return err }
	}
	dave := store.Actor{Kind: store.MemberUser, ID: "dave"}
	ghostBot := store.Actor{Kind: store.MemberBot, ID: "ghost"}
	// A user id used as a bot id names no bot.
	bobAsBot := store.Actor{Kind: store.MemberBot, ID: "bob"}
	// a2 has a bob, but "other" is a1's channel.
	otherApp := f.member("other", f.bob, "DEFAULT")
	otherApp.AppInstanceID = "a2"
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate", create(f.member("general", f.bob, "HIDDEN")), store.ErrConflict},
		{"duplicate bot", create(f.member("general", f.robot, "DEFAULT")), store.ErrConflict},
		{"same member, other channel", create(f.member("other", f.bob, "DEFAULT")), nil},
		{"missing channel", create(f.member("missing", f.carol, "DEFAULT")), store.ErrNotFound},
		{"missing user", create(f.member("general", dave, "DEFAULT")), store.ErrNotFound},
		{"missing bot", create(f.member("general", ghostBot, "DEFAULT")), store.ErrNotFound},
		{"user id as bot id", create(f.member("general", bobAsBot, "DEFAULT")), store.ErrNotFound},
		{"channel of another app instance", create(otherApp), store.ErrNotFound},
		{"get missing", func(tx store.Tx) error {
			_, err := tx.GetChannelMembership(ctx(t), "a1", "general", f.carol)
			return err
		}, store.ErrNotFound},
		{"get as the other kind", func(tx store.Tx) error {
			_, err := tx.GetChannelMembership(ctx(t), "a1", "general", bobAsBot)
			return err
		}, store.ErrNotFound},
		{"update missing", func(tx store.Tx) error {
			return tx.UpdateChannelMembership(ctx(t), f.member("general", f.carol, "DEFAULT"))
		}, store.ErrNotFound},
		{"delete missing", func(tx store.Tx) error { return tx.DeleteChannelMembership(ctx(t), "a1", "general", f.carol) }, store.ErrNotFound},
		{"delete in missing channel", func(tx store.Tx) error { return tx.DeleteChannelMembership(ctx(t), "a1", "missing", f.bob) }, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
}

// testMembershipList pages through a channel's memberships, all and by
// type, while members join, and lists a member's channels.
func testMembershipList(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createMemberships(t, s,
		f.member("general", f.bob, "DEFAULT"), f.member("general", f.robot, "HIDDEN"),
		f.member("general", f.carol, "DEFAULT"), f.member("general", f.alice, "HIDDEN"))
	update(t, s, func(tx store.Tx) error {
		for i := range 3 {
			u := store.AppInstanceUser{AppInstanceID: "a1", UserID: fmt.Sprint("late", i), CreatedAt: epoch, UpdatedAt: epoch}
			if _, err := tx.CreateAppInstanceUser(ctx(t), u); err != nil {
				return err
			}
		}
		return nil
	})

	list := func(typ string) func(tx store.ReadTx, p store.Page) ([]store.ChannelMembership, error) {
		return func(tx store.ReadTx, p store.Page) ([]store.ChannelMembership, error) {
			return tx.ListChannelMemberships(ctx(t), "a1", "general", typ, p)
		}
	}
	late := 0
	got := readPages(t, s, 2, list(""), membershipSeq, func() {
		if late < 3 {
			createMemberships(t, s, f.member("general", store.Actor{Kind: store.MemberUser, ID: fmt.Sprint("late", late)}, []chime.ChannelMembershipType{"DEFAULT", "HIDDEN"}[late%2]))
			late++
		}
	})
	if want := []string{"bob", f.robot.ID, "carol", "alice", "late0", "late1", "late2"}; !slices.Equal(memberIDs(got), want) {
		t.Errorf("pages of memberships = %v, want %v", memberIDs(got), want)
	}
	for _, tc := range []struct {
		typ  string
		want []string
	}{
		{"DEFAULT", []string{"bob", "carol", "late0", "late2"}},
		{"HIDDEN", []string{f.robot.ID, "alice", "late1"}},
	} {
		got := readPages(t, s, 1, list(tc.typ), membershipSeq, nil)
		if !slices.Equal(memberIDs(got), tc.want) {
			t.Errorf("pages of %s memberships = %v, want %v", tc.typ, memberIDs(got), tc.want)
		}
		for _, m := range got {
			if string(m.Type) != tc.typ {
				t.Errorf("%s list has a %s membership: %+v", tc.typ, m.Type, m)
			}
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		if n, err := tx.CountChannelMemberships(ctx(t), "a1", "general"); n != 7 || err != nil {
			t.Errorf("CountChannelMemberships = %d, %v; want 7", n, err)
		}
		return nil
	})
}

// testMembershipsOf lists a member's memberships, with their channels, in
// the order the memberships were created.
func testMembershipsOf(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2") // the same ids, which must not show
	cs := createChannels(t, s, f.channel("c1"), f.channel("c2"), f.channel("c3"))
	createChannels(t, s, g.channel("c1"))
	createMemberships(t, s, g.member("c1", g.alice, "DEFAULT"), g.member("general", g.alice, "DEFAULT"))
	ms := createMemberships(t, s,
		f.member("c3", f.alice, "DEFAULT"), f.member("c1", f.robot, "DEFAULT"), f.member("c1", f.alice, "HIDDEN"),
		f.member("general", f.alice, "DEFAULT"), f.member("c2", f.bob, "DEFAULT"))
	channels := map[string]store.Channel{"general": f.general}
	for _, c := range cs {
		channels[c.ChannelID] = c
	}

	for _, tc := range []struct {
		m    store.Actor
		want []store.ChannelMembership
	}{
		{f.alice, []store.ChannelMembership{ms[0], ms[2], ms[3]}},
		{f.robot, []store.ChannelMembership{ms[1]}},
		{f.carol, nil},
	} {
		got := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.MemberChannel, error) {
			return tx.ListMembershipsOf(ctx(t), "a1", tc.m, p)
		}, func(mc store.MemberChannel) int64 { return mc.Membership.Seq }, nil)
		var want []store.MemberChannel
		for _, m := range tc.want {
			want = append(want, store.MemberChannel{Membership: m, Channel: channels[m.ChannelID]})
		}
		checkEqual(t, "ListMembershipsOf "+tc.m.ID, got, want)
		n := read(t, s, func(tx store.ReadTx) (int, error) { return tx.CountMembershipsOf(ctx(t), "a1", tc.m) })
		if n != len(tc.want) {
			t.Errorf("CountMembershipsOf(%s) = %d, want %d", tc.m.ID, n, len(tc.want))
		}
	}
}

// testMemberDelete deletes a user and a bot with memberships, moderator
// roles and bans: those go, while their messages and the channels they
// created stay.
func testMemberDelete(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2") // same ids: bob and its records stay there
	bobs := f.channel("bobs")
	bobs.CreatedByID, bobs.CreatedByName = "bob", "name of bob"
	createChannels(t, s, bobs)
	for _, c := range []chat{f, g} {
		createMemberships(t, s, c.member("general", c.bob, "DEFAULT"), c.member("general", c.robot, "DEFAULT"), c.member("general", c.carol, "DEFAULT"))
		createGrants(t, s, store.Moderator, c.grant("general", c.bob), c.grant("general", c.robot))
		createGrants(t, s, store.Ban, c.grant("general", c.carol))
		m := c.message("general", c.app.ID+"-to-carol", c.bob, epoch)
		m.Target = &c.carol
		createMessages(t, s, c.message("general", c.app.ID+"-from-bob", c.bob, epoch), c.message("general", c.app.ID+"-from-bot", c.robot, epoch), m)
	}
	createMemberships(t, s, f.member("bobs", f.bob, "HIDDEN"))
	createGrants(t, s, store.Ban, f.grant("bobs", f.robot))

	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteAppInstanceUser(ctx(t), "a1", "bob"); err != nil {
			return err
		}
		return tx.DeleteAppInstanceBot(ctx(t), "a1", f.robot.ID)
	})

	view(t, s, func(tx store.ReadTx) error {
		for _, m := range []store.Actor{f.bob, f.robot} {
			for _, ch := range []string{"general", "bobs"} {
				_, err := tx.GetChannelMembership(ctx(t), "a1", ch, m)
				wantErr(t, m.ID+"'s membership of "+ch, err, store.ErrNotFound)
				for _, k := range []store.GrantKind{store.Moderator, store.Ban} {
					_, err := tx.GetChannelGrant(ctx(t), k, "a1", ch, m)
					wantErr(t, fmt.Sprintf("%s's %s grant in %s", m.ID, k, ch), err, store.ErrNotFound)
				}
			}
			if n, err := tx.CountMembershipsOf(ctx(t), "a1", m); n != 0 || err != nil {
				t.Errorf("CountMembershipsOf(%s) = %d, %v; want 0", m.ID, n, err)
			}
			if mcs, err := tx.ListChannelsModeratedBy(ctx(t), "a1", m, store.Page{}); len(mcs) != 0 || err != nil {
				t.Errorf("ListChannelsModeratedBy(%s) = %d, %v; want none", m.ID, len(mcs), err)
			}
		}
		for what, fn := range map[string]func() (int, error){
			"memberships of general": func() (int, error) { return tx.CountChannelMemberships(ctx(t), "a1", "general") },
			"moderators of general":  func() (int, error) { return tx.CountChannelGrants(ctx(t), store.Moderator, "a1", "general") },
			"bans of general":        func() (int, error) { return tx.CountChannelGrants(ctx(t), store.Ban, "a1", "general") },
			"bans of bobs":           func() (int, error) { return tx.CountChannelGrants(ctx(t), store.Ban, "a1", "bobs") },
		} {
			want := map[string]int{"memberships of general": 1, "bans of general": 1}[what]
			if n, err := fn(); n != want || err != nil {
				t.Errorf("%s = %d, %v; want %d", what, n, err, want)
			}
		}
		// Messages outlive their sender, channels their creator.
		for _, id := range []string{"a1-from-bob", "a1-from-bot", "a1-to-carol"} {
			m, err := tx.GetChannelMessage(ctx(t), "a1", "general", id)
			if err != nil || m.SenderName == "" {
				t.Errorf("message %s after its sender was deleted: %+v, %v", id, m, err)
			}
		}
		if got, err := tx.ListChannelMessages(ctx(t), "a1", "general", store.MessageQuery{Viewer: f.carol}); len(got) != 3 || err != nil {
			t.Errorf("carol's view of general = %d messages, %v; want 3", len(got), err)
		}
		c, err := tx.GetChannel(ctx(t), "a1", "bobs")
		if err != nil || c.CreatedByID != "bob" || c.CreatedByName != "name of bob" {
			t.Errorf("channel created by bob: %+v, %v", c, err)
		}
		// a2's bob and bot keep everything.
		for _, m := range []store.Actor{g.bob, g.robot} {
			if _, err := tx.GetChannelMembership(ctx(t), "a2", "general", m); err != nil {
				t.Errorf("a2's %s membership: %v", m.ID, err)
			}
			if _, err := tx.GetChannelGrant(ctx(t), store.Moderator, "a2", "general", m); err != nil {
				t.Errorf("a2's %s moderator: %v", m.ID, err)
			}
		}
		return nil
	})
}
