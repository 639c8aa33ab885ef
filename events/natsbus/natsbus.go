// Package natsbus is the events bus of a Belfry cluster, on NATS: live
// delivery on NATS core, and a JetStream stream for de-duplication and
// resume.
//
// Every node connects to the same NATS. Committed events are published on
// subjects named after what they address (subject.go): the audience of a
// channel (or sub-channel) event, each user an event names, and one subject
// every node follows for channel deletions. A node subscribes only to the
// audiences its sessions' users are members of and to those users, and
// changes that as memberships change (the real-time hub's Watch and
// Unwatch calls).
//
// Ordering and delivery. Events with an ID (the outbox relay's) are stored
// in a JetStream stream keyed by ID (stream.go), and the stream sends each
// out on its live subjects once stored, in its order. Every relay stores in
// ID order and the stream drops an ID it holds already, so the stream's
// order is ID order (commit order per channel) and each event goes out
// once, however many relays publish. NATS delivers one source's messages to
// a subscriber in order, across subjects, and all of a node's
// subscriptions feed one Go channel from the NATS reader. A node drops
// copies of one event that arrive on several of its subjects (each carries
// a key) and replayed events it had already (dedup.go); the hub drops
// repeated IDs.
//
// Resume. Core NATS keeps nothing for a node that is away. A Subscription
// that reconnects (or was cut off as a slow consumer, or starts following
// an audience or a user) reads the events it may have missed back from the
// stream (Options.Replay) and delivers those it needs, before anything that
// arrived after; see docs/deployment.md for why this rather than
// re-reading the store's outbox.
package natsbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/belfryhq/belfry/events"
)

// Record is one committed event as the outbox relay publishes it.
type Record struct {
	// ID is the event's position in the outbox (events.Event.ID): unique,
	// and increasing in commit order. 0 means the event did not come from
	// the outbox: it is not stored in the stream and cannot be replayed.
	ID    uint64
	Event events.Event
}

// Replayer reads committed events back from the store's outbox.
type Replayer interface {
	// EventsAfter returns up to limit committed events with ID > after,
	// in ID order.
	EventsAfter(ctx context.Context, after uint64, limit int) ([]Record, error)
	// LastID returns the highest ID committed so far (0 when none): where
	// a new Subscription's replays start.
	LastID(ctx context.Context) (uint64, error)
}

// Defaults of Options.
const (
	DefaultPrefix        = "belfry"
	DefaultReplayOverlap = 1024
	DefaultDedupWindow   = 1 << 16
	DefaultFlushTimeout  = 5 * time.Second
	replayPage           = 512
)

// Options configure a Bus.
type Options struct {
	// Prefix starts every subject, so that several Belfry clusters can
	// share one NATS; DefaultPrefix when empty.
	Prefix string
	// Name is the NATS connection name, shown by the server's monitoring.
	Name string
	// Replay reads missed events back; nil reads them from the JetStream
	// stream the Bus keeps (stream.go), or, with NoStream, disables resume
	// (a node that loses its NATS connection misses what was published
	// meanwhile).
	Replay Replayer
	// NoStream publishes on NATS core only, without the stream: for NATS
	// servers without JetStream and for tests.
	NoStream bool
	// Retention is how long the stream keeps events (DefaultRetention when
	// 0): a node away for longer misses what aged out.
	Retention time.Duration
	// Replicas of the stream: 1, or 3 on a NATS cluster so that the
	// stream survives the loss of a NATS server.
	Replicas int
	// ReplayOverlap is how far before the last ID a node saw a resume
	// starts reading, in IDs: the outbox of an engine with concurrent
	// writers (PostgreSQL) may commit an ID after a higher one, so the
	// highest ID seen is not a safe cursor by itself. Duplicates the
	// overlap brings are dropped.
	ReplayOverlap uint64
	// DedupWindow is how many recent event keys a Subscription remembers.
	DedupWindow int
	// FlushTimeout bounds Publish's wait for the server when ctx has no
	// deadline.
	FlushTimeout time.Duration
	// Logger receives connection changes and replay failures.
	Logger *slog.Logger
	// NATS are extra connection options (credentials, TLS, tests).
	NATS []nats.Option
}

// Bus is a NATS connection carrying events. It is safe for concurrent use.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream // nil with NoStream
	opts   Options
	log    *slog.Logger
	origin string // this connection's key prefix for events without an ID
	n      atomic.Uint64

	mu   sync.Mutex
	subs map[*Subscription]struct{}

	// conn ends when the connection drops (connDropped); requests to the
	// server run within it (requestContext).
	connMu   sync.Mutex
	conn     context.Context
	connLost context.CancelCauseFunc
}

// errConnectionLost ends the requests that were in flight when the NATS
// connection dropped.
var errConnectionLost = errors.New("natsbus: connection to NATS lost; request abandoned")

// requestContext bounds a request to the server (the stream's API, through
// a Replayer) by d and by the connection it goes out on. nats.go fails
// the pending requests of a connection that is closed, but not of one that
// drops and reconnects: a request the server took and never answered
// before it went away (restart, failover) would wait out all of d, and the
// Subscription's goroutine, which delivers every event of the node, with
// it; live events would pile up behind it for that long after NATS is
// back. Ended at the drop, the request is retried on the new connection.
func (b *Bus) requestContext(d time.Duration) (context.Context, context.CancelFunc) {
	b.connMu.Lock()
	conn := b.conn
	b.connMu.Unlock()
	return context.WithTimeout(conn, d)
}

// connDropped ends the requests made on the connection that dropped; those
// made from now on belong to the next one. The disconnect callback runs a
// moment after the drop: a request made in between is ended too, and one
// that fails at once (nothing is sent while disconnected) is retried.
func (b *Bus) connDropped() {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	b.connLost(errConnectionLost)
	b.conn, b.connLost = context.WithCancelCause(context.Background())
}

// Connect opens the NATS connection at url (nats://HOST:4222, or a comma
// separated list of cluster members). The connection reconnects forever.
func Connect(url string, opts Options) (*Bus, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.ReplayOverlap == 0 {
		opts.ReplayOverlap = DefaultReplayOverlap
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = DefaultFlushTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var origin [8]byte
	if _, err := rand.Read(origin[:]); err != nil {
		return nil, err
	}
	b := &Bus{opts: opts, log: log, origin: hex.EncodeToString(origin[:]), subs: map[*Subscription]struct{}{}}
	b.conn, b.connLost = context.WithCancelCause(context.Background())
	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// A publish while disconnected fails at once instead of waiting in
		// a buffer: the relay retries it after the reconnect, in order,
		// rather than have a copy it gave up on go out later, perhaps
		// before the stream is back to keep it.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("natsbus: disconnected", "err", err)
			b.connDropped()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsbus: reconnected", "server", nc.ConnectedUrlRedacted())
			b.pokeAll()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			// A full channel drops messages: the subscription resumes
			// from the outbox.
			log.Warn("natsbus: error", "err", err)
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.markGapAll()
			}
		}),
	}
	nc, err := nats.Connect(url, append(nopts, opts.NATS...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect: %w", err)
	}
	b.nc = nc
	if !opts.NoStream {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		js, st, err := openStream(ctx, nc, opts)
		if err != nil {
			nc.Close()
			return nil, err
		}
		b.js = js
		if b.opts.Replay == nil {
			b.opts.Replay = streamReplayer{st}
		}
	}
	return b, nil
}

// ConnectedURL is the server the connection is on, without credentials.
func (b *Bus) ConnectedURL() string { return b.nc.ConnectedUrlRedacted() }

// Connected reports whether the connection is up (for health checks).
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Close closes the connection and every subscription.
func (b *Bus) Close() {
	b.mu.Lock()
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	b.nc.Close()
}

// envelope is the message body. Key names one publish of one event, the
// same on every subject it went to.
type envelope struct {
	ID    uint64       `json:"id,omitempty"`
	Key   string       `json:"key"`
	Event events.Event `json:"event"`
}

// PublishRecords publishes recs, in order.
//
// With the stream, records with an ID (from the outbox) are stored in it,
// keyed by ID, and the stream sends them out on their live subjects, in
// the order it stored them. A record the stream holds already (published
// by another node's relay, or by this one before a crash) is not stored or
// sent again, so an event goes out once however many relays publish it,
// and in one order: each relay stores in ID order, so the stream's order
// is ID order. PublishRecords returns once the stream has acknowledged
// every record, so a relay marks as published only what NATS keeps.
// Records without an ID go out directly and are handed to the connection's
// buffer: nobody would retry them anyway.
func (b *Bus) PublishRecords(ctx context.Context, recs ...Record) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.FlushTimeout)
		defer cancel()
	}
	var acks []jetstream.PubAckFuture
	flush := false
	for i := range recs {
		env := envelope{ID: recs[i].ID, Key: b.origin + "/" + strconv.FormatUint(b.n.Add(1), 10), Event: recs[i].Event}
		data, err := json.Marshal(&env)
		if err != nil {
			return fmt.Errorf("natsbus: encode: %w", err)
		}
		subjs := subjects(b.opts.Prefix, &env.Event)
		if b.js != nil && env.ID != 0 {
			a, err := publishStored(b.js, b.opts.Prefix, env.ID, subjs, data)
			acks = append(acks, a...)
			if err != nil {
				return fmt.Errorf("natsbus: publish: %w", err)
			}
			continue
		}
		// The stream sends the stored records out once it has them: a
		// record that goes out directly waits for them, to keep the order.
		for _, f := range acks {
			if _, err := waitAck(ctx, f); err != nil {
				return fmt.Errorf("natsbus: publish: %w", err)
			}
		}
		acks = nil
		flush = flush || env.ID != 0
		for _, subj := range subjs {
			if err := b.nc.Publish(subj, data); err != nil {
				return fmt.Errorf("natsbus: publish: %w", err)
			}
		}
	}
	for _, f := range acks {
		if _, err := waitAck(ctx, f); err != nil {
			return fmt.Errorf("natsbus: publish: %w", err)
		}
	}
	if flush {
		if err := b.nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("natsbus: flush: %w", err)
		}
	}
	return nil
}

// Publish implements events.Bus: the relay's batch, in outbox order, each
// event with its ID (Record.ID).
func (b *Bus) Publish(ctx context.Context, evs ...events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	recs := make([]Record, len(evs))
	for i := range evs {
		recs[i] = Record{ID: evs[i].ID, Event: evs[i]}
	}
	return b.PublishRecords(ctx, recs...)
}

// Subscribe implements events.Bus. The Subscription receives channel
// deletions at once, and otherwise only what it is told to watch.
func (b *Bus) Subscribe(context.Context) (events.Subscription, error) {
	if b.nc.IsClosed() {
		return nil, events.ErrClosed
	}
	return b.SubscribeScoped(), nil
}

// SubscribeScoped is Subscribe with its concrete type. It returns once
// the server follows channel deletions for the Subscription (or the
// connection is down, and the resume after the reconnect covers it).
func (b *Bus) SubscribeScoped() *Subscription {
	s := newSubscription(b)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	s.mu.Lock()
	if err := s.subscribeLocked(deletedSubject(b.opts.Prefix)); err != nil {
		b.log.Error("natsbus: subscribe", "err", err)
	}
	s.unconfirmed = false
	s.mu.Unlock()
	s.confirm()
	go s.pump()
	return s
}

// Settled reports whether every Subscription's Watch and Unwatch calls
// have taken effect; tests poll it.
func (b *Bus) Settled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if !s.Settled() {
			return false
		}
	}
	return true
}

func (b *Bus) pokeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.pokeNow()
	}
}

func (b *Bus) markGapAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.gap.Store(true)
		s.pokeNow()
	}
}

var _ events.Bus = (*Bus)(nil)
