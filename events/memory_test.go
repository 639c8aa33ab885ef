package events_test

import (
	"testing"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/events/bustest"
)

func TestMemory(t *testing.T) {
	bustest.Run(t, func(t *testing.T) events.Bus {
		b := events.NewMemory()
		t.Cleanup(b.Close)
		return b
	})
}

func TestDedup(t *testing.T) {
	d := events.NewDedup(2)
	seq := []struct {
		id   uint64
		want bool
	}{{1, true}, {1, false}, {0, true}, {0, true}, {2, true}, {3, true}, {2, false}, {1, true}}
	for i, c := range seq {
		if got := d.First(&events.Event{ID: c.id}); got != c.want {
			t.Fatalf("step %d id %d: First = %v, want %v", i, c.id, got, c.want)
		}
	}
}
