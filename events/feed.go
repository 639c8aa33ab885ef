package events

import "sync"

// Feed is an unbounded FIFO of events that its own goroutine hands to C in
// order. It lets the producer of a subscription (a Publish, a NATS reader)
// never wait on the consumer: a subscriber is a node's real-time hub, which
// drains C continuously and bounds memory per connection itself.
type Feed struct {
	out    chan Event
	done   chan struct{}
	once   sync.Once
	handed func(*Event)

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Event
	closed bool
}

// NewFeed starts a Feed. handed, when not nil, is called on the Feed's
// goroutine after each event has been received from C, so an owner can
// track the position its consumer has reached.
func NewFeed(handed func(*Event)) *Feed {
	f := &Feed{out: make(chan Event), done: make(chan struct{}), handed: handed}
	f.cond = sync.NewCond(&f.mu)
	go f.run()
	return f
}

// Push appends evs to the queue; it never blocks on the consumer.
func (f *Feed) Push(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	f.mu.Lock()
	f.queue = append(f.queue, evs...)
	f.mu.Unlock()
	f.cond.Signal()
}

// C is the channel the queued events come out of, closed after Close.
func (f *Feed) C() <-chan Event { return f.out }

// Close stops the Feed: what is still queued is dropped and C is closed.
// It is safe to call more than once.
func (f *Feed) Close() {
	f.once.Do(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.cond.Signal()
		close(f.done)
	})
}

func (f *Feed) run() {
	defer close(f.out)
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.closed {
			f.cond.Wait()
		}
		if f.closed {
			f.mu.Unlock()
			return
		}
		batch := f.queue
		f.queue = nil
		f.mu.Unlock()
		for i := range batch {
			select {
			case f.out <- batch[i]:
				if f.handed != nil {
					f.handed(&batch[i])
				}
			case <-f.done:
				return
			}
		}
	}
}
