package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/belfryhq/belfry/events"
)

// Subscription is one node's scoped stream of events.
//
// Watch calls subscribe on the NATS connection at once (which only queues
// a line for the server, so the hub may call them with its lock held): an
// event published on the same connection after Watch returns is delivered,
// and so is one published elsewhere once the server has the subscription.
// What another node published before that moment is in the outbox: the
// Subscription's goroutine confirms the new subscriptions with one round
// trip and then replays the outbox from the hub's position for them.
//
// That goroutine also reads NATS, so replayed events come before anything
// that arrived after the replay started, and copies of one publish that
// arrive on several subjects are delivered once.
type Subscription struct {
	bus  *Bus
	msgs chan *nats.Msg // every NATS subscription of this Subscription feeds it, in arrival order
	poke chan struct{}
	done chan struct{}
	once sync.Once

	// lastHanded is the ID of the last event C handed out (0 before any).
	lastHanded atomic.Uint64
	gap        atomic.Bool

	mu          sync.Mutex
	closed      bool
	nsubs       map[string]*nats.Subscription // by subject
	in          interest
	proactive   map[string]time.Time // audiences followed ahead of the hub's watch, since when
	catchUps    []catchUp            // new subscriptions to confirm and replay for
	unconfirmed bool                 // subscriptions made since the last round trip
	working     bool                 // the goroutine is confirming or replaying

	// Owned by pump.
	keys       *seenSet // publish keys delivered
	ids        *idSet   // outbox IDs delivered, and whether from a replay
	maxID      uint64   // highest outbox ID received
	floor      uint64   // the outbox head when the subscription started
	reconnects uint64

	// The queue between pump and C: unbounded, so that reading NATS never
	// waits on the consumer (the hub bounds memory per session itself).
	feed *events.Feed
}

// catchUp is a new subscription's share of the next replay: the events
// after ID after that only accepts.
type catchUp struct {
	after uint64
	only  func(*events.Event) bool
	// settle sets the since of the topic (interest) to the computed
	// after, under s.mu.
	settle func(after uint64)
	// reconnects is the connection's count at the Watch.
	reconnects uint64
}

func newSubscription(b *Bus) *Subscription {
	s := &Subscription{
		bus:       b,
		msgs:      make(chan *nats.Msg, 1<<14),
		poke:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		nsubs:     map[string]*nats.Subscription{},
		in:        interest{audiences: map[string]uint64{}, users: map[string]uint64{}},
		proactive: map[string]time.Time{},
		keys:      newSeenSet(b.opts.DedupWindow),
		ids:       newIDSet(b.opts.DedupWindow),
	}
	s.feed = events.NewFeed(func(e *events.Event) {
		if e.ID != 0 {
			s.lastHanded.Store(e.ID)
		}
	})
	s.reconnects = b.nc.Stats().Reconnects
	return s
}

// Watch implements events.Subscription.
func (s *Subscription) Watch(topics ...events.Topic) error {
	return s.each(topics, s.WatchAll, s.WatchAudience, s.WatchUser)
}

// Unwatch implements events.Subscription.
func (s *Subscription) Unwatch(topics ...events.Topic) error {
	return s.each(topics, s.UnwatchAll, s.UnwatchAudience, s.UnwatchUser)
}

func (s *Subscription) each(topics []events.Topic, all func() error, audience, user func(string) error) error {
	for _, t := range topics {
		var err error
		if t.All() {
			err = all()
		} else if key, ok := t.Audience(); ok {
			err = audience(key)
		} else if arn, ok := t.User(); ok {
			err = user(arn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// WatchAll delivers every event (for tools and tests, never a hub).
func (s *Subscription) WatchAll() error {
	return s.watch(allEventsSubject(s.bus.opts.Prefix), func(since uint64) {
		if !s.in.all {
			s.in.all, s.in.allSince = true, since
		}
	}, func(*events.Event) bool { return true }, func(after uint64) {
		if s.in.all && s.in.allSince == pendingSince {
			s.in.allSince = after
		}
	})
}

// UnwatchAll stops WatchAll.
func (s *Subscription) UnwatchAll() error {
	return s.unwatch(allEventsSubject(s.bus.opts.Prefix), func() { s.in.all = false })
}

// WatchAudience delivers the events of an audience (a channel ARN or
// events.AudienceKey of a sub-channel): the hub calls it when the audience
// gets its first local member.
func (s *Subscription) WatchAudience(key string) error {
	return s.watch(audienceSubject(s.bus.opts.Prefix, key), func(since uint64) {
		addSince(s.in.audiences, key, since)
		delete(s.proactive, key)
	}, func(e *events.Event) bool { return e.Audience() == key }, func(after uint64) { settleSince(s.in.audiences, key, after) })
}

// UnwatchAudience stops WatchAudience.
func (s *Subscription) UnwatchAudience(key string) error {
	return s.unwatch(audienceSubject(s.bus.opts.Prefix, key), func() {
		delete(s.in.audiences, key)
		delete(s.proactive, key)
	})
}

// WatchUser delivers the events that name userArn (Users, Joined, Left):
// the hub calls it when the user opens a session on this node.
func (s *Subscription) WatchUser(userArn string) error {
	return s.watch(userSubject(s.bus.opts.Prefix, userArn), func(since uint64) { addSince(s.in.users, userArn, since) },
		func(e *events.Event) bool { return names(e, userArn) }, func(after uint64) { settleSince(s.in.users, userArn, after) })
}

// UnwatchUser stops WatchUser.
func (s *Subscription) UnwatchUser(userArn string) error {
	return s.unwatch(userSubject(s.bus.opts.Prefix, userArn), func() { delete(s.in.users, userArn) })
}

// watch follows subject for a topic: add records the topic's interest
// with its since (interest) unless it has one, settle sets it once the
// catch-up has computed it.
func (s *Subscription) watch(subject string, add func(since uint64), only func(*events.Event) bool, settle func(after uint64)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return events.ErrClosed
	}
	if s.nsubs[subject] != nil {
		// Followed already (a join followed ahead of the hub, or a hash
		// shared with another topic): delivery goes on from here.
		add(s.lastHanded.Load())
		return nil
	}
	if err := s.subscribeLocked(subject); err != nil {
		return err
	}
	add(pendingSince)
	s.catchUps = append(s.catchUps, catchUp{s.lastHanded.Load(), only, settle, s.bus.nc.Stats().Reconnects})
	s.pokeNow()
	return nil
}

func (s *Subscription) unwatch(subject string, remove func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return events.ErrClosed
	}
	remove()
	if ns := s.nsubs[subject]; ns != nil {
		delete(s.nsubs, subject)
		return ns.Unsubscribe()
	}
	return nil
}

func (s *Subscription) subscribeLocked(subject string) error {
	ns, err := s.bus.nc.ChanSubscribe(subject, s.msgs)
	if err != nil {
		return err
	}
	s.nsubs[subject] = ns
	s.unconfirmed = true
	return nil
}

// Settled reports whether the server has every subscription made so far
// and the replays for them are done. Tests poll it.
func (s *Subscription) Settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.unconfirmed && !s.working && len(s.catchUps) == 0
}

// C implements events.Subscription.
func (s *Subscription) C() <-chan events.Event { return s.feed.C() }

// Close implements events.Subscription.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		s.mu.Lock()
		s.closed = true
		for _, ns := range s.nsubs {
			_ = ns.Unsubscribe()
		}
		s.nsubs = nil
		s.mu.Unlock()
		close(s.done)
		s.feed.Close()
	})
}

func (s *Subscription) pokeNow() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

func (s *Subscription) pump() {
	if r := s.bus.opts.Replay; r != nil {
		s.floor = s.retry("replay head", r.LastID)
	}
	for {
		// New subscriptions are caught up before any more messages are
		// delivered, so their replays come first.
		select {
		case <-s.poke:
			s.checkResume(0)
			s.catchUp()
			continue
		default:
		}
		select {
		case <-s.done:
			return
		case m := <-s.msgs:
			s.receive(m)
		case <-s.poke:
			s.checkResume(0)
			s.catchUp()
		}
	}
}

// checkResume replays what may have been missed after a reconnect or a
// slow-consumer drop, before the message that revealed it (with ID next,
// 0 if none) is delivered. The stream stores a message a moment after NATS
// routes it, so when next is ahead of the stream, the replay waits (a
// little) for the stream to have it: everything published before it is
// then there too.
func (s *Subscription) checkResume(next uint64) {
	r := s.bus.nc.Stats().Reconnects
	if r == s.reconnects && !s.gap.Swap(false) {
		return
	}
	s.reconnects = r
	if next != 0 && s.bus.opts.Replay != nil {
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			ctx, cancel := s.bus.requestContext(time.Second)
			last, err := s.bus.opts.Replay.LastID(ctx)
			cancel()
			if err == nil && last >= next {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	after := max(s.maxID, s.floor)
	if after > s.bus.opts.ReplayOverlap {
		after -= s.bus.opts.ReplayOverlap
	} else {
		after = 0
	}
	// Only what each topic wanted when it was published: the overlap
	// reaches back before the node followed some of them (interest).
	s.replay(after, func(id uint64, e *events.Event) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.in.wantsResumed(id, e)
	})
}

// catchUp confirms the subscriptions made since the last time with one
// round trip to the server, then fills them in with one replay, however
// many there are: a session that opens with a hundred channels costs one
// read of the outbox, not a hundred.
func (s *Subscription) catchUp() {
	s.mu.Lock()
	if len(s.proactive) > 0 {
		s.expireProactiveLocked(time.Now())
	}
	catchUps, unconfirmed := s.catchUps, s.unconfirmed
	s.catchUps, s.unconfirmed = nil, false
	s.working = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.working = false
		s.mu.Unlock()
	}()
	if !unconfirmed && len(catchUps) == 0 {
		return
	}
	// What the new subscriptions may have missed was published after the
	// Watch and before the server had the subscription: events after the
	// stream's head as it is now (a moment after the Watch), or after the
	// last event handed out if that is later. Not from further back: a
	// session that opens now must not get a channel's older events, nor
	// may a resume deliver them later (interest: each topic's since is set
	// here). That holds only while the connection stays up from the Watch
	// to the confirmation: then everything published after the server had
	// the subscription, up to the head, came live. A topic whose Watch the
	// connection dropped after starts at the last event handed out instead,
	// with the resume or the replay below: the head read after the drop
	// holds what was published while the node was away.
	var head uint64
	if r := s.bus.opts.Replay; r != nil && len(catchUps) > 0 {
		head = s.retry("replay head", r.LastID)
	}
	confirmed := s.confirm()
	reconnects := s.bus.nc.Stats().Reconnects
	var from uint64
	s.mu.Lock()
	for i := range catchUps {
		if confirmed && catchUps[i].reconnects == reconnects {
			catchUps[i].after = max(catchUps[i].after, head)
		}
		if i == 0 || catchUps[i].after < from {
			from = catchUps[i].after
		}
		catchUps[i].settle(catchUps[i].after)
	}
	s.mu.Unlock()
	if !confirmed || len(catchUps) == 0 {
		return
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

// confirm waits for the server to have the subscriptions made so far and
// reports whether it does; when not connected, the resume after the
// reconnect replays what they miss meanwhile.
func (s *Subscription) confirm() bool {
	if err := s.bus.nc.Flush(); err != nil {
		s.gap.Store(true)
		return false
	}
	return true
}

func (s *Subscription) receive(m *nats.Msg) {
	var env envelope
	if err := json.Unmarshal(m.Data, &env); err != nil {
		s.bus.log.Error("natsbus: undecodable message", "subject", m.Subject, "err", err)
		return
	}
	s.checkResume(env.ID)
	if env.ID > s.maxID {
		s.maxID = env.ID
	}
	// A copy of a publish already delivered (it came on another subject
	// too), or an event a replay delivered already.
	if !s.keys.add(env.Key) || (env.ID != 0 && !s.ids.addLive(env.ID)) {
		return
	}
	s.deliver(env)
}

// deliver queues env for C when the node wants it.
func (s *Subscription) deliver(env envelope) {
	env.Event.ID = env.ID
	s.mu.Lock()
	wants := s.in.wants(&env.Event)
	s.mu.Unlock()
	if !wants {
		return
	}
	// The audience a local user joins is followed before the join is
	// handed on: the hub, handling it, finds it followed already.
	follow := s.followJoin(&env)
	s.feed.Push(env.Event)
	if follow != nil {
		follow()
	}
}

// followJoin follows the audience a local user just joined, before
// anything after the join is delivered: the hub will watch it when it
// handles the join, but by then events of the audience behind the join may
// be on their way, and with the replay here they are delivered right after
// the join, in outbox order, rather than after whatever arrived meanwhile.
// An audience followed so that the hub never watches within a minute (the
// user's sessions were still loading, or closed) is dropped.
//
// It subscribes and returns what completes the follow once the join is
// queued (nil when there is nothing to follow): the round trip and the
// replay of what came after the join.
func (s *Subscription) followJoin(env *envelope) func() {
	e := &env.Event
	if len(e.Joined) == 0 {
		return nil
	}
	key := e.Audience()
	subject := audienceSubject(s.bus.opts.Prefix, key)
	s.mu.Lock()
	local := false
	for _, arn := range e.Joined {
		_, user := s.in.users[arn]
		local = local || user
	}
	if _, followed := s.in.audiences[key]; !local || s.in.all || followed || s.closed || s.subscribeLocked(subject) != nil {
		s.mu.Unlock()
		return nil
	}
	// Delivered from the join on, as the replay below does.
	s.in.audiences[key] = max(env.ID, s.floor)
	s.proactive[key] = time.Now()
	s.mu.Unlock()
	s.pokeNow() // Settled waits for the confirmation below too
	id := env.ID
	return func() {
		if s.confirm() {
			s.replay(max(id, s.floor), func(_ uint64, ev *events.Event) bool { return ev.Audience() == key })
		}
	}
}

func (s *Subscription) expireProactiveLocked(now time.Time) {
	for key, since := range s.proactive {
		if now.Sub(since) > time.Minute {
			delete(s.proactive, key)
			delete(s.in.audiences, key)
			subject := audienceSubject(s.bus.opts.Prefix, key)
			if ns := s.nsubs[subject]; ns != nil {
				_ = ns.Unsubscribe()
				delete(s.nsubs, subject)
			}
		}
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

// replay delivers the outbox's events after the given ID that only
// accepts (and the node wants, and did not have), retrying until it
// succeeds or the Subscription closes: giving up would lose events.
func (s *Subscription) replay(after uint64, only func(uint64, *events.Event) bool) {
	r := s.bus.opts.Replay
	if r == nil {
		return
	}
	for {
		var recs []Record
		s.retry("replay", func(ctx context.Context) (uint64, error) {
			var err error
			recs, err = r.EventsAfter(ctx, after, replayPage)
			return 0, err
		})
		for _, rec := range recs {
			after = rec.ID
			if rec.ID > s.maxID {
				s.maxID = rec.ID
			}
			if only(rec.ID, &rec.Event) && s.ids.addReplayed(rec.ID) {
				s.deliver(envelope{ID: rec.ID, Event: rec.Event})
			}
		}
		if len(recs) < replayPage {
			return
		}
	}
}

// retry runs f until it succeeds or the Subscription closes, backing off
// between failures.
func (s *Subscription) retry(what string, f func(context.Context) (uint64, error)) uint64 {
	wait := 50 * time.Millisecond
	for {
		ctx, cancel := s.bus.requestContext(30 * time.Second)
		v, err := f(ctx)
		if cause := context.Cause(ctx); err != nil && errors.Is(cause, errConnectionLost) {
			err = cause
		}
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
