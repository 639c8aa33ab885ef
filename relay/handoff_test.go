package relay

import (
	"slices"
	"testing"

	"github.com/belfryhq/belfry/events"
)

func TestHandoff(t *testing.T) {
	one := []events.Event{{Type: "X"}}
	two := []events.Event{{Type: "X"}, {Type: "Y"}}
	type commit struct {
		last int64
		evs  []events.Event
	}
	tests := []struct {
		name      string
		commits   []commit
		published int64
		wantIDs   []uint64
		wantOK    bool
	}{
		{"nothing told", nil, 0, nil, true},
		{"a run after the cursor", []commit{{1, one}, {2, one}, {3, one}}, 0, []uint64{1, 2, 3}, true},
		{"what was read already is dropped", []commit{{1, one}, {2, one}, {3, one}}, 2, []uint64{3}, true},
		{"all read already", []commit{{1, one}, {2, one}}, 2, nil, true},
		{"a run that starts after the cursor", []commit{{3, one}, {4, one}}, 1, nil, false},
		{"several events end the run", []commit{{1, one}, {3, two}}, 0, nil, false},
		{"a run after several events", []commit{{2, two}, {3, one}, {4, one}}, 2, []uint64{3, 4}, true},
		{"a run after several events not read", []commit{{2, two}, {3, one}}, 0, nil, false},
		{"a gap restarts the run", []commit{{1, one}, {3, one}, {4, one}}, 2, []uint64{3, 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h handoff
			for _, c := range tt.commits {
				h.add(c.last, c.evs)
			}
			evs, ok := h.take(tt.published)
			var ids []uint64
			for _, e := range evs {
				ids = append(ids, e.ID)
			}
			if ok != tt.wantOK || !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("take(%d) = %v, %v; want %v, %v", tt.published, ids, ok, tt.wantIDs, tt.wantOK)
			}
			if rest, _ := h.take(tt.published); len(rest) != 0 {
				t.Errorf("a second take = %d events: the first did not forget them", len(rest))
			}
		})
	}
}

// TestHandoffBounded: past maxHanded events the relay keeps no more and
// reads the outbox instead.
func TestHandoffBounded(t *testing.T) {
	var h handoff
	for i := range int64(maxHanded + 10) {
		h.add(i+1, []events.Event{{Type: "X"}})
	}
	if len(h.evs) != maxHanded {
		t.Fatalf("kept %d events, bound %d", len(h.evs), maxHanded)
	}
	if evs, ok := h.take(0); ok || evs != nil {
		t.Fatalf("take of a truncated run = %d events, %v; want a read of the outbox", len(evs), ok)
	}
	h.add(maxHanded+11, []events.Event{{Type: "X"}})
	if evs, ok := h.take(maxHanded + 10); !ok || len(evs) != 1 || evs[0].ID != maxHanded+11 {
		t.Fatalf("after the read: take = %d events, %v", len(evs), ok)
	}
}
