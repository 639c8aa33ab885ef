package storetest

import (
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

func (f chat) subChannel(channelID, id string) store.SubChannel {
	return store.SubChannel{AppInstanceID: f.app.ID, ChannelID: channelID, SubChannelID: id, CreatedAt: epoch}
}

func subChannelSeq(sc store.SubChannel) int64 { return sc.Seq }

// subChannelCounts maps each sub-channel of the channel to its
// MembershipCount.
func subChannelCounts(t *testing.T, s store.Store, app, channelID string) map[string]int {
	t.Helper()
	scs := read(t, s, func(tx store.ReadTx) ([]store.SubChannel, error) {
		return tx.ListSubChannels(ctx(t), app, channelID, store.Page{})
	})
	out := map[string]int{}
	for _, sc := range scs {
		out[sc.SubChannelID] = sc.MembershipCount
	}
	return out
}

func testSubChannelCreateGetList(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	var created []store.SubChannel
	update(t, s, func(tx store.Tx) error {
		for _, id := range []string{"s1", "s2", "s3"} {
			sc, err := tx.CreateSubChannel(ctx(t), f.subChannel("general", id))
			if err != nil {
				return err
			}
			created = append(created, sc)
		}
		return nil
	})
	for i, sc := range created {
		if sc.Seq == 0 || i > 0 && sc.Seq <= created[i-1].Seq {
			t.Errorf("Seq of %s = %d, want increasing from > 0", sc.SubChannelID, sc.Seq)
		}
		want := f.subChannel("general", sc.SubChannelID)
		want.Seq = sc.Seq
		checkEqual(t, "CreateSubChannel", sc, want)
		got := read(t, s, func(tx store.ReadTx) (store.SubChannel, error) {
			return tx.GetSubChannel(ctx(t), "a1", "general", sc.SubChannelID)
		})
		checkEqual(t, "GetSubChannel", got, want)
	}
	pages := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.SubChannel, error) {
		return tx.ListSubChannels(ctx(t), "a1", "general", p)
	}, subChannelSeq, nil)
	checkEqual(t, "ListSubChannels", pages, created)

	// Errors: a duplicate id, a missing channel, missing sub-channels.
	err := s.Update(ctx(t), func(tx store.Tx) error {
		_, err := tx.CreateSubChannel(ctx(t), f.subChannel("general", "s1"))
		return err
	})
	wantErr(t, "CreateSubChannel duplicate", err, store.ErrConflict)
	err = s.Update(ctx(t), func(tx store.Tx) error {
		_, err := tx.CreateSubChannel(ctx(t), f.subChannel("nope", "s1"))
		return err
	})
	wantErr(t, "CreateSubChannel of a missing channel", err, store.ErrNotFound)
	err = s.View(ctx(t), func(tx store.ReadTx) error {
		_, err := tx.GetSubChannel(ctx(t), "a1", "general", "s9")
		return err
	})
	wantErr(t, "GetSubChannel missing", err, store.ErrNotFound)
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteSubChannel(ctx(t), "a1", "general", "s9") })
	wantErr(t, "DeleteSubChannel missing", err, store.ErrNotFound)
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteSubChannelMembership(ctx(t), "a1", "general", "s1", f.bob) })
	wantErr(t, "DeleteSubChannelMembership missing", err, store.ErrNotFound)
}

// The counts follow every membership write: create, move (update of
// SubChannelID), delete of one, delete of all of a member's, deletion of
// the member itself.
func testSubChannelCounts(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	update(t, s, func(tx store.Tx) error {
		for _, id := range []string{"s1", "s2"} {
			if _, err := tx.CreateSubChannel(ctx(t), f.subChannel("general", id)); err != nil {
				return err
			}
		}
		return nil
	})
	in := func(m store.ChannelMembership, sub string) store.ChannelMembership { m.SubChannelID = sub; return m }
	bob := in(f.member("general", f.bob, "DEFAULT"), "s1")
	carol := in(f.member("general", f.carol, "DEFAULT"), "s1")
	robot := in(f.member("general", f.robot, "DEFAULT"), "s2")
	// alice, a moderator, holds a membership in each sub-channel.
	alice1 := in(f.member("general", f.alice, "DEFAULT"), "s1")
	alice2 := in(f.member("general", f.alice, "DEFAULT"), "s2")
	created := createMemberships(t, s, bob, carol, robot, alice1, alice2)
	checkEqual(t, "counts after create", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 3, "s2": 2})
	if created[4].SubChannelID != "s2" || created[4].Seq == created[3].Seq {
		t.Errorf("second membership of alice = %+v, want the s2 one", created[4])
	}

	// A second membership of the same member in the same sub-channel
	// conflicts.
	err := s.Update(ctx(t), func(tx store.Tx) error {
		_, err := tx.CreateChannelMembership(ctx(t), alice2)
		return err
	})
	wantErr(t, "second membership in one sub-channel", err, store.ErrConflict)

	got := read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetSubChannelMembership(ctx(t), "a1", "general", "s2", f.alice)
	})
	checkEqual(t, "GetSubChannelMembership", got, created[4])
	got = read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetChannelMembership(ctx(t), "a1", "general", f.alice)
	})
	checkEqual(t, "GetChannelMembership returns the oldest", got, created[3])
	mine := read(t, s, func(tx store.ReadTx) ([]store.ChannelMembership, error) {
		return tx.ListMemberSubChannelMemberships(ctx(t), "a1", "general", f.alice)
	})
	checkEqual(t, "ListMemberSubChannelMemberships", mine, created[3:])
	s1 := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.ChannelMembership, error) {
		return tx.ListSubChannelMemberships(ctx(t), "a1", "general", "s1", p)
	}, membershipSeq, nil)
	checkEqual(t, "ListSubChannelMemberships s1", memberIDs(s1), []string{"bob", "carol", f.alice.ID})

	// Move carol to s2.
	moved := created[1]
	moved.SubChannelID, moved.UpdatedAt = "s2", epoch.Add(time.Minute)
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannelMembership(ctx(t), moved) })
	checkEqual(t, "counts after move", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 2, "s2": 3})

	// MoveSubChannelMembership moves one of alice's memberships, not the
	// other; into a sub-channel where she has one already, it conflicts.
	err = s.Update(ctx(t), func(tx store.Tx) error {
		return tx.MoveSubChannelMembership(ctx(t), "a1", "general", "s1", "s2", f.alice, epoch.Add(time.Hour))
	})
	wantErr(t, "move into a sub-channel she is in", err, store.ErrConflict)
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.CreateSubChannel(ctx(t), f.subChannel("general", "s3")); err != nil {
			return err
		}
		return tx.MoveSubChannelMembership(ctx(t), "a1", "general", "s1", "s3", f.alice, epoch.Add(time.Hour))
	})
	checkEqual(t, "counts after alice's move", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 1, "s2": 3, "s3": 1})
	got = read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetSubChannelMembership(ctx(t), "a1", "general", "s3", f.alice)
	})
	if got.Seq != created[3].Seq || !got.UpdatedAt.Equal(epoch.Add(time.Hour)) {
		t.Errorf("moved membership = %+v, want the s1 one (Seq %d) updated at %v", got, created[3].Seq, epoch.Add(time.Hour))
	}
	read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetSubChannelMembership(ctx(t), "a1", "general", "s2", f.alice)
	})
	err = s.Update(ctx(t), func(tx store.Tx) error {
		return tx.MoveSubChannelMembership(ctx(t), "a1", "general", "s1", "s3", f.alice, epoch)
	})
	wantErr(t, "move a membership that is not there", err, store.ErrNotFound)
	update(t, s, func(tx store.Tx) error {
		return tx.MoveSubChannelMembership(ctx(t), "a1", "general", "s3", "s1", f.alice, epoch.Add(time.Hour))
	})

	update(t, s, func(tx store.Tx) error { return tx.DeleteSubChannelMembership(ctx(t), "a1", "general", "s1", f.alice) })
	checkEqual(t, "counts after one of alice's leaves", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 1, "s2": 3, "s3": 0})
	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelMembership(ctx(t), "a1", "general", f.bob) })
	checkEqual(t, "counts after bob leaves", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 0, "s2": 3, "s3": 0})
	update(t, s, func(tx store.Tx) error { return tx.DeleteAppInstanceUser(ctx(t), "a1", "carol") })
	checkEqual(t, "counts after carol is deleted", subChannelCounts(t, s, "a1", "general"), map[string]int{"s1": 0, "s2": 2, "s3": 0})
}

// DeleteSubChannel takes the sub-channel's messages and remaining
// memberships with it, and nothing of the other sub-channels.
func testSubChannelDelete(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	update(t, s, func(tx store.Tx) error {
		for _, id := range []string{"s1", "s2"} {
			if _, err := tx.CreateSubChannel(ctx(t), f.subChannel("general", id)); err != nil {
				return err
			}
		}
		return nil
	})
	bob, carol := f.member("general", f.bob, "DEFAULT"), f.member("general", f.carol, "DEFAULT")
	bob.SubChannelID, carol.SubChannelID = "s1", "s2"
	createMemberships(t, s, bob, carol)
	m1, m2 := f.message("general", "m1", f.bob, epoch), f.message("general", "m2", f.carol, epoch)
	m1.SubChannelID, m2.SubChannelID = "s1", "s2"
	createMessages(t, s, m1, m2)

	update(t, s, func(tx store.Tx) error { return tx.DeleteSubChannel(ctx(t), "a1", "general", "s1") })
	checkEqual(t, "sub-channels after delete", subChannelCounts(t, s, "a1", "general"), map[string]int{"s2": 1})
	err := s.View(ctx(t), func(tx store.ReadTx) error {
		_, err := tx.GetChannelMessage(ctx(t), "a1", "general", "m1")
		return err
	})
	wantErr(t, "message of the deleted sub-channel", err, store.ErrNotFound)
	err = s.View(ctx(t), func(tx store.ReadTx) error {
		_, err := tx.GetChannelMembership(ctx(t), "a1", "general", f.bob)
		return err
	})
	wantErr(t, "membership of the deleted sub-channel", err, store.ErrNotFound)
	read(t, s, func(tx store.ReadTx) (store.ChannelMessage, error) {
		return tx.GetChannelMessage(ctx(t), "a1", "general", "m2")
	})
	read(t, s, func(tx store.ReadTx) (store.ChannelMembership, error) {
		return tx.GetChannelMembership(ctx(t), "a1", "general", f.carol)
	})

	// Deleting the channel deletes its sub-channels.
	update(t, s, func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "general") })
	checkEqual(t, "sub-channels after channel delete", subChannelCounts(t, s, "a1", "general"), map[string]int{})
}
