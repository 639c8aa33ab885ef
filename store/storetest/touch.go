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
