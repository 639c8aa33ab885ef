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
	s := &memorySub{bus: b, out: make(chan Event), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	b.subs[s] = struct{}{}
	go s.run()
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
	out    chan Event
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	cond   *sync.Cond
	scope  scope
	queue  []Event
	closed bool
}

func (s *memorySub) push(evs []Event) {
	s.mu.Lock()
	n := len(s.queue)
	for i := range evs {
		if s.scope.matches(&evs[i]) {
			s.queue = append(s.queue, evs[i])
		}
	}
	added := len(s.queue) > n
	s.mu.Unlock()
	if added {
		s.cond.Signal()
	}
}

func (s *memorySub) run() {
	defer close(s.out)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, e := range batch {
			select {
			case s.out <- e:
			case <-s.done:
				return
			}
		}
	}
}

func (s *memorySub) C() <-chan Event { return s.out }

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
		s.cond.Signal()
		close(s.done)
	})
}

var _ Bus = (*Memory)(nil)
