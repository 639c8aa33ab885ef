package events

import (
	"strconv"
	"testing"
	"time"
)

func ev(i int) Event { return Event{Type: "CREATE_CHANNEL_MESSAGE", ChannelArn: strconv.Itoa(i)} }

// receive reads n events; the timeout only keeps a broken bus from hanging
// the test.
func receive(t *testing.T, s Subscription, n int) []Event {
	t.Helper()
	var out []Event
	for len(out) < n {
		select {
		case e, ok := <-s.C():
			if !ok {
				t.Fatalf("channel closed after %d of %d events", len(out), n)
			}
			out = append(out, e)
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d events", len(out), n)
		}
	}
	return out
}

func TestMemoryOrderAndFanOut(t *testing.T) {
	b := NewMemory()
	b.Publish(ev(-1)) // before any subscriber: nobody gets it
	s1, s2 := b.Subscribe(), b.Subscribe()
	defer s1.Close()
	defer s2.Close()

	// A subscriber that does not read does not hold the publisher up.
	const n = 10000
	for i := 0; i < n; i += 2 {
		b.Publish(ev(i), ev(i+1))
	}
	b.Publish() // nothing
	for _, s := range []Subscription{s1, s2} {
		for i, e := range receive(t, s, n) {
			if e.ChannelArn != strconv.Itoa(i) {
				t.Fatalf("event %d is %s: out of order", i, e.ChannelArn)
			}
		}
	}
	s3 := b.Subscribe()
	defer s3.Close()
	b.Publish(ev(n))
	for _, s := range []Subscription{s1, s2, s3} {
		if e := receive(t, s, 1)[0]; e.ChannelArn != strconv.Itoa(n) {
			t.Fatalf("got %s, want only events published after Subscribe", e.ChannelArn)
		}
	}
}

func TestMemoryClose(t *testing.T) {
	b := NewMemory()
	s := b.Subscribe()
	b.Publish(ev(1), ev(2))
	s.Close()
	s.Close() // idempotent
	// C is closed; events still queued may be dropped.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				b.Publish(ev(3)) // no subscriber left: returns at once
				return
			}
		case <-timeout:
			t.Fatal("C not closed after Close")
		}
	}
}
