package events

import (
	"context"
	"sync"
)

// Memory is the in-process Bus of a single node. Publish appends the
// matching events to each subscription's unbounded queue and returns at
// once; a goroutine per subscription feeds its queue to its channel in
// order. The queue is unbounded so that the relay never waits: a
// subscriber is the node's own real-time hub, which drains it continuously
// and bounds memory per connection itself.
type Memory struct {
	mu     sync.Mutex
	subs   map[*memorySub]struct{}
	closed bool
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory { return &Memory{subs: map[*memorySub]struct{}{}} }

// Publish implements Bus.
func (b *Memory) Publish(ctx context.Context, evs ...Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.subs {
		s.push(evs)
	}
	return nil
}

// Subscribe implements Bus.
func (b *Memory) Subscribe(ctx context.Context) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	s := &memorySub{bus: b, feed: NewFeed(nil)}
	b.subs[s] = struct{}{}
	return s, nil
}

// Close ends every subscription; Publish and Subscribe fail afterwards.
func (b *Memory) Close() {
	b.mu.Lock()
	subs := b.subs
	b.subs, b.closed = map[*memorySub]struct{}{}, true
	b.mu.Unlock()
	for s := range subs {
		s.Close()
	}
}

type memorySub struct {
	bus    *Memory
	feed   *Feed
	once   sync.Once
	mu     sync.Mutex
	scope  scope
	closed bool
}

func (s *memorySub) push(evs []Event) {
	var matched []Event
	s.mu.Lock()
	for i := range evs {
		if s.scope.matches(&evs[i]) {
			matched = append(matched, evs[i])
		}
	}
	s.mu.Unlock()
	s.feed.Push(matched...)
}

func (s *memorySub) C() <-chan Event { return s.feed.C() }

func (s *memorySub) Watch(topics ...Topic) error { return s.setScope(topics, true) }

func (s *memorySub) Unwatch(topics ...Topic) error { return s.setScope(topics, false) }

// setScope changes the scope under the bus's lock, so that a Publish sees
// the scope either before or after the change, never half of it.
func (s *memorySub) setScope(topics []Topic, on bool) error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, t := range topics {
		s.scope.set(t, on)
	}
	return nil
}

func (s *memorySub) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.feed.Close()
	})
}

var _ Bus = (*Memory)(nil)
