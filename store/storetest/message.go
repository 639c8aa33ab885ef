package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

func messageIDs(ms []store.ChannelMessage) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.MessageID)
	}
	return ids
}

// listMessages returns the ids of the messages q selects in general.
func listMessages(t *testing.T, s store.Store, app string, q store.MessageQuery) []string {
	t.Helper()
	return messageIDs(read(t, s, func(tx store.ReadTx) ([]store.ChannelMessage, error) {
		return tx.ListChannelMessages(ctx(t), app, "general", q)
	}))
}

// messagePages reads q's messages of general limit at a time, each page
// after the last message of the previous one, calling between (if not nil)
// after each page.
func messagePages(t *testing.T, s store.Store, q store.MessageQuery, limit int, between func()) []string {
	t.Helper()
	ids := []string{}
	q.Limit = limit
	for range 1000 {
		page := read(t, s, func(tx store.ReadTx) ([]store.ChannelMessage, error) {
			return tx.ListChannelMessages(ctx(t), "a1", "general", q)
		})
		if len(page) > limit {
			t.Fatalf("page of %d messages, limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return ids
		}
		ids = append(ids, messageIDs(page)...)
		last := page[len(page)-1]
		q.After = &store.MessageCursor{CreatedAt: last.CreatedAt, Seq: last.Seq}
		if between != nil {
			between()
		}
	}
	t.Fatal("pages never end")
	return nil
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func testMessageCreateGet(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	plain := f.message("general", "plain", f.alice, epoch)
	full := f.message("general", "full", f.robot, epoch.Add(time.Second))
	full.Metadata, full.Type, full.Redacted = "meta", "CONTROL", true
	full.Status, full.StatusDetail = "PENDING", "waiting for the flow"
	full.Attributes, full.PushNotification = `{"k":{"StringValues":["v"]}}`, `{"Title":"t"}`
	full.Target, full.SubChannelID = &f.bob, "sub-1"
	full.UpdatedAt, full.EditedAt = epoch.Add(2*time.Second), epoch.Add(3*time.Second)
	created := createMessages(t, s, plain, full)
	if created[0].Seq == 0 || created[1].Seq <= created[0].Seq {
		t.Errorf("Seq = %d then %d, want increasing from > 0", created[0].Seq, created[1].Seq)
	}
	for _, want := range created {
		got := read(t, s, func(tx store.ReadTx) (store.ChannelMessage, error) {
			return tx.GetChannelMessage(ctx(t), "a1", "general", want.MessageID)
		})
		checkEqual(t, "GetChannelMessage "+want.MessageID, got, want)
	}

	// UpdateChannelMessage sets the listed fields and nothing else.
	want := created[1]
	want.Content, want.Metadata, want.ContentType, want.Redacted = "edited", "m2", "application/json", false
	want.Status, want.StatusDetail, want.Attributes, want.PushNotification = "SENT", "", "", ""
	want.UpdatedAt, want.EditedAt = epoch.Add(time.Hour), time.Time{}
	in := want
	in.Type, in.Sender, in.SenderName, in.Target, in.SubChannelID, in.CreatedAt = "STANDARD", f.carol, "Carol", nil, "", epoch.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannelMessage(ctx(t), in) })
	got := read(t, s, func(tx store.ReadTx) (store.ChannelMessage, error) {
		return tx.GetChannelMessage(ctx(t), "a1", "general", "full")
	})
	checkEqual(t, "after UpdateChannelMessage", got, want)

	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelMessage(ctx(t), "a1", "general", "plain") })
	if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.robot}); !slices.Equal(got, []string{"full"}) {
		t.Errorf("after deleting plain: %v, want [full]", got)
	}
}

func testMessageErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createChannels(t, s, f.channel("other"))
	createMessages(t, s, f.message("general", "m1", f.alice, epoch))
	create := func(m store.ChannelMessage) func(tx store.Tx) error {
		return func(tx store.Tx) error { _, err := tx.CreateChannelMessage(ctx(t), m); return err }
	}
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate id", create(f.message("general", "m1", f.bob, epoch)), store.ErrConflict},
		{"duplicate id in another channel", create(f.message("other", "m1", f.bob, epoch)), store.ErrConflict},
		{"duplicate id in another app instance", create(g.message("general", "m1", g.bob, epoch)), store.ErrConflict},
		{"missing channel", create(f.message("missing", "m2", f.alice, epoch)), store.ErrNotFound},
		{"missing app instance", create(store.ChannelMessage{AppInstanceID: "nope", ChannelID: "general", MessageID: "m3",
			Type: "STANDARD", Status: "SENT", Sender: f.alice, CreatedAt: epoch, UpdatedAt: epoch}), store.ErrNotFound},
		{"get missing", func(tx store.Tx) error { _, err := tx.GetChannelMessage(ctx(t), "a1", "general", "m9"); return err }, store.ErrNotFound},
		{"get from another channel", func(tx store.Tx) error { _, err := tx.GetChannelMessage(ctx(t), "a1", "other", "m1"); return err }, store.ErrNotFound},
		{"get from another app instance", func(tx store.Tx) error { _, err := tx.GetChannelMessage(ctx(t), "a2", "general", "m1"); return err }, store.ErrNotFound},
		{"update missing", func(tx store.Tx) error {
			return tx.UpdateChannelMessage(ctx(t), f.message("general", "m9", f.alice, epoch))
		}, store.ErrNotFound},
		{"update in another channel", func(tx store.Tx) error {
			return tx.UpdateChannelMessage(ctx(t), f.message("other", "m1", f.alice, epoch))
		}, store.ErrNotFound},
		{"delete missing", func(tx store.Tx) error { return tx.DeleteChannelMessage(ctx(t), "a1", "general", "m9") }, store.ErrNotFound},
		{"delete from another channel", func(tx store.Tx) error { return tx.DeleteChannelMessage(ctx(t), "a1", "other", "m1") }, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
	if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.alice}); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("after the failed writes: %v, want [m1]", got)
	}
}

// testMessageOrder lists messages by (CreatedAt, Seq), in both directions
// and in pages, while messages arrive between pages.
func testMessageOrder(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	t0, t1, t2, t3 := epoch, epoch.Add(time.Minute), epoch.Add(2*time.Minute), epoch.Add(3*time.Minute)
	createMessages(t, s,
		f.message("general", "m1", f.alice, t0),
		f.message("general", "m2", f.bob, t1),
		f.message("general", "m3", f.alice, t1),
		f.message("general", "m4", f.robot, t1),
		f.message("general", "m5", f.bob, t2),
		f.message("general", "m6", f.alice, t0), // stored later, created earlier
	)
	asc := []string{"m1", "m6", "m2", "m3", "m4", "m5"}
	if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.alice}); !slices.Equal(got, asc) {
		t.Errorf("ascending = %v, want %v", got, asc)
	}
	if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.alice, Descending: true}); !slices.Equal(got, reversed(asc)) {
		t.Errorf("descending = %v, want %v", got, reversed(asc))
	}
	if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.alice, Limit: 3}); !slices.Equal(got, asc[:3]) {
		t.Errorf("first 3 = %v, want %v", got, asc[:3])
	}
	for _, limit := range []int{1, 2, 4} {
		if got := messagePages(t, s, store.MessageQuery{Viewer: f.alice}, limit, nil); !slices.Equal(got, asc) {
			t.Errorf("ascending pages of %d = %v, want %v", limit, got, asc)
		}
		if got := messagePages(t, s, store.MessageQuery{Viewer: f.alice, Descending: true}, limit, nil); !slices.Equal(got, reversed(asc)) {
			t.Errorf("descending pages of %d = %v, want %v", limit, got, reversed(asc))
		}
	}

	// Messages arriving between pages: a new one at t1 sorts after the
	// existing t1 ones (its Seq is higher), so an ascending reader whose
	// cursor is before it sees it; a descending reader past it does not,
	// and neither sees a message twice.
	n := 0
	arrive := func() {
		n++
		if n == 1 {
			createMessages(t, s, f.message("general", "asc-t1", f.bob, t1), f.message("general", "asc-t3", f.bob, t3))
		}
	}
	want := []string{"m1", "m6", "m2", "m3", "m4", "asc-t1", "m5", "asc-t3"}
	if got := messagePages(t, s, store.MessageQuery{Viewer: f.alice}, 2, arrive); !slices.Equal(got, want) {
		t.Errorf("ascending pages with arrivals = %v, want %v", got, want)
	}
	n = 0
	arrive = func() {
		n++
		if n == 1 {
			createMessages(t, s, f.message("general", "desc-t1", f.bob, t1), f.message("general", "desc-t3", f.bob, t3))
		}
	}
	// The first page is asc-t3 and m5. desc-t3 is newer than the cursor,
	// so not seen; desc-t1 is older, and the newest t1 message by Seq.
	want = []string{"asc-t3", "m5", "desc-t1", "asc-t1", "m4", "m3", "m2", "m6", "m1"}
	if got := messagePages(t, s, store.MessageQuery{Viewer: f.alice, Descending: true}, 2, arrive); !slices.Equal(got, want) {
		t.Errorf("descending pages with arrivals = %v, want %v", got, want)
	}
}

// testMessageTimeBounds checks that NotBefore and NotAfter are inclusive
// and combine with the cursor in both directions.
func testMessageTimeBounds(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Minute) }
	createMessages(t, s,
		f.message("general", "t0", f.alice, at(0)),
		f.message("general", "t1", f.alice, at(1)),
		f.message("general", "t2a", f.alice, at(2)),
		f.message("general", "t2b", f.alice, at(2)),
		f.message("general", "t3", f.alice, at(3)),
		f.message("general", "t4", f.alice, at(4)),
	)
	ms := read(t, s, func(tx store.ReadTx) ([]store.ChannelMessage, error) {
		return tx.ListChannelMessages(ctx(t), "a1", "general", store.MessageQuery{Viewer: f.alice})
	})
	cursor := map[string]*store.MessageCursor{}
	for _, m := range ms {
		cursor[m.MessageID] = &store.MessageCursor{CreatedAt: m.CreatedAt, Seq: m.Seq}
	}
	tests := []struct {
		name                string
		notBefore, notAfter time.Time
		want                []string // ascending; descending is its reverse
	}{
		{name: "not before t1", notBefore: at(1), want: []string{"t1", "t2a", "t2b", "t3", "t4"}},
		{name: "not after t2", notAfter: at(2), want: []string{"t0", "t1", "t2a", "t2b"}},
		{name: "exactly t2", notBefore: at(2), notAfter: at(2), want: []string{"t2a", "t2b"}},
		{name: "t1 to t3", notBefore: at(1), notAfter: at(3), want: []string{"t1", "t2a", "t2b", "t3"}},
		{name: "just after t1", notBefore: at(1).Add(time.Millisecond), want: []string{"t2a", "t2b", "t3", "t4"}},
		{name: "just before t2", notAfter: at(2).Add(-time.Millisecond), want: []string{"t0", "t1"}},
		{name: "empty range", notBefore: at(3), notAfter: at(2), want: []string{}},
		{name: "before everything", notAfter: at(-1), want: []string{}},
	}
	for _, tc := range tests {
		q := store.MessageQuery{Viewer: f.alice, NotBefore: tc.notBefore, NotAfter: tc.notAfter}
		if got := listMessages(t, s, "a1", q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if got := messagePages(t, s, q, 1, nil); !slices.Equal(got, tc.want) {
			t.Errorf("%s, pages of 1: %v, want %v", tc.name, got, tc.want)
		}
		q.Descending = true
		if got := messagePages(t, s, q, 2, nil); !slices.Equal(got, reversed(tc.want)) {
			t.Errorf("%s, descending pages of 2: %v, want %v", tc.name, got, reversed(tc.want))
		}
	}

	// A cursor and bounds together: the tighter one wins.
	withCursor := []struct {
		name                string
		descending          bool
		notBefore, notAfter time.Time
		after               string
		want                []string
	}{
		{"after t2a, not after t3", false, time.Time{}, at(3), "t2a", []string{"t2b", "t3"}},
		{"after t0, not before t3", false, at(3), time.Time{}, "t0", []string{"t3", "t4"}},
		{"after t3, not before t3", false, at(3), time.Time{}, "t3", []string{"t4"}},
		{"descending after t2b, not before t1", true, at(1), time.Time{}, "t2b", []string{"t2a", "t1"}},
		{"descending after t4, not after t2", true, time.Time{}, at(2), "t4", []string{"t2b", "t2a", "t1", "t0"}},
		{"descending after t1, not after t3", true, time.Time{}, at(3), "t1", []string{"t0"}},
	}
	for _, tc := range withCursor {
		q := store.MessageQuery{Viewer: f.alice, Descending: tc.descending, NotBefore: tc.notBefore, NotAfter: tc.notAfter, After: cursor[tc.after]}
		if got := listMessages(t, s, "a1", q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// testMessageVisibility: a viewer sees the SENT messages targeted at
// nobody or at it, and every message it sent, whatever its status.
func testMessageVisibility(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	msg := func(id string, sender store.Actor, status chime.ChannelMessageStatus, target *store.Actor) store.ChannelMessage {
		m := f.message("general", id, sender, epoch)
		m.Status, m.Target = status, target
		return m
	}
	// A user whose id is the bot's: kinds must not be confused.
	botAsUser := store.Actor{Kind: store.MemberUser, ID: f.robot.ID}
	aliceAsBot := store.Actor{Kind: store.MemberBot, ID: "alice"}
	createMessages(t, s,
		msg("public", f.alice, "SENT", nil),
		msg("to-bob", f.alice, "SENT", &f.bob),
		msg("to-bot", f.carol, "SENT", &f.robot),
		msg("pending-alice", f.alice, "PENDING", nil),
		msg("pending-bob-to-alice", f.bob, "PENDING", &f.alice),
		msg("denied-carol", f.carol, "DENIED", nil),
		msg("failed-bot", f.robot, "FAILED", nil),
		msg("bot-public", f.robot, "SENT", nil),
		msg("pending-bot-as-user", botAsUser, "PENDING", nil),
		msg("to-alice-as-bot", f.carol, "SENT", &aliceAsBot),
	)
	tests := []struct {
		viewer store.Actor
		want   []string
	}{
		{f.alice, []string{"public", "to-bob", "pending-alice", "bot-public"}},
		{f.bob, []string{"public", "to-bob", "pending-bob-to-alice", "bot-public"}},
		{f.carol, []string{"public", "to-bot", "denied-carol", "bot-public", "to-alice-as-bot"}},
		{f.robot, []string{"public", "to-bot", "failed-bot", "bot-public"}},
		{store.Actor{Kind: store.MemberUser, ID: "stranger"}, []string{"public", "bot-public"}},
	}
	for _, tc := range tests {
		if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: tc.viewer}); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s sees %v, want %v", tc.viewer.Kind, tc.viewer.ID, got, tc.want)
		}
		// Hidden messages must not end pages early or shift them.
		if got := messagePages(t, s, store.MessageQuery{Viewer: tc.viewer, Descending: true}, 1, nil); !slices.Equal(got, reversed(tc.want)) {
			t.Errorf("%s %s sees, descending in pages of 1, %v, want %v", tc.viewer.Kind, tc.viewer.ID, got, reversed(tc.want))
		}
	}
}

func testMessageSubChannel(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	in := func(id, sub string) store.ChannelMessage {
		m := f.message("general", id, f.alice, epoch)
		m.SubChannelID = sub
		return m
	}
	createMessages(t, s, in("s1-a", "s1"), in("s2-a", "s2"), in("none", ""), in("s1-b", "s1"))
	for _, tc := range []struct {
		sub  string
		want []string
	}{
		{"", []string{"s1-a", "s2-a", "none", "s1-b"}},
		{"s1", []string{"s1-a", "s1-b"}},
		{"s2", []string{"s2-a"}},
		{"s3", []string{}},
	} {
		if got := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.bob, SubChannelID: tc.sub}); !slices.Equal(got, tc.want) {
			t.Errorf("sub-channel %q: %v, want %v", tc.sub, got, tc.want)
		}
	}
}

// testMessageRetention deletes an app instance's old messages in batches,
// and lists the app instances whose retention is due.
func testMessageRetention(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createChannels(t, s, f.channel("other"))
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Hour) }
	var ms []store.ChannelMessage
	for i := range 5 {
		ms = append(ms, f.message("general", fmt.Sprint("g", i), f.alice, at(i)))
	}
	ms = append(ms, f.message("other", "o0", f.alice, at(0)), f.message("other", "o1", f.alice, at(1)), g.message("general", "a2-0", g.alice, at(0)))
	createMessages(t, s, ms...)

	// Channel by channel in ChannelID order ("general" < "other"), each
	// call from the last channel of the previous one.
	from := ""
	for i, want := range []struct {
		n    int
		last string
	}{{3, "other"}, {1, "other"}, {0, ""}} {
		var n int
		var last string
		update(t, s, func(tx store.Tx) error {
			var err error
			n, last, err = tx.DeleteChannelMessagesBefore(ctx(t), "a1", from, at(2), 3)
			return err
		})
		if n != want.n || last != want.last {
			t.Errorf("DeleteChannelMessagesBefore from %q, call %d: %d deleted, last %q; want %d, %q", from, i+1, n, last, want.n, want.last)
		}
		from = last
	}
	if got, want := listMessages(t, s, "a1", store.MessageQuery{Viewer: f.alice}), []string{"g2", "g3", "g4"}; !slices.Equal(got, want) {
		t.Errorf("a1's general after retention: %v, want %v (a message at the cutoff stays)", got, want)
	}
	other := read(t, s, func(tx store.ReadTx) ([]store.ChannelMessage, error) {
		return tx.ListChannelMessages(ctx(t), "a1", "other", store.MessageQuery{Viewer: f.alice})
	})
	if len(other) != 0 {
		t.Errorf("a1's other after retention: %v, want none", messageIDs(other))
	}
	if got := listMessages(t, s, "a2", store.MessageQuery{Viewer: g.alice}); !slices.Equal(got, []string{"a2-0"}) {
		t.Errorf("a2's messages after a1's retention: %v, want [a2-0]", got)
	}

	// Due settings: enabled (days set) and InitiateDeletionAt reached.
	createIdentity(t, s, "a3")
	createIdentity(t, s, "a4")
	put := func(app string, days *int32, init *time.Time) {
		update(t, s, func(tx store.Tx) error {
			return tx.PutRetentionSettings(ctx(t), store.RetentionSettings{AppInstanceID: app, ChannelRetentionDays: days, InitiateDeletionAt: init, UpdatedAt: epoch})
		})
	}
	put("a1", ptr(int32(3)), ptr(at(0)))
	put("a2", nil, ptr(at(0))) // disabled, whatever the start
	put("a3", ptr(int32(5)), ptr(at(2)))
	put("a4", ptr(int32(1)), nil) // enabled, but no start: not due
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{at(0).Add(-time.Millisecond), []string{}},
		{at(0), []string{"a1"}},
		{at(2), []string{"a1", "a3"}},
		{at(100), []string{"a1", "a3"}},
	} {
		rs := read(t, s, func(tx store.ReadTx) ([]store.RetentionSettings, error) {
			return tx.ListDueRetentionSettings(ctx(t), tc.now)
		})
		got := []string{}
		for _, r := range rs {
			got = append(got, r.AppInstanceID)
			if r.ChannelRetentionDays == nil || r.InitiateDeletionAt == nil || r.InitiateDeletionAt.After(tc.now) {
				t.Errorf("ListDueRetentionSettings(%v) returned %+v", tc.now, r)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListDueRetentionSettings(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}
