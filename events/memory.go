package events

import "sync"

// Memory is the in-process Bus of a single node. Publish appends to each
// subscriber's unbounded queue and returns at once; a goroutine per
// subscriber feeds the queue to its channel in order. The queue is
// unbounded so that the committing writer never waits: a subscriber is the
// node's own real-time hub, which drains it continuously and bounds memory
// per connection itself.
type Memory struct {
	mu   sync.Mutex
	subs map[*memorySub]struct{}
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory { return &Memory{subs: map[*memorySub]struct{}{}} }

// Publish implements Bus.
func (b *Memory) Publish(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(evs)
	}
}

// Subscribe implements Bus.
func (b *Memory) Subscribe() Subscription {
	s := &memorySub{bus: b, out: make(chan Event), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	return s
}

type memorySub struct {
	bus    *Memory
	out    chan Event
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	closed bool
}

func (s *memorySub) push(evs []Event) {
	s.mu.Lock()
	s.queue = append(s.queue, evs...)
	s.mu.Unlock()
	s.cond.Signal()
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
