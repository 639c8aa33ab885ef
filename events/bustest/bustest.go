// Package bustest is the conformance suite of events.Bus: the contract
// written on the interface, as tests. Every bus (the in-process one, NATS
// later) runs it from its own tests:
//
//	func TestBus(t *testing.T) { bustest.Run(t, func(t *testing.T) events.Bus { return events.NewMemory() }) }
package bustest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/belfryhq/belfry/events"
)

// Run runs every conformance test against fresh buses from newBus.
func Run(t *testing.T, newBus func(t *testing.T) events.Bus) {
	tests := []struct {
		name string
		f    func(*testing.T, events.Bus)
	}{
		{"OrderAndFanOut", testOrderAndFanOut},
		{"OnlyAfterWatch", testOnlyAfterWatch},
		{"ScopeAudience", testScopeAudience},
		{"ScopeUser", testScopeUser},
		{"ChannelDeletedReachesAll", testChannelDeleted},
		{"Unwatch", testUnwatch},
		{"SlowSubscriberDoesNotBlock", testSlowSubscriber},
		{"Close", testClose},
		{"IDsSurvive", testIDsSurvive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newBus(t)) })
	}
}

const (
	app   = "arn:aws:chime:us-east-1:111122223333:app-instance/app"
	ch1   = app + "/channel/ch1"
	ch2   = app + "/channel/ch2"
	alice = app + "/user/alice"
	bob   = app + "/user/bob"
)

func msg(ch, id string) events.Event {
	return events.Event{Type: "CREATE_CHANNEL_MESSAGE", ChannelArn: ch, Members: true, Payload: []byte(id)}
}

func subscribe(t *testing.T, b events.Bus, topics ...events.Topic) events.Subscription {
	t.Helper()
	s, err := b.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Watch(topics...); err != nil {
		t.Fatal(err)
	}
	return s
}

func publish(t *testing.T, b events.Bus, evs ...events.Event) {
	t.Helper()
	if err := b.Publish(t.Context(), evs...); err != nil {
		t.Fatal(err)
	}
}

// receive reads until an event with payload "end" and returns the payloads
// before it; the deadline only keeps a broken bus from hanging the test.
func receive(t *testing.T, s events.Subscription) []string {
	t.Helper()
	var out []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				t.Fatalf("channel closed after %v", out)
			}
			if string(e.Payload) == "end" {
				return out
			}
			out = append(out, string(e.Payload))
		case <-deadline:
			t.Fatalf("no end marker; received %v", out)
		}
	}
}

// end is the marker every test subscription watches (user bob).
func end() events.Event {
	return events.Event{Type: "MARKER", ChannelArn: ch2, Users: []string{bob}, Payload: []byte("end")}
}

func same(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("received %q, want %q", got, want)
	}
}

func testOrderAndFanOut(t *testing.T, b events.Bus) {
	s1 := subscribe(t, b, events.AudienceTopic(ch1), events.UserTopic(bob))
	s2 := subscribe(t, b, events.AllTopic)
	const n = 5000
	var want []string
	for i := 0; i < n; i += 2 {
		publish(t, b, msg(ch1, strconv.Itoa(i)), msg(ch1, strconv.Itoa(i+1)))
		want = append(want, strconv.Itoa(i), strconv.Itoa(i+1))
	}
	publish(t, b) // nothing
	publish(t, b, end())
	same(t, receive(t, s1), want...)
	same(t, receive(t, s2), want...)
}

func testOnlyAfterWatch(t *testing.T, b events.Bus) {
	publish(t, b, msg(ch1, "before-subscribe"))
	s, err := b.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	publish(t, b, msg(ch1, "before-watch"))
	if err := s.Watch(events.AudienceTopic(ch1), events.UserTopic(bob)); err != nil {
		t.Fatal(err)
	}
	publish(t, b, msg(ch1, "after"), end())
	same(t, receive(t, s), "after")
}

func testScopeAudience(t *testing.T, b events.Bus) {
	sub := events.AudienceKey(ch1, "s1")
	s := subscribe(t, b, events.AudienceTopic(ch1), events.AudienceTopic(sub), events.UserTopic(bob))
	inSub := msg(ch1, "sub-s1")
	inSub.SubChannelID = "s1"
	other := msg(ch1, "sub-s2")
	other.SubChannelID = "s2"
	publish(t, b, msg(ch1, "ch1"), msg(ch2, "ch2"), inSub, other, end())
	same(t, receive(t, s), "ch1", "sub-s1")
}

func testScopeUser(t *testing.T, b events.Bus) {
	s := subscribe(t, b, events.UserTopic(alice), events.UserTopic(bob))
	targeted := msg(ch2, "targeted")
	targeted.Members, targeted.Users = false, []string{alice}
	joined := events.Event{Type: "CREATE_CHANNEL_MEMBERSHIP", ChannelArn: ch2, Joined: []string{alice}, Payload: []byte("joined")}
	left := events.Event{Type: "DELETE_CHANNEL_MEMBERSHIP", ChannelArn: ch2, Left: []string{alice}, Payload: []byte("left")}
	publish(t, b, msg(ch2, "not-mine"), targeted, joined, left, end())
	same(t, receive(t, s), "targeted", "joined", "left")
}

func testChannelDeleted(t *testing.T, b events.Bus) {
	s := subscribe(t, b, events.UserTopic(bob))
	del := events.Event{Type: "DELETE_CHANNEL", ChannelArn: ch1, Members: true, ChannelDeleted: true, Payload: []byte("deleted")}
	publish(t, b, del, end())
	same(t, receive(t, s), "deleted")
}

func testUnwatch(t *testing.T, b events.Bus) {
	s := subscribe(t, b, events.AudienceTopic(ch1), events.UserTopic(bob))
	publish(t, b, msg(ch1, "watched"), end())
	same(t, receive(t, s), "watched")
	if err := s.Unwatch(events.AudienceTopic(ch1), events.AudienceTopic(ch2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(events.UserTopic(bob)); err != nil { // twice: no change
		t.Fatal(err)
	}
	publish(t, b, msg(ch1, "unwatched"), end())
	same(t, receive(t, s))
}

// testSlowSubscriber: a subscription nobody reads does not hold the
// publisher up, and loses nothing.
func testSlowSubscriber(t *testing.T, b events.Bus) {
	slow := subscribe(t, b, events.AllTopic)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	const n = 20000
	for i := range n {
		if err := b.Publish(ctx, msg(ch1, strconv.Itoa(i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	publish(t, b, end())
	if got := receive(t, slow); len(got) != n || got[n-1] != strconv.Itoa(n-1) {
		t.Fatalf("slow subscriber got %d events", len(got))
	}
}

func testClose(t *testing.T, b events.Bus) {
	s := subscribe(t, b, events.AllTopic)
	publish(t, b, msg(ch1, "1"), msg(ch1, "2"))
	s.Close()
	s.Close() // idempotent
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				publish(t, b, msg(ch1, "3")) // nobody left: returns
				return
			}
		case <-deadline:
			t.Fatal("C not closed after Close")
		}
	}
}

// testIDsSurvive: the ID receivers de-duplicate by arrives as published,
// and a republished event arrives again (delivery is at least once).
func testIDsSurvive(t *testing.T, b events.Bus) {
	s := subscribe(t, b, events.AllTopic)
	e := msg(ch1, "x")
	e.ID = 42
	publish(t, b, e, e, end())
	var ids []uint64
	deadline := time.After(10 * time.Second)
	for len(ids) < 2 {
		select {
		case got := <-s.C():
			ids = append(ids, got.ID)
		case <-deadline:
			t.Fatal("events lost")
		}
	}
	if ids[0] != 42 || ids[1] != 42 {
		t.Fatalf("ids %v, want [42 42]", ids)
	}
}
