package events

import (
	"context"
	"errors"
)

// Bus carries committed events from the outbox relay to the real-time hub
// of every node, after the idea of centrifuge's Broker: the publisher hands
// over a batch and returns, and each node subscribes to the topics its own
// sessions need.
//
// The contract, which every implementation passes in package bustest:
//
//   - Order: events of one Publish call, and of successive calls from one
//     publisher, reach every subscription in the order they were
//     published. The outbox relay publishes in commit order, so a node
//     sees every channel's events in commit order.
//   - Scope: a subscription receives an event published after the Watch
//     that makes it match: its Audience() is a watched audience, or one of
//     its Users, Joined or Left is a watched user, or it deletes a channel
//     (ChannelDeleted events reach every subscription, since any loading
//     session may hold the channel), or the subscription watches AllTopic.
//     Unwatch stops new matches; events already queued may still arrive.
//   - Delivery: at least once. A publisher may publish an event again
//     (after a crash, before it recorded the publish), so receivers drop
//     duplicates by Event.ID (Dedup). Publish never blocks on a slow
//     subscriber: a subscriber bounds its own memory.
//   - Errors: Publish returns an error when the events may not have been
//     handed to the bus (the relay then retries them); it never reports
//     a subscriber's failure.
type Bus interface {
	// Publish hands evs to every subscription they match, in order.
	Publish(ctx context.Context, evs ...Event) error
	// Subscribe returns a subscription that watches nothing yet.
	Subscribe(ctx context.Context) (Subscription, error)
}

// Subscription is one node's ordered stream of the events it watches.
type Subscription interface {
	// C delivers the events; it is closed by Close.
	C() <-chan Event
	// Watch adds topics; watching a watched topic changes nothing.
	Watch(topics ...Topic) error
	// Unwatch removes topics; unwatching an unwatched one changes nothing.
	Unwatch(topics ...Topic) error
	// Close ends the subscription; it is idempotent.
	Close()
}

// Topic is what a subscription can watch: an audience (a channel or one
// sub-channel, AudienceKey), a user or bot by ARN, or everything.
type Topic struct {
	kind topicKind
	key  string
}

type topicKind uint8

const (
	topicAll topicKind = iota + 1
	topicAudience
	topicUser
)

// AllTopic matches every event: for tools and tests, never a hub.
var AllTopic = Topic{kind: topicAll}

// AudienceTopic matches the events whose Audience() is key.
func AudienceTopic(key string) Topic { return Topic{topicAudience, key} }

// UserTopic matches the events naming arn in Users, Joined or Left.
func UserTopic(arn string) Topic { return Topic{topicUser, arn} }

// ErrClosed is returned by a closed bus or subscription.
var ErrClosed = errors.New("events: closed")

// scope is a set of watched topics; Memory uses it and other buses may.
type scope struct {
	all       bool
	audiences map[string]struct{}
	users     map[string]struct{}
}

func (s *scope) set(t Topic, on bool) {
	var m *map[string]struct{}
	switch t.kind {
	case topicAll:
		s.all = on
		return
	case topicAudience:
		m = &s.audiences
	case topicUser:
		m = &s.users
	default:
		return
	}
	if !on {
		delete(*m, t.key)
		return
	}
	if *m == nil {
		*m = map[string]struct{}{}
	}
	(*m)[t.key] = struct{}{}
}

// matches reports whether e is in the scope (see Bus).
func (s *scope) matches(e *Event) bool {
	if s.all || e.ChannelDeleted {
		return true
	}
	if _, ok := s.audiences[e.Audience()]; ok {
		return true
	}
	if len(s.users) == 0 {
		return false
	}
	for _, l := range [...][]string{e.Users, e.Joined, e.Left} {
		for _, arn := range l {
			if _, ok := s.users[arn]; ok {
				return true
			}
		}
	}
	return false
}

// Dedup remembers the IDs of the last events it saw, so that a receiver
// drops an event delivered twice. It is not safe for concurrent use.
type Dedup struct {
	ring []uint64
	next int
	seen map[uint64]struct{}
}

// NewDedup remembers the last n IDs.
func NewDedup(n int) *Dedup {
	return &Dedup{ring: make([]uint64, n), seen: make(map[uint64]struct{}, n)}
}

// First reports whether e is seen for the first time, and remembers it.
// Events without an ID are always new.
func (d *Dedup) First(e *Event) bool {
	if e.ID == 0 {
		return true
	}
	if _, ok := d.seen[e.ID]; ok {
		return false
	}
	if old := d.ring[d.next]; old != 0 {
		delete(d.seen, old)
	}
	d.ring[d.next] = e.ID
	d.next = (d.next + 1) % len(d.ring)
	d.seen[e.ID] = struct{}{}
	return true
}
