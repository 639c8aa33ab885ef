// Package relay publishes the transactional outbox on the event bus.
//
// The service writes the events of a change into the store's outbox in
// the transaction that commits the change (store.OutboxWriter), and wakes
// the relay after the commit. The relay reads the outbox in commit order,
// publishes each event with its outbox sequence as events.Event.ID, and
// trims what it published a little later. A crash between the commit and
// the publish loses nothing: the rows are still there, and the relay of
// the restarted node publishes them. Delivery is therefore at least once
// (a crash after a publish but before the trim publishes again); receivers
// drop duplicates by ID.
//
// One relay runs per store. It keeps no state a restart needs: its cursor
// starts at the oldest row left.
//
// Reading back what was just written costs about as much as the rest of
// the relay's work (a read snapshot, the rows, decoding them: some 4 % of
// the CPU of a send, issue 15). So the service also hands each commit's
// events to the relay (Committed), and when those cover everything
// committed after the cursor, Run publishes them from memory; at any gap
// (an event it was not handed, after a restart, on a shared store) it
// reads the outbox. The outbox stays the only record: what is handed over
// is exactly what committed, under the Seq it committed with, and it is
// trimmed from the outbox as what was read is.
//
// On a store that several nodes share (store.IsShared), every node runs a
// relay and each publishes every committed event, whichever node wrote it,
// on its own bus: that is how a message sent through one node reaches the
// messaging sessions of the others. A relay then also polls the outbox
// (SharedPoll), since the other nodes' commits do not wake it, and trims
// only what it published SharedRetention ago, which every node's relay
// has read by then.
package relay

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Defaults of Options.
const (
	DefaultBatch        = 512
	DefaultTrimInterval = 100 * time.Millisecond
	DefaultRetry        = 100 * time.Millisecond
	DefaultPace         = 4 * time.Millisecond
	// SharedPoll is how often a relay on a shared store reads the
	// outbox for the events other nodes committed.
	SharedPoll = 50 * time.Millisecond
	// SharedRetention is how long a relay on a shared store keeps
	// published events for the other nodes' relays.
	SharedRetention = time.Minute
)

// Options configure a Relay; the zero value uses the defaults.
type Options struct {
	// Batch is how many events one read of the outbox takes.
	Batch int
	// TrimInterval is how long published events stay in the outbox
	// before they are removed: trimming many at once costs one write
	// instead of one per commit. A crash republishes at most this much.
	TrimInterval time.Duration
	// Retry is the pause after a failed read or publish.
	Retry time.Duration
	// Pace is the least time between the starts of two reads of the
	// outbox that Wake calls ask for. Each read costs about as much for one
	// event as for dozens: a fresh read snapshot, whose page cache starts
	// empty after every commit, and the B-tree pages that lead to the new
	// rows. Under a steady load of sends, commits come every millisecond
	// or two and a read after each found a dozen events; pacing the reads
	// lets each take several commits' events, at the cost of at most Pace
	// more latency, and only under such a load: the first event after a
	// quiet moment is read at once.
	Pace time.Duration
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Registerer receives the relay's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Relay publishes the outbox on a bus.
type Relay struct {
	st   store.Store
	bus  events.Bus
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu        sync.Mutex // one pass at a time (Run and Flush)
	published int64      // the last Seq published
	trimmed   int64      // the last Seq trimmed

	// handed is what Committed was told, under its own lock: a commit's
	// hook must not wait for a publish. read asks Run to read the outbox
	// on its next pass (Wake, Run's start, a failed pass).
	handed handoff
	read   atomic.Bool

	// shared: other nodes read the outbox too (see the package doc);
	// marks are (time, published) pairs, oldest first, for its trims.
	shared bool
	marks  []mark

	// stalledSince is when the relay first failed to publish events it
	// had read and has not published since, in Unix nanoseconds (0 while
	// it keeps up); atomic, as a publish may hold mu for long.
	stalledSince atomic.Int64
	failures     prometheus.Counter
	publishedSeq prometheus.Gauge
}

// mark records that everything up to seq was published at at.
type mark struct {
	at  time.Time
	seq int64
}

// New returns a relay from st's outbox to bus.
func New(st store.Store, bus events.Bus, opts Options) *Relay {
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.TrimInterval <= 0 {
		opts.TrimInterval = DefaultTrimInterval
	}
	if opts.Retry <= 0 {
		opts.Retry = DefaultRetry
	}
	if opts.Pace <= 0 {
		opts.Pace = DefaultPace
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{st: st, bus: bus, opts: opts, log: log, wake: make(chan struct{}, 1), shared: store.IsShared(st),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_outbox_publish_failures_total",
			Help: "Attempts of this node's outbox relay to publish committed events on the bus that failed (each is retried)."}),
		publishedSeq: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belfry_outbox_published_seq",
			Help: "The outbox sequence number (event ID) up to which this node's relay has published; its rate is the cluster's event rate."}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.failures, r.publishedSeq, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "belfry_outbox_stalled_seconds",
			Help: "How long committed events this node's relay has read have waited for the bus to take them; 0 while it keeps up."},
			r.stalledFor))
	}
	return r
}

// stalledFor is how long the relay has been failing to publish.
func (r *Relay) stalledFor() float64 {
	since := r.stalledSince.Load()
	if since == 0 {
		return 0
	}
	return time.Since(time.Unix(0, since)).Seconds()
}

// Wake tells Run that events were committed: Run reads the outbox. It
// never blocks.
func (r *Relay) Wake() {
	r.read.Store(true)
	r.signal()
}

func (r *Relay) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Committed is Wake with the events a commit wrote to the outbox, in
// order, and the Seq AppendOutbox returned for the last of them (0 if the
// store numbers events after they commit): the service calls it after
// every commit that wrote events, in commit order. Run publishes such
// events without reading them back when nothing else committed since
// what it last published. It never blocks, and keeps only a bounded
// number of events (maxHanded); evs must not change afterwards.
func (r *Relay) Committed(last int64, evs []events.Event) {
	if last <= 0 || r.shared {
		r.Wake()
		return
	}
	r.handed.add(last, evs)
	r.signal()
}

// maxHanded bounds the events Committed keeps for Run: about a second of
// sends at full load. Past it (a relay that cannot publish), the events
// are read from the outbox when the relay catches up.
const maxHanded = 8192

// handoff is the run of committed events handed to the relay, with
// consecutive Seqs (their IDs), and the newest Seq it was told of.
type handoff struct {
	mu     sync.Mutex
	evs    []events.Event
	latest int64
}

// add records a commit's events whose last has Seq last. Only a commit
// of one event is kept: its Seq is known exactly. One of several events
// (AppendOutbox returns the last Seq only), or one that does not follow
// the run, leaves a gap that the next read of the outbox fills.
func (h *handoff) add(last int64, evs []events.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest = max(h.latest, last)
	n := len(h.evs)
	switch {
	case len(evs) != 1 || n >= maxHanded:
		return
	case n > 0 && h.evs[n-1].ID != uint64(last-1):
		h.evs = nil // a gap: what came before it is read from the outbox
	}
	e := evs[0]
	e.ID = uint64(last)
	h.evs = append(h.evs, e)
}

// take returns the handed events after published, and true if they are
// all that was committed after it (consecutive from published+1 to the
// newest Seq the relay was told of; none if it was told of nothing newer),
// and forgets what it had.
func (h *handoff) take(published int64) ([]events.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.evs
	h.evs = nil
	for len(evs) > 0 && evs[0].ID <= uint64(published) {
		evs = evs[1:]
	}
	switch {
	case h.latest <= published:
		return nil, true
	case len(evs) == 0 || evs[0].ID != uint64(published+1) || evs[len(evs)-1].ID != uint64(h.latest):
		return nil, false
	}
	return evs, true
}

// Run publishes the outbox until ctx is done: what is there at start
// (left by a crash), then whatever each Committed or Wake announces,
// from memory when Committed handed over all of it. Published events are
// trimmed at most every TrimInterval, and once more on the way out.
func (r *Relay) Run(ctx context.Context) error {
	trim := time.NewTimer(time.Hour)
	trim.Stop()
	trimArmed := false
	var poll <-chan time.Time
	if r.shared {
		t := time.NewTicker(SharedPoll)
		defer t.Stop()
		poll = t.C
	}
	defer func() {
		// A last trim, so a clean stop republishes nothing.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := r.trim(tctx); err != nil {
			r.log.Warn("relay: trim", "err", err)
		}
	}()
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	var lastRead time.Time
	// The first pass reads what a previous run left, and a failed one
	// reads again; on a shared store, other nodes commit events this one
	// is not handed.
	r.read.Store(true)
	for {
		lastRead = time.Now()
		var err error
		if r.shared || r.read.Swap(false) || !r.publishHanded(ctx) {
			err = r.Flush(ctx)
		}
		if err != nil {
			r.read.Store(true)
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error("relay: publish", "err", err)
			select {
			case <-time.After(r.opts.Retry):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		if !trimArmed && r.untrimmed() {
			trim.Reset(r.opts.TrimInterval)
			trimArmed = true
		}
		select {
		case <-r.wake:
			if wait := r.opts.Pace - time.Since(lastRead); wait > 0 {
				pace.Reset(wait)
				select {
				case <-pace.C:
				case <-ctx.Done():
					pace.Stop()
					return nil
				}
				// The read below takes what the wakes of the pause
				// announced: they were sent after their commits.
				select {
				case <-r.wake:
				default:
				}
			}
		case <-poll:
		case <-trim.C:
			trimArmed = false
			if err := r.trim(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("relay: trim", "err", err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Flush publishes every event committed before it was called. Run calls
// it on each wake; tests call it to publish synchronously.
func (r *Relay) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := store.SequenceOutbox(ctx, r.st, r.opts.Batch); err != nil {
		return fmt.Errorf("relay: number outbox: %w", err)
	}
	for {
		var rows []store.OutboxEvent
		err := r.st.View(ctx, func(tx store.ReadTx) error {
			var err error
			rows, err = tx.ListOutbox(ctx, r.published, r.opts.Batch)
			return err
		})
		if err != nil {
			return fmt.Errorf("relay: read outbox: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		evs := make([]events.Event, 0, len(rows))
		for _, row := range rows {
			e, err := events.Decode(row.Data)
			if err != nil {
				// A row no version could have written; publishing the
				// rest matters more than stopping on it.
				r.log.Error("relay: undecodable event skipped", "seq", row.Seq, "err", err)
				continue
			}
			e.ID = uint64(row.Seq)
			evs = append(evs, e)
		}
		if err := r.publish(ctx, evs, rows[len(rows)-1].Seq); err != nil {
			return err
		}
		if len(rows) < r.opts.Batch {
			return nil
		}
	}
}

// publishHanded publishes the events handed by Committed if they are
// everything committed after what was published, and reports whether it
// did; when not, or when the bus refuses them, Flush reads the outbox.
func (r *Relay) publishHanded(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs, ok := r.handed.take(r.published)
	if !ok || len(evs) == 0 {
		return ok
	}
	return r.publish(ctx, evs, int64(evs[len(evs)-1].ID)) == nil
}

// publish publishes evs, read or handed, and moves the cursor to last;
// r.mu is held.
func (r *Relay) publish(ctx context.Context, evs []events.Event, last int64) error {
	if err := r.bus.Publish(ctx, evs...); err != nil {
		if ctx.Err() == nil {
			r.failures.Inc()
			r.stalledSince.CompareAndSwap(0, time.Now().UnixNano())
		}
		return err
	}
	r.stalledSince.Store(0)
	r.published = last
	r.publishedSeq.Set(float64(r.published))
	if r.shared {
		r.marks = append(r.marks, mark{at: time.Now(), seq: r.published})
	}
	return nil
}

func (r *Relay) untrimmed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published > r.trimmed
}

// trim removes the published events from the outbox.
func (r *Relay) trim(ctx context.Context) error {
	r.mu.Lock()
	upTo := r.published
	if r.shared {
		// Only what was published SharedRetention ago.
		upTo = 0
		cutoff := time.Now().Add(-SharedRetention)
		for len(r.marks) > 0 && r.marks[0].at.Before(cutoff) {
			upTo = r.marks[0].seq
			r.marks = r.marks[1:]
		}
	}
	done := upTo <= r.trimmed
	r.mu.Unlock()
	if done {
		return nil
	}
	if err := r.st.Update(ctx, func(tx store.Tx) error { return tx.TrimOutbox(ctx, upTo) }); err != nil {
		return err
	}
	r.mu.Lock()
	r.trimmed = max(r.trimmed, upTo)
	r.mu.Unlock()
	return nil
}
