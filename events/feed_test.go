package events

import (
	"testing"
	"time"
)

func TestFeedHandsEventsInOrder(t *testing.T) {
	handed := make(chan uint64, 100)
	f := NewFeed(func(e *Event) { handed <- e.ID })
	defer f.Close()
	for i := 1; i <= 50; i++ {
		f.Push(Event{ID: uint64(i)})
	}
	f.Push()
	f.Push(Event{ID: 51}, Event{ID: 52})
	for want := uint64(1); want <= 52; want++ {
		select {
		case e := <-f.C():
			if e.ID != want {
				t.Fatalf("got event %d, want %d", e.ID, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not handed out", want)
		}
	}
	deadline := time.After(5 * time.Second)
	for want := uint64(1); want <= 52; want++ {
		select {
		case got := <-handed:
			if got != want {
				t.Fatalf("handed callback got %d, want %d", got, want)
			}
		case <-deadline:
			t.Fatalf("handed callback for %d not called", want)
		}
	}
}

func TestFeedCloseClosesC(t *testing.T) {
	f := NewFeed(nil)
	f.Push(Event{ID: 1}, Event{ID: 2})
	f.Close()
	f.Close()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-f.C():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("C not closed after Close")
		}
	}
}
