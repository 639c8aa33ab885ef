package storetest

import (
	"testing"

	"github.com/belfryhq/belfry/store"
)

// oddStrings are strings an API client may send that an engine could
// mangle: NUL (which PostgreSQL's text cannot hold), U+FFFF (a
// noncharacter, and the PostgreSQL store's escape) next to the characters
// its escape uses, and both at the ends.
var oddStrings = []string{
	"a\x00b",
	"\x00",
	"\x00\x00\uFFFF\x00",
	"\uFFFF",
	"\uFFFF0",
	"\uFFFF1\x00",
	"x\uFFFF\uFFFF0y",
}

// testOddStrings stores the odd strings in a channel's name and metadata
// and a message's content and metadata, and reads back exactly what was
// stored, through a get and a list.
func testOddStrings(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	for i, str := range oddStrings {
		ch := f.channel("odd" + string(rune('a'+i)))
		ch.Name, ch.Metadata = str, str+"meta"
		ch = createChannels(t, s, ch)[0]
		got := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a1", ch.ChannelID) })
		checkEqual(t, "GetChannel of a name "+quote(str), got, ch)

		m := f.message("general", "odd"+string(rune('a'+i)), f.alice, epoch)
		m.Content, m.Metadata = str, "meta"+str
		m = createMessages(t, s, m)[0]
		gotm := read(t, s, func(tx store.ReadTx) (store.ChannelMessage, error) {
			return tx.GetChannelMessage(ctx(t), "a1", "general", m.MessageID)
		})
		checkEqual(t, "GetChannelMessage of content "+quote(str), gotm, m)
	}
	all := read(t, s, func(tx store.ReadTx) ([]store.ChannelMessage, error) {
		return tx.ListChannelMessages(ctx(t), "a1", "general", store.MessageQuery{Limit: 100})
	})
	if len(all) != len(oddStrings) {
		t.Fatalf("ListChannelMessages: %d messages, want %d", len(all), len(oddStrings))
	}
	contents := map[string]bool{}
	for _, m := range all {
		contents[m.Content] = true
	}
	for _, str := range oddStrings {
		if !contents[str] {
			t.Errorf("ListChannelMessages: no message with content %s", quote(str))
		}
	}
}

func quote(s string) string { return asJSON(s) }
