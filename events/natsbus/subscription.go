package natsbus

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/belfryhq/belfry/events"
)

// Subscription is one node's scoped stream of events. Watch and Unwatch
// calls never block (the real-time hub makes them with its lock held): they
// are queued and applied, in order, by the Subscription's goroutine, which
// also reads NATS and runs replays, so an event reaches C exactly once and
// a replay's events come before anything that arrived after the replay
// started.
type Subscription struct {
	bus  *Bus
	msgs chan *nats.Msg // every NATS subscription of this Subscription feeds it, in arrival order
	poke chan struct{}
	done chan struct{}
	once sync.Once

	opsMu      sync.Mutex
	ops        []op
	pendingOps atomic.Int64

	// lastHanded is the ID of the last event C handed out (0 before any).
	lastHanded atomic.Uint64
	gap        atomic.Bool

	// Owned by pump.
	nsubs      map[string]*nats.Subscription // by subject
	in         interest
	seen       *seenSet
	maxID      uint64               // highest outbox ID received
	floor      uint64               // the outbox head when the subscription started
	proactive  map[string]time.Time // audiences followed ahead of the hub's WatchAudience, since when
	reconnects uint64

	// The queue between pump and C: unbounded, so that reading NATS never
	// waits on the consumer (the hub bounds memory per session itself).
	qmu    sync.Mutex
	cond   *sync.Cond
	queue  []envelope
	closed bool
	out    chan events.Event
}

type opKind int

const (
	opWatchAll opKind = iota
	opWatchAudience
	opUnwatchAudience
	opWatchUser
	opUnwatchUser
)

type op struct {
	kind  opKind
	key   string
	after uint64
}

// WatchAudience starts delivering Members events of an audience (a channel
// ARN or events.AudienceKey of a sub-channel): the hub calls it when the
// audience gets its first local member. Events committed after the last
// one C handed out reach C even if they were published before NATS had the
// new subscription (they are replayed).
func (s *Subscription) WatchAudience(key string) { s.enqueue(opWatchAudience, key) }

// UnwatchAudience stops WatchAudience.
func (s *Subscription) UnwatchAudience(key string) { s.enqueue(opUnwatchAudience, key) }

// WatchUser starts delivering the events that name userArn (Users, Joined,
// Left): the hub calls it when the user opens a session on this node.
func (s *Subscription) WatchUser(userArn string) { s.enqueue(opWatchUser, userArn) }

// UnwatchUser stops WatchUser.
func (s *Subscription) UnwatchUser(userArn string) { s.enqueue(opUnwatchUser, userArn) }

// Settled reports whether every Watch and Unwatch call so far has taken
// effect (its NATS subscription is confirmed by the server and its replay
// is done). Tests poll it.
func (s *Subscription) Settled() bool { return s.pendingOps.Load() == 0 }

// C implements events.Subscription.
func (s *Subscription) C() <-chan events.Event { return s.out }

// Close implements events.Subscription.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		close(s.done)
		s.qmu.Lock()
		s.closed = true
		s.qmu.Unlock()
		s.cond.Signal()
	})
}

func (s *Subscription) enqueue(kind opKind, key string) {
	s.pendingOps.Add(1)
	s.opsMu.Lock()
	s.ops = append(s.ops, op{kind: kind, key: key, after: s.lastHanded.Load()})
	s.opsMu.Unlock()
	s.pokeNow()
}

func (s *Subscription) pokeNow() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

func (s *Subscription) pump() {
	defer func() {
		for _, ns := range s.nsubs {
			_ = ns.Unsubscribe()
		}
	}()
	if r := s.bus.opts.Replay; r != nil {
		s.floor = s.retry("outbox head", r.LastID)
	}
	for {
		select {
		case <-s.done:
			return
		case m := <-s.msgs:
			s.checkResume()
			s.receive(m)
		case <-s.poke:
			s.checkResume()
			if len(s.proactive) > 0 {
				s.expireProactive(time.Now())
			}
			s.opsMu.Lock()
			ops := s.ops
			s.ops = nil
			s.opsMu.Unlock()
			s.applyOps(ops)
			s.pendingOps.Add(-int64(len(ops)))
		}
	}
}

// checkResume replays the outbox after a reconnect or a slow-consumer
// drop, before the message that revealed it is delivered.
func (s *Subscription) checkResume() {
	r := s.bus.nc.Stats().Reconnects
	if r == s.reconnects && !s.gap.Swap(false) {
		return
	}
	s.reconnects = r
	after := max(s.maxID, s.floor)
	if after > s.bus.opts.ReplayOverlap {
		after -= s.bus.opts.ReplayOverlap
	} else {
		after = 0
	}
	s.replay(after, func(uint64, *events.Event) bool { return true })
}

func (s *Subscription) receive(m *nats.Msg) {
	var env envelope
	if err := json.Unmarshal(m.Data, &env); err != nil {
		s.bus.log.Error("natsbus: undecodable message", "subject", m.Subject, "err", err)
		return
	}
	s.deliver(env)
}

// deliver queues env for C when the node needs it and has not had it.
func (s *Subscription) deliver(env envelope) {
	if env.ID > s.maxID {
		s.maxID = env.ID
	}
	if !s.in.wants(&env.Event) || !s.seen.add(env.key()) {
		return
	}
	s.qmu.Lock()
	s.queue = append(s.queue, env)
	s.qmu.Unlock()
	s.cond.Signal()
	s.followJoin(&env)
}

// followJoin follows the audience a local user just joined, before
// anything after the join is delivered: the hub will ask for it (when it
// handles the join), but by then events of the audience behind the join may
// be on their way, and with the replay here they are delivered right after
// the join, in outbox order, rather than after whatever arrived meanwhile.
// A followed audience the hub does not ask for within a minute (the user's
// sessions were still loading, or closed) is dropped.
func (s *Subscription) followJoin(env *envelope) {
	e := &env.Event
	key := e.Audience()
	if len(e.Joined) == 0 || s.in.audiences[key] {
		return
	}
	local := false
	for _, arn := range e.Joined {
		local = local || s.in.users[arn]
	}
	if !local {
		return
	}
	s.in.audiences[key] = true
	s.proactive[key] = time.Now()
	s.follow(audienceSubject(s.bus.opts.Prefix, key), env.ID, func(ev *events.Event) bool {
		return ev.Audience() == key && s.in.wants(ev)
	})
}

// expireProactive drops the audiences followJoin followed that the hub
// never asked for.
func (s *Subscription) expireProactive(now time.Time) {
	for key, since := range s.proactive {
		if now.Sub(since) > time.Minute {
			delete(s.proactive, key)
			delete(s.in.audiences, key)
			s.unsubscribe(audienceSubject(s.bus.opts.Prefix, key))
		}
	}
}

// applyOps applies queued Watch and Unwatch calls. The new subscriptions
// are confirmed by one round trip to the server and then filled in by one
// replay, however many there are: a session that opens with a hundred
// channels costs one read of the outbox, not a hundred.
func (s *Subscription) applyOps(ops []op) {
	type catchUp struct {
		after uint64
		only  func(*events.Event) bool
	}
	var catchUps []catchUp
	added := false
	for _, o := range ops {
		var subject string
		var only func(*events.Event) bool
		switch o.kind {
		case opWatchAll:
			subject = allSubject(s.bus.opts.Prefix)
		case opWatchAudience:
			key := o.key
			subject = audienceSubject(s.bus.opts.Prefix, key)
			s.in.audiences[key] = true
			delete(s.proactive, key)
			only = func(e *events.Event) bool { return e.Members && e.Audience() == key }
		case opUnwatchAudience:
			delete(s.in.audiences, o.key)
			delete(s.proactive, o.key)
			s.unsubscribe(audienceSubject(s.bus.opts.Prefix, o.key))
			continue
		case opWatchUser:
			key := o.key
			subject = userSubject(s.bus.opts.Prefix, key)
			s.in.users[key] = true
			only = func(e *events.Event) bool { return names(e, key) }
		case opUnwatchUser:
			delete(s.in.users, o.key)
			s.unsubscribe(userSubject(s.bus.opts.Prefix, o.key))
			continue
		}
		if !s.subscribe(subject) {
			continue
		}
		added = true
		if only != nil {
			catchUps = append(catchUps, catchUp{max(o.after, s.floor), only})
		}
	}
	if !added || !s.confirm() || len(catchUps) == 0 {
		return
	}
	from := catchUps[0].after
	for _, c := range catchUps {
		from = min(from, c.after)
	}
	s.replay(from, func(id uint64, e *events.Event) bool {
		for _, c := range catchUps {
			if id > c.after && c.only(e) {
				return true
			}
		}
		return false
	})
}

// follow subscribes to subject and delivers the outbox's events after the
// given ID that only accepts: once the server has the subscription,
// whatever it did not route to this node yet is in the outbox.
func (s *Subscription) follow(subject string, after uint64, only func(*events.Event) bool) {
	if s.subscribe(subject) && s.confirm() {
		s.replay(max(after, s.floor), func(_ uint64, e *events.Event) bool { return only(e) })
	}
}

// subscribe subscribes to subject and reports whether it was new.
func (s *Subscription) subscribe(subject string) bool {
	if s.nsubs[subject] != nil {
		return false
	}
	ns, err := s.bus.nc.ChanSubscribe(subject, s.msgs)
	if err != nil {
		// Only a closed connection refuses a subscription.
		s.bus.log.Error("natsbus: subscribe", "subject", subject, "err", err)
		return false
	}
	s.nsubs[subject] = ns
	return true
}

// confirm waits for the server to have the subscriptions made so far
// (Settled promises it) and reports whether it does; when not connected,
// the resume after the reconnect replays what they miss meanwhile.
func (s *Subscription) confirm() bool {
	if err := s.bus.nc.Flush(); err != nil {
		s.gap.Store(true)
		return false
	}
	return true
}

func (s *Subscription) unsubscribe(subject string) {
	if ns := s.nsubs[subject]; ns != nil {
		_ = ns.Unsubscribe()
		delete(s.nsubs, subject)
	}
}

func names(e *events.Event, arn string) bool {
	for _, list := range [][]string{e.Users, e.Joined, e.Left} {
		for _, a := range list {
			if a == arn {
				return true
			}
		}
	}
	return false
}

// replay delivers the outbox's events after the given ID that only accepts
// (and the node wants), retrying until it succeeds or the Subscription
// closes: giving up would lose events.
func (s *Subscription) replay(after uint64, only func(uint64, *events.Event) bool) {
	r := s.bus.opts.Replay
	if r == nil {
		return
	}
	for {
		recs := s.retryRecords(after)
		for _, rec := range recs {
			after = rec.ID
			if only(rec.ID, &rec.Event) {
				s.deliver(envelope{ID: rec.ID, Event: rec.Event})
			}
		}
		if len(recs) < replayPage {
			return
		}
	}
}

func (s *Subscription) retryRecords(after uint64) []Record {
	var recs []Record
	s.retry("outbox replay", func(ctx context.Context) (uint64, error) {
		var err error
		recs, err = s.bus.opts.Replay.EventsAfter(ctx, after, replayPage)
		return 0, err
	})
	return recs
}

// retry runs f until it succeeds or the Subscription closes, backing off
// between failures.
func (s *Subscription) retry(what string, f func(context.Context) (uint64, error)) uint64 {
	wait := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		v, err := f(ctx)
		cancel()
		if err == nil {
			return v
		}
		s.bus.log.Error("natsbus: "+what+" failed; retrying", "err", err)
		t := time.NewTimer(wait)
		select {
		case <-s.done:
			t.Stop()
			return 0
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// feed hands the queue to C in order.
func (s *Subscription) feed() {
	defer close(s.out)
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.qmu.Unlock()
			return
		}
		batch := s.queue
		s.queue = nil
		s.qmu.Unlock()
		for _, env := range batch {
			select {
			case s.out <- env.Event:
				if env.ID != 0 {
					s.lastHanded.Store(env.ID)
				}
			case <-s.done:
				return
			}
		}
	}
}
