package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// testChannelTouch: TouchChannel changes LastMessageAt, and the expiry
// instant when given, and nothing else; an unknown channel is ErrNotFound.
func testChannelTouch(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	ch := f.channel("touched")
	ch.Metadata = "meta"
	ch.Expiration = &store.ChannelExpiration{Criterion: "LAST_MESSAGE_TIMESTAMP", Days: 7, At: epoch.Add(7 * 24 * time.Hour)}
	ch = createChannels(t, s, ch)[0]

	want := ch
	want.LastMessageAt = epoch.Add(time.Hour)
	update(t, s, func(tx store.Tx) error {
		_, err := tx.TouchChannel(ctx(t), "a1", "touched", want.LastMessageAt, nil)
		return err
	})
	got := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "touched") })
	checkEqual(t, "after TouchChannel", got, want)

	at := want.LastMessageAt.Add(7 * 24 * time.Hour)
	want.LastMessageAt, want.Expiration.At = epoch.Add(2*time.Hour), at
	update(t, s, func(tx store.Tx) error {
		_, err := tx.TouchChannel(ctx(t), "a1", "touched", want.LastMessageAt, &at)
		return err
	})
	got = read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "touched") })
	checkEqual(t, "after TouchChannel with expiry", got, want)

	err := s.Update(ctx(t), func(tx store.Tx) error {
		_, err := tx.TouchChannel(ctx(t), "a1", "nope", epoch, nil)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchChannel of an unknown channel: %v, want ErrNotFound", err)
	}
}

// testChannelTouchAt: TouchChannelAt touches the channel only at the
// Generation given, and otherwise (any of the three parts differs, or
// the channel does not exist) changes nothing and returns false.
func testChannelTouchAt(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	ch := f.channel("touched")
	ch.Expiration = &store.ChannelExpiration{Criterion: "LAST_MESSAGE_TIMESTAMP", Days: 7, At: epoch.Add(7 * 24 * time.Hour)}
	ch = createChannels(t, s, ch)[0]
	var gen store.Generation
	update(t, s, func(tx store.Tx) error {
		var err error
		gen, err = tx.TouchChannel(ctx(t), "a1", "touched", epoch, nil)
		return err
	})
	want := ch
	want.LastMessageAt = epoch
	touchAt := func(channel string, at time.Time, exp *time.Time, g store.Generation) bool {
		t.Helper()
		var ok bool
		update(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.TouchChannelAt(ctx(t), "a1", channel, at, exp, g)
			return err
		})
		return ok
	}
	for _, tc := range []struct {
		name string
		g    store.Generation
	}{
		{"another channel's seq", store.Generation{ChannelSeq: gen.ChannelSeq + 1, Channel: gen.Channel, AppInstance: gen.AppInstance}},
		{"an older channel generation", store.Generation{ChannelSeq: gen.ChannelSeq, Channel: gen.Channel - 1, AppInstance: gen.AppInstance}},
		{"an older app instance generation", store.Generation{ChannelSeq: gen.ChannelSeq, Channel: gen.Channel, AppInstance: gen.AppInstance - 1}},
	} {
		if touchAt("touched", epoch.Add(time.Hour), nil, tc.g) {
			t.Errorf("TouchChannelAt with %s touched the channel", tc.name)
		}
	}
	if touchAt("nope", epoch.Add(time.Hour), nil, gen) {
		t.Error("TouchChannelAt of an unknown channel returned true")
	}
	got := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "touched") })
	checkEqual(t, "after refused TouchChannelAt", got, want)

	want.LastMessageAt = epoch.Add(time.Hour)
	if !touchAt("touched", want.LastMessageAt, nil, gen) {
		t.Error("TouchChannelAt at the channel's Generation did not touch it")
	}
	at := epoch.Add(2 * time.Hour)
	want.LastMessageAt, want.Expiration.At = epoch.Add(time.Hour), at.Add(7*24*time.Hour)
	exp := want.Expiration.At
	if !touchAt("touched", want.LastMessageAt, &exp, gen) {
		t.Error("TouchChannelAt with an expiry at the channel's Generation did not touch it")
	}
	got = read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", "touched") })
	checkEqual(t, "after TouchChannelAt", got, want)
}
