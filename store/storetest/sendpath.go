package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// testMessageOnce: CreateChannelMessageOnce stores a message unless its
// sender's token is taken in the channel, by a message or by a live
// idempotency record of the scope; GetChannelMessageByToken finds the
// holder; ClearChannelMessageToken frees the token.
func testMessageOnce(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChannels(t, s, f.channel("other"))
	const scope = "SendChannelMessage\x00general\x00alice"
	once := func(m store.ChannelMessage, since time.Time) (store.ChannelMessage, bool) {
		t.Helper()
		var out store.ChannelMessage
		var ok bool
		update(t, s, func(tx store.Tx) error {
			var err error
			out, ok, err = tx.CreateChannelMessageOnce(ctx(t), m, scope, since)
			return err
		})
		return out, ok
	}
	byToken := func(channel string, sender store.Actor, token string) (store.ChannelMessage, error) {
		var m store.ChannelMessage
		err := s.View(ctx(t), func(tx store.ReadTx) error {
			var err error
			m, err = tx.GetChannelMessageByToken(ctx(t), "a1", channel, sender, token)
			return err
		})
		return m, err
	}
	m1 := f.message("general", "m1", f.alice, epoch)
	m1.ClientToken, m1.RequestFingerprint = "t1", "fp1"
	got, ok := once(m1, epoch)
	if !ok || got.Seq == 0 {
		t.Fatalf("first CreateChannelMessageOnce: stored %v, seq %d", ok, got.Seq)
	}
	m1.Seq = got.Seq
	m2 := f.message("general", "m2", f.alice, epoch)
	m2.ClientToken, m2.RequestFingerprint = "t1", "fp2"
	if _, ok := once(m2, epoch); ok {
		t.Fatal("a second message with the sender's token was stored")
	}
	held, err := byToken("general", f.alice, "t1")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "GetChannelMessageByToken", held, m1)
	checkEqual(t, "GetChannelMessage of a message with a token", read(t, s, func(tx store.ReadTx) (store.ChannelMessage, error) {
		return tx.GetChannelMessage(ctx(t), "a1", "general", "m1")
	}), m1)
	for _, other := range []struct {
		channel string
		sender  store.Actor
	}{{"general", f.bob}, {"other", f.alice}} {
		m := f.message(other.channel, "m-"+other.channel+"-"+other.sender.ID, other.sender, epoch)
		m.ClientToken = "t1"
		if _, ok := once(m, epoch); !ok {
			t.Errorf("token t1 of %s in %s: not stored; tokens are per sender and channel", other.sender.ID, other.channel)
		}
	}
	if _, err := byToken("general", f.carol, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetChannelMessageByToken of a sender without it: %v, want ErrNotFound", err)
	}

	// A live idempotency record of the scope holds the token too.
	update(t, s, func(tx store.Tx) error {
		return tx.PutIdempotencyRecord(ctx(t), store.IdempotencyRecord{Scope: scope, Token: "t2", Fingerprint: "np", Result: "np-1",
			CreatedAt: epoch.Add(time.Hour), AppInstanceID: "a1", ChannelID: "general"})
	})
	m3 := f.message("general", "m3", f.alice, epoch)
	m3.ClientToken = "t2"
	if _, ok := once(m3, epoch); ok {
		t.Error("stored a message whose token a live idempotency record holds")
	}
	if _, ok := once(m3, epoch.Add(2*time.Hour)); !ok {
		t.Error("an idempotency record older than since still held the token")
	}

	update(t, s, func(tx store.Tx) error { return tx.ClearChannelMessageToken(ctx(t), "a1", "general", "m1") })
	if _, err := byToken("general", f.alice, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token after ClearChannelMessageToken: %v, want ErrNotFound", err)
	}
	if _, ok := once(m2, epoch); !ok {
		t.Error("a cleared token could not be claimed again")
	}
	err = s.Update(ctx(t), func(tx store.Tx) error { return tx.ClearChannelMessageToken(ctx(t), "a1", "general", "nope") })
	wantErr(t, "ClearChannelMessageToken of an unknown message", err, store.ErrNotFound)

	// Racing claims: exactly one wins.
	const n = 8
	won := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := f.message("general", "race-"+string(rune('a'+i)), f.alice, epoch)
			m.ClientToken = "race"
			err := s.Update(ctx(t), func(tx store.Tx) error {
				var err error
				_, won[i], err = tx.CreateChannelMessageOnce(ctx(t), m, scope, epoch)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wins := 0
	for _, w := range won {
		if w {
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d racing claims of one token stored a message, want 1", wins, n)
	}
}

// testGeneration: TouchChannel returns the channel's Generation, which
// grows with every change that can withdraw a send's authorization or
// alter what it stores, and only with those.
func testGeneration(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createMemberships(t, s, f.member("general", f.alice, chime.ChannelMembershipTypeDefault))
	touch := func() store.Generation {
		t.Helper()
		var g store.Generation
		update(t, s, func(tx store.Tx) error {
			var err error
			g, err = tx.TouchChannel(ctx(t), "a1", "general", epoch.Add(time.Minute), nil)
			return err
		})
		return g
	}
	prev := touch()
	cases := []struct {
		name         string
		change       func(tx store.Tx) error
		channel, app bool // which generation must grow
		newChannel   bool
	}{
		{name: "touch", change: func(tx store.Tx) error {
			_, err := tx.TouchChannel(ctx(t), "a1", "general", epoch.Add(time.Hour), nil)
			return err
		}},
		{name: "membership created", change: func(tx store.Tx) error {
			_, err := tx.CreateChannelMembership(ctx(t), f.member("general", f.bob, chime.ChannelMembershipTypeDefault))
			return err
		}},
		{name: "read marker moved", change: func(tx store.Tx) error {
			m := f.member("general", f.bob, chime.ChannelMembershipTypeDefault)
			m.ReadMarkerAt = epoch.Add(time.Hour)
			return tx.UpdateChannelMembership(ctx(t), m)
		}},
		{name: "membership deleted", channel: true, change: func(tx store.Tx) error {
			return tx.DeleteChannelMembership(ctx(t), "a1", "general", f.bob)
		}},
		{name: "ban", channel: true, change: func(tx store.Tx) error {
			_, err := tx.CreateChannelGrant(ctx(t), store.Ban, f.grant("general", f.carol))
			return err
		}},
		{name: "ban lifted", channel: true, change: func(tx store.Tx) error {
			return tx.DeleteChannelGrant(ctx(t), store.Ban, "a1", "general", f.carol)
		}},
		{name: "channel updated", channel: true, change: func(tx store.Tx) error {
			ch, err := tx.GetChannel(ctx(t), "a1", "general")
			if err != nil {
				return err
			}
			ch.Mode = "RESTRICTED"
			return tx.UpdateChannel(ctx(t), ch)
		}},
		{name: "admin added", app: true, change: func(tx store.Tx) error {
			_, err := tx.CreateAppInstanceAdmin(ctx(t), store.AppInstanceAdmin{AppInstanceID: "a1", Kind: store.MemberUser, MemberID: "carol", CreatedAt: epoch})
			return err
		}},
		{name: "admin removed", app: true, change: func(tx store.Tx) error {
			return tx.DeleteAppInstanceAdmin(ctx(t), "a1", store.MemberUser, "carol")
		}},
		{name: "user renamed", app: true, change: func(tx store.Tx) error {
			return tx.UpdateAppInstanceUser(ctx(t), store.AppInstanceUser{AppInstanceID: "a1", UserID: "carol", Name: "Caroline", CreatedAt: epoch, UpdatedAt: epoch})
		}},
		{name: "user deleted", app: true, change: func(tx store.Tx) error {
			return tx.DeleteAppInstanceUser(ctx(t), "a1", "carol")
		}},
		{name: "streaming configured", app: true, change: func(tx store.Tx) error {
			return tx.PutStreamingConfigurations(ctx(t), "a1", []store.StreamingConfiguration{{AppInstanceID: "a1",
				DataType: chime.MessagingDataTypeChannelmessage, ResourceArn: "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-x", CreatedAt: epoch}})
		}},
		{name: "channel created again", newChannel: true, change: func(tx store.Tx) error {
			if err := tx.DeleteChannel(ctx(t), "a1", "general"); err != nil {
				return err
			}
			_, err := tx.CreateChannel(ctx(t), f.channel("general"))
			return err
		}},
	}
	for _, tc := range cases {
		update(t, s, tc.change)
		g := touch()
		grew := func(what string, before, after int64, want bool) {
			if (after > before) != want || after < before {
				t.Errorf("%s: %s generation %d -> %d, want growth %v", tc.name, what, before, after, want)
			}
		}
		if tc.newChannel {
			if g.ChannelSeq == prev.ChannelSeq {
				t.Errorf("%s: a channel created again has the old one's Generation %+v", tc.name, g)
			}
		} else {
			if g.ChannelSeq != prev.ChannelSeq {
				t.Errorf("%s: ChannelSeq %d -> %d", tc.name, prev.ChannelSeq, g.ChannelSeq)
			}
			grew("channel", prev.Channel, g.Channel, tc.channel)
		}
		grew("app instance", prev.AppInstance, g.AppInstance, tc.app)
		prev = g
	}
	// A change rolled back leaves the generations as they were.
	err := s.Update(ctx(t), func(tx store.Tx) error {
		if err := tx.DeleteChannelMembership(ctx(t), "a1", "general", f.alice); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the Update did not fail")
	}
	if g := touch(); g != prev {
		t.Errorf("after a rolled-back change: %+v, want %+v", g, prev)
	}
}
