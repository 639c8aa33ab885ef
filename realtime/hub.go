// Package realtime serves the Amazon Chime SDK messaging session: the
// websocket a client opens at GET /connect with a presigned SigV4 URL, over
// which the server pushes the events of every channel the connected
// AppInstanceUser (or AppInstanceBot) belongs to.
//
// A Hub keeps this node's sessions and an index from channel to the local
// member users that have sessions, applies the membership changes that
// events carry, and fans each event out to its recipients: the frame is
// encoded once and handed to every recipient by a few delivery shards, which
// write it straight to an idle socket that takes it without blocking, and
// otherwise queue it on the session's bounded send queue for a writer
// goroutine that lives only while the queue is not empty. A session that
// cannot keep up is closed with a retryable code instead of slowing anyone
// else down.
//
// The package knows the Chime wire protocol of the session
// (shared/docs/websocket-protocol.md §1–§4) and nothing of the store: what
// it needs from the messaging service is the Directory interface.
package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
)

// Directory is what sessions need from the messaging service.
type Directory interface {
	// SessionChannels checks that userArn names an existing AppInstanceUser or AppInstanceBot (a *chime.Error of kind chime.Forbidden otherwise) and returns the ARNs of every channel it is a member of.
	SessionChannels(ctx context.Context, userArn string) ([]string, error)
	// Prefetch returns the CHANNEL_DETAILS payloads for a session that asked for prefetch.
	Prefetch(ctx context.Context, userArn, sortBy string) ([]events.ChannelDetails, error)
}

// Authenticator verifies the presigned SigV4 URL of a /connect request and
// returns who signed it. An error that is a *chime.Error is an
// authentication failure (the session is closed with 4401); any other error
// is an internal failure (1011). *keyring.Keyring implements it.
type Authenticator interface {
	AuthenticatePresigned(r *http.Request) (chime.Principal, error)
}

// Defaults of Options.
const (
	DefaultMaxSessionsPerUser = 10
	DefaultPingInterval       = 30 * time.Second
	DefaultSendQueueLimit     = 256
	DefaultWriteTimeout       = 10 * time.Second
	DefaultReleaseAfter       = 1000
)

// Options configure a Hub. Directory, Auth and Bus are required.
type Options struct {
	Directory Directory
	Auth      Authenticator
	// Bus is subscribed to by NewHub; the hub delivers every event
	// published after NewHub returns.
	Bus events.Bus
	// Logger receives connection failures and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registerer receives the hub's metrics; nil registers none.
	Registerer prometheus.Registerer

	// MaxSessionsPerUser bounds the sessions one user may have open on
	// this node; the one over the limit is closed with 1008 (terminal).
	MaxSessionsPerUser int
	// PingInterval is how often the server pings each session; a session
	// that answers no ping for two intervals is dropped.
	PingInterval time.Duration
	// SendQueueLimit is how many frames may wait for one session's writer;
	// a session whose queue is full is closed with 1013 (retryable).
	SendQueueLimit int
	// WriteTimeout bounds each write to a session's connection.
	WriteTimeout time.Duration
	// ReleaseAfter is how many sessions established since the hub last
	// handed free memory back to the OS make a connection storm: once no
	// session has been established for a second after one, the hub
	// collects and returns the heap the storm's handshakes left free
	// (debug.FreeOSMemory; see stormCheck). 0 means DefaultReleaseAfter;
	// negative, never.
	ReleaseAfter int
	// BlockingReaders gives every session a reader goroutine for its whole
	// life, as on systems without the poller (Linux's epoll), instead of
	// starting a reader only when the client's bytes arrive.
	BlockingReaders bool

	// onSlowConsumer, when set (tests), is called with the hub's lock held
	// each time a session is dropped for a full queue.
	onSlowConsumer func(userArn, sessionID string)
}

// Hub is one node's set of messaging sessions. It is an http.Handler for
// GET /connect. It is safe for concurrent use.
//
// Events are applied by one goroutine, in the order the bus delivers them
// (commit order), under the hub's lock, which is held only while an event
// updates the index and its recipients are collected. Delivery happens
// after, on the session's shard; a session's shard hands it events in
// dispatch order, so every session receives the events of a channel in
// commit order. Delivery never blocks on a session.
type Hub struct {
	opts     Options
	log      *slog.Logger
	upgrader websocket.Upgrader
	metrics  *metrics
	sub      events.Subscription
	runDone  chan struct{}
	poll     *poller   // nil: every session has a reader goroutine
	epoch    time.Time // origin of clock
	// seen drops events the bus delivers twice (it delivers at least once).
	seen *events.Dedup

	// wg counts /connect handlers after the upgrade and session readers
	// (each reader waits for its writer); Shutdown waits for it. Add is
	// called either with mu held and draining false, or by a handler whose
	// own count is still held, so it never races with Wait.
	wg sync.WaitGroup

	mu       sync.Mutex
	draining bool
	users    map[string]*user    // by ARN: users with at least one session here
	channels map[string]*channel // by ARN: channels with at least one established local member
	pending  map[*session]struct{}
	seq      uint64          // number of the event being dispatched, for de-duplication
	shards   []chan delivery // see deliverLoop
	next     uint32          // the shard of the next session

	// The connection storm being watched (stormCheck).
	stormN        int   // sessions established since the last release
	stormLast     int64 // clock of the last one
	stormCheckDue bool  // a stormCheck is scheduled
}

// user is one AppInstanceUser or AppInstanceBot with sessions on this node.
// Its channel set is kept only while it has an established session; while
// all its sessions are still loading it is in no channel.
type user struct {
	arn         string
	sessions    map[string]*session // by sessionId, pending and established
	established int
	channels    map[*channel]struct{}
}

// channel is a channel with local members.
type channel struct {
	arn     string
	members map[*user]struct{}
}

// NewHub subscribes to the bus and starts delivering events.
func NewHub(opts Options) (*Hub, error) {
	if opts.Directory == nil || opts.Auth == nil || opts.Bus == nil {
		return nil, errors.New("realtime: Options.Directory, Auth and Bus are required")
	}
	if opts.MaxSessionsPerUser <= 0 {
		opts.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.SendQueueLimit <= 0 {
		opts.SendQueueLimit = DefaultSendQueueLimit
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.ReleaseAfter == 0 {
		opts.ReleaseAfter = DefaultReleaseAfter
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("realtime metrics: %w", err)
	}
	h := &Hub{
		opts:    opts,
		log:     log,
		metrics: m,
		upgrader: websocket.Upgrader{
			// Clients only ever send control frames, which are at most
			// 127 bytes; data frames are discarded while they stream.
			ReadBufferSize: 256,
			// Frames are written as prepared messages and control frames,
			// neither of which uses the connection's write buffer; the pool
			// keeps gorilla from allocating one per connection.
			WriteBufferPool:  &sync.Pool{},
			HandshakeTimeout: 10 * time.Second,
			// Any origin: browsers on other origins must connect, and the
			// presigned URL is the authentication, not cookies.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		runDone:  make(chan struct{}),
		epoch:    time.Now(),
		shards:   make([]chan delivery, shardCount()),
		users:    map[string]*user{},
		channels: map[string]*channel{},
		pending:  map[*session]struct{}{},
	}
	if !opts.BlockingReaders {
		h.poll = newPoller()
	}
	for i := range h.shards {
		// Bounded: when the shards fall behind, dispatch waits, and the bus
		// holds the events.
		h.shards[i] = make(chan delivery, 256)
	}
	// The subscription watches the users with sessions here and the
	// audiences in the index, kept current as they change (watch, unwatch).
	if h.sub, err = opts.Bus.Subscribe(context.Background()); err != nil {
		return nil, fmt.Errorf("realtime: subscribe: %w", err)
	}
	h.seen = events.NewDedup(4096)
	go h.run()
	return h, nil
}

// clock is the hub's monotonic time, in nanoseconds, for timestamps kept
// in atomics.
func (h *Hub) clock() int64 { return int64(time.Since(h.epoch)) }

func (h *Hub) run() {
	defer close(h.runDone)
	var workers sync.WaitGroup
	for _, sh := range h.shards {
		workers.Add(1)
		go func() {
			defer workers.Done()
			h.deliverLoop(sh)
		}()
	}
	for e := range h.sub.C() {
		if h.seen.First(&e) {
			h.dispatch(&e)
		}
	}
	for _, sh := range h.shards {
		close(sh)
	}
	workers.Wait()
}

// membershipChange is a Joined, Left or ChannelDeleted seen while a session
// was loading its channel list; it is replayed on top of that list.
type membershipChange struct {
	channelArn string
	joined     bool // false: left or channel deleted
}

// dispatch applies one event: Joined first, then delivery, then Left and
// ChannelDeleted, so that a new member receives its own
// CREATE_CHANNEL_MEMBERSHIP and a removed member its
// DELETE_CHANNEL_MEMBERSHIP and nothing after it. It waits only when a
// delivery shard is far behind.
func (h *Hub) dispatch(e *events.Event) {
	h.mu.Lock()
	h.seq++
	key := e.Audience()

	for _, arn := range e.Joined {
		u := h.users[arn]
		if u == nil {
			continue
		}
		if e.FromSubChannelID != "" {
			from := events.AudienceKey(e.ChannelArn, e.FromSubChannelID)
			if c := h.channels[from]; c != nil {
				h.leaveLocked(u, c)
			}
			for _, s := range u.sessions {
				if s.state == statePending {
					s.changes = append(s.changes, membershipChange{from, false})
				}
			}
		}
		if u.established > 0 {
			h.joinLocked(u, key)
		}
		for _, s := range u.sessions {
			if s.state == statePending {
				s.changes = append(s.changes, membershipChange{key, true})
			}
		}
	}

	// Recipients are collected under the lock, by delivery shard, and
	// written to by the shards after it is released, so sessions
	// connecting and leaving never wait for a fan-out.
	// The lists come from a pool and go back once delivered: a fan-out
	// allocates nothing per recipient.
	var partsArr [maxShards]*[]*session
	parts := partsArr[:len(h.shards)]
	found := false
	collect := func(s *session) {
		if s.state != stateEstablished || s.mark == h.seq {
			return
		}
		s.mark = h.seq
		p := parts[s.shard]
		if p == nil {
			p = recipientLists.Get().(*[]*session)
			parts[s.shard] = p
		}
		*p = append(*p, s)
		found = true
	}
	if e.Members {
		if c := h.channels[key]; c != nil {
			for u := range c.members {
				for _, s := range u.sessions {
					collect(s)
				}
			}
		}
	}
	for _, arn := range e.Users {
		if u := h.users[arn]; u != nil {
			for _, s := range u.sessions {
				collect(s)
			}
		}
	}
	for _, arn := range e.Left {
		u := h.users[arn]
		if u == nil {
			continue
		}
		if c := h.channels[key]; c != nil {
			h.leaveLocked(u, c)
		}
		for _, s := range u.sessions {
			if s.state == statePending {
				s.changes = append(s.changes, membershipChange{key, false})
			}
		}
	}
	if e.ChannelDeleted {
		gone := []string{e.ChannelArn}
		// An elastic channel's sub-channels go with it. Deleting a
		// channel is rare, so finding them by scanning the index is
		// cheaper than keeping a channel → sub-channels map current.
		prefix := events.SubChannelKeyPrefix(e.ChannelArn)
		for k := range h.channels {
			if strings.HasPrefix(k, prefix) {
				gone = append(gone, k)
			}
		}
		for _, k := range gone {
			if c := h.channels[k]; c != nil {
				for u := range c.members {
					delete(u.channels, c)
				}
				delete(h.channels, c.arn)
				h.unwatch(events.AudienceTopic(c.arn))
			}
			// Any loading session may have the channel in its list.
			for s := range h.pending {
				s.changes = append(s.changes, membershipChange{k, false})
			}
		}
	}
	h.mu.Unlock()
	if !found {
		return // an event with no recipient here is not even encoded
	}
	frame := textFrame(eventFrame(e)) // once, shared by every recipient
	for i, to := range parts {
		if to != nil {
			h.shards[i] <- delivery{frame, to}
		}
	}
}

// delivery is one event's frame for the recipients one shard serves.
type delivery struct {
	frame []byte
	to    *[]*session // from recipientLists
}

// recipientLists recycles the recipient lists of deliveries.
var recipientLists = sync.Pool{New: func() any { return new([]*session) }}

// maxShards bounds shardCount.
const maxShards = 64

// shardCount is how many delivery goroutines a hub runs: a few per
// processor, so that one stalled in a system call, or descheduled by the
// kernel, leaves work for the processor it frees.
func shardCount() int { return min(max(4*runtime.GOMAXPROCS(0), 4), maxShards) }

// deliverLoop is one delivery shard. Every session belongs to one shard
// for its life, and a shard hands it frames in the order the hub
// dispatched them, so every session receives events in commit order while
// the shards, and consecutive events, proceed in parallel. Most of a
// delivery is the write system call: the shard writes to idle sockets
// itself (see session.enqueue).
func (h *Hub) deliverLoop(work <-chan delivery) {
	for d := range work {
		to := *d.to
		for i, s := range to {
			if !s.enqueue(d.frame) {
				h.dropSlow(s)
			}
			to[i] = nil
		}
		*d.to = to[:0]
		recipientLists.Put(d.to)
	}
}

// dropSlow takes a session whose queue is full out of the index at once and
// closes it with 1013: nobody else waits for it, and it catches up through
// the REST API when it reconnects.
func (h *Hub) dropSlow(s *session) {
	h.mu.Lock()
	if s.state != stateEstablished {
		h.mu.Unlock() // already leaving
		return
	}
	user := s.user.arn
	h.removeLocked(s)
	s.close(CloseTryAgainLater, "Slow consumer: send queue full", false)
	h.metrics.slowConsumers.Inc()
	if h.opts.onSlowConsumer != nil {
		h.opts.onSlowConsumer(user, s.id)
	}
	h.mu.Unlock()
	h.log.Info("realtime: slow consumer dropped", "user", user, "session", s.id, "queue_limit", h.opts.SendQueueLimit)
}

// watch and unwatch keep the bus subscription to what the index needs;
// called with mu held, so the scope changes in step with the index. A
// closed subscription (Shutdown) has nothing left to deliver.
func (h *Hub) watch(t events.Topic) {
	if err := h.sub.Watch(t); err != nil && !errors.Is(err, events.ErrClosed) {
		h.log.Error("realtime: bus watch", "err", err)
	}
}

func (h *Hub) unwatch(t events.Topic) {
	if err := h.sub.Unwatch(t); err != nil && !errors.Is(err, events.ErrClosed) {
		h.log.Error("realtime: bus unwatch", "err", err)
	}
}

func (h *Hub) joinLocked(u *user, arn string) {
	c := h.channels[arn]
	if c == nil {
		c = &channel{arn: arn, members: map[*user]struct{}{}}
		h.channels[arn] = c
		h.watch(events.AudienceTopic(arn))
	}
	if u.channels == nil {
		u.channels = map[*channel]struct{}{}
	}
	c.members[u] = struct{}{}
	u.channels[c] = struct{}{}
}

func (h *Hub) leaveLocked(u *user, c *channel) {
	delete(c.members, u)
	delete(u.channels, c)
	if len(c.members) == 0 && h.channels[c.arn] == c {
		delete(h.channels, c.arn)
		h.unwatch(events.AudienceTopic(c.arn))
	}
}

// Why register refused a session.
var (
	errDraining       = errors.New("draining")
	errTooManyForUser = errors.New("too many sessions")
)

// register adds a loading session. A session of the same user with the same
// sessionId is replaced: it leaves the registry at once and is closed with a
// terminal code.
func (h *Hub) register(s *session, userArn string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return errDraining
	}
	u := h.users[userArn]
	if u == nil {
		u = &user{arn: userArn, sessions: map[string]*session{}}
		h.users[userArn] = u
		h.watch(events.UserTopic(userArn))
	}
	if old := u.sessions[s.id]; old != nil {
		h.removeLocked(old)
		old.close(ClosePolicyViolation, "Session replaced by a newer connection with the same sessionId", false)
		if h.users[userArn] == nil { // removeLocked dropped the user with its last session
			h.users[userArn] = u
			h.watch(events.UserTopic(userArn))
		}
	}
	if len(u.sessions) >= h.opts.MaxSessionsPerUser {
		if len(u.sessions) == 0 {
			delete(h.users, userArn)
			h.unwatch(events.UserTopic(userArn))
		}
		return errTooManyForUser
	}
	s.user = u
	s.shard = uint8(h.next % uint32(len(h.shards)))
	h.next++
	s.state = statePending
	u.sessions[s.id] = s
	h.pending[s] = struct{}{}
	h.metrics.sessions.Inc()
	return nil
}

// establish joins a loaded session to the index: its channels are the list
// the Directory returned with the changes seen since registration replayed
// on top, and its first frames (SESSION_ESTABLISHED, then any
// CHANNEL_DETAILS) are queued before any event can be. It reports false when
// the session was closed meanwhile.
func (h *Hub) establish(s *session, channelArns []string, first [][]byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.state != statePending {
		return false
	}
	want := make(map[string]struct{}, len(channelArns))
	for _, arn := range channelArns {
		want[arn] = struct{}{}
	}
	for _, c := range s.changes {
		if c.joined {
			want[c.channelArn] = struct{}{}
		} else {
			delete(want, c.channelArn)
		}
	}
	s.changes = nil
	delete(h.pending, s)

	u := s.user
	if u.established > 0 {
		// The user's other sessions kept its channel set current; the new
		// list is as current, and fresher from the store, so it wins.
		for c := range u.channels {
			if _, ok := want[c.arn]; !ok {
				h.leaveLocked(u, c)
			}
		}
	}
	for arn := range want {
		h.joinLocked(u, arn)
	}
	u.established++
	s.state = stateEstablished
	s.enqueueFirst(first)
	h.stormN++
	h.stormLast = h.clock()
	if h.opts.ReleaseAfter > 0 && h.stormN >= h.opts.ReleaseAfter && !h.stormCheckDue {
		h.stormCheckDue = true
		time.AfterFunc(stormQuiet, h.stormCheck)
	}
	return true
}

// stormQuiet is how long no session must have been established before a
// connection storm counts as over.
const stormQuiet = time.Second

// stormCheck hands the heap that a connection storm left free back to the
// OS once the storm is over. Each handshake, over TLS above all, leaves tens
// of KiB of garbage for a few KiB that the session keeps, so a storm grows
// the heap to the collector's goal, twice the live heap at GOGC=100, and
// the runtime keeps that memory while the sessions sit idle (it returns
// only what exceeds the goal, which no allocation moves until the next
// collection). One forced collection and release after the storm brings
// RSS back to about the live heap, for the cost of one collection per
// storm; it never runs while sessions keep arriving, nor during a
// fan-out, which establishes no sessions. docs/benchmarks.md has the
// measurements behind it.
func (h *Hub) stormCheck() {
	h.mu.Lock()
	if idle := time.Duration(h.clock() - h.stormLast); idle < stormQuiet && !h.draining {
		time.AfterFunc(stormQuiet-idle, h.stormCheck)
		h.mu.Unlock()
		return
	}
	n := h.stormN
	h.stormN, h.stormCheckDue = 0, false
	draining := h.draining
	h.mu.Unlock()
	if draining {
		return
	}
	start := time.Now()
	debug.FreeOSMemory()
	h.metrics.memoryReleases.Inc()
	h.log.Info("realtime: free memory returned to the OS after a connection storm", "sessions", n, "took", time.Since(start))
}

// remove takes a session out of the registry and the index; it is
// idempotent.
func (h *Hub) remove(s *session) {
	h.mu.Lock()
	h.removeLocked(s)
	h.mu.Unlock()
}

func (h *Hub) removeLocked(s *session) {
	if s.state == stateGone || s.state == stateNew {
		return
	}
	u := s.user
	if u.sessions[s.id] == s {
		delete(u.sessions, s.id)
	}
	switch s.state {
	case statePending:
		delete(h.pending, s)
		s.changes = nil
	case stateEstablished:
		u.established--
		if u.established == 0 {
			for c := range u.channels {
				h.leaveLocked(u, c)
			}
		}
	}
	s.state = stateGone
	if len(u.sessions) == 0 && h.users[u.arn] == u {
		delete(h.users, u.arn)
		h.unwatch(events.UserTopic(u.arn))
	}
	h.metrics.sessions.Dec()
}

// enter counts a /connect handler that has upgraded its connection, unless
// the hub is draining.
func (h *Hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.wg.Add(1)
	return true
}

// Shutdown drains the node: it refuses new sessions, closes every session
// with 1001 "Going away" after the frames already queued for it, so that
// clients reconnect (to another node, behind a load balancer), and waits
// until every session has ended or ctx is done; then it closes the
// connections still open and stops following the bus.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.draining = true
	var all []*session
	for _, u := range h.users {
		for _, s := range u.sessions {
			all = append(all, s)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		s.close(CloseGoingAway, "Going away", true)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range all {
			go s.end()
		}
	}
	h.sub.Close()
	<-h.runDone
	return err
}
