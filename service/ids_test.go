package service

import (
	"regexp"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestNewMessageIDIsOrderedHex(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   []time.Time
	}{
		{"clock moves on", []time.Time{t0, t0.Add(time.Nanosecond), t0.Add(time.Second)}},
		{"same instant", []time.Time{t0, t0, t0}},
		{"clock steps back", []time.Time{t0.Add(time.Hour), t0, t0.Add(-time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev := ""
			for i, at := range tc.at {
				id := newMessageID(at)
				if !hex64.MatchString(id) {
					t.Fatalf("id %d = %q, want 64 lowercase hex", i, id)
				}
				if id <= prev {
					t.Errorf("id %d = %s, not after %s", i, id, prev)
				}
				prev = id
			}
		})
	}
}

func TestNewMessageIDRandomPart(t *testing.T) {
	at := time.Now()
	seen := map[string]bool{}
	for range 1000 {
		id := newMessageID(at)
		if seen[id[16:]] {
			t.Fatalf("random part %s repeated", id[16:])
		}
		seen[id[16:]] = true
	}
}

// Sends mint increasing ids, whatever the service's clock says.
func TestSentMessageIDsIncrease(t *testing.T) {
	c := newChat(t)
	prev := ""
	for i := range 5 {
		out := must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
			ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("hi"), Type: chime.ChannelMessageTypeStandard,
			Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("t-" + string(rune('a'+i))),
		}))
		id := *out.MessageId
		if !hex64.MatchString(id) || id <= prev {
			t.Errorf("send %d: id %s, want 64 hex after %s", i, id, prev)
		}
		prev = id
	}
}
