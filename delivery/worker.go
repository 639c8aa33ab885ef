// Package delivery hands queued push notifications and streaming records
// to their sinks: Amazon Pinpoint SendMessages or a push webhook, Kinesis
// PutRecords or a stream webhook.
//
// The service writes each delivery to the store's queue in the
// transaction of the change that causes it (service/outbox.go); the
// Worker claims due deliveries with a lease, attempts them concurrently,
// and records the outcome. A failure is retried with exponential backoff
// until the sink accepts it, refuses it for good, or MaxAge passes, so a
// sink that is down delays deliveries but loses none, across restarts and
// kill -9 alike. A send never waits for a sink: it only writes a row.
//
// Of a stream's records for one channel only the oldest undelivered one
// is ever due (store.Delivery.OrderKey), so retries never reorder them.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/internal/claimloop"
	"github.com/belfryhq/belfry/internal/retry"
	"github.com/belfryhq/belfry/store"
)

// Sink delivers one kind of delivery.
type Sink interface {
	// Deliver makes one attempt to deliver d, bounded by ctx. An error
	// whose Permanent method reports true is not retried.
	Deliver(ctx context.Context, d store.Delivery) error
	// Target names where d goes (URL, stream, Pinpoint application) for
	// logs; never a credential.
	Target(d store.Delivery) string
}

// Config configures a Worker.
type Config struct {
	Store store.Store
	// Push and Stream are the sinks; nil marks that kind's deliveries
	// UNSENT (kept for inspection only).
	Push, Stream Sink
	Logger       *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lease is how long a claimed delivery is left alone while it is
	// attempted; 0 means 30s.
	Lease time.Duration
	// RetryBase and RetryMax bound the exponential backoff; 0 means 250ms
	// and 30s.
	RetryBase, RetryMax time.Duration
	// MaxAge is how long a delivery is retried before it is FAILED; 0
	// means 24h.
	MaxAge time.Duration
	// Keep is how many settled deliveries of each kind are kept for
	// inspection; 0 means 1000.
	Keep int
	// Concurrency bounds the attempts in flight; 0 means 16.
	Concurrency int
	// Node names this process among the nodes sharing the store (belfry
	// serve --node-id), recorded as the owner of its leases. It must be
	// unique among live nodes and the same across this node's restarts:
	// a node that starts takes back the leases recorded under its name.
	Node string
}

// Worker runs the delivery queue.
type Worker struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	attempts, failures *prometheus.CounterVec
	depth, oldest      *prometheus.GaugeVec
}

// New returns a Worker; Run starts it.
func New(cfg Config) *Worker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 250 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 1000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{
		cfg: cfg, log: log, wake: make(chan struct{}, 1),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_delivery_attempts_total",
			Help: "Delivery attempts of push notifications and streaming records, by kind (push, stream)."}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_delivery_failures_total",
			Help: "Failed delivery attempts, by kind."}, []string{"kind"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "belfry_delivery_queue_depth",
			Help: "Deliveries waiting to be delivered, by kind."}, []string{"kind"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "belfry_delivery_oldest_pending_age_seconds",
			Help: "Age of the oldest delivery waiting to be delivered, by kind; 0 when none waits."}, []string{"kind"}),
	}
	for _, k := range kinds {
		w.attempts.WithLabelValues(label(k))
		w.failures.WithLabelValues(label(k))
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(w.attempts, w.failures, w.depth, w.oldest)
	}
	return w
}

var kinds = []store.DeliveryKind{store.DeliveryPush, store.DeliveryStream}

func label(k store.DeliveryKind) string {
	if k == store.DeliveryPush {
		return "push"
	}
	return "stream"
}

// Wake tells Run there is work, without waiting; the service calls it
// after committing deliveries.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) sink(k store.DeliveryKind) Sink {
	if k == store.DeliveryPush {
		return w.cfg.Push
	}
	return w.cfg.Stream
}

// Run delivers until ctx ends: at once when woken, and every quarter
// second for retries. It starts by taking back the leases of a previous
// run: in a process that has just started, no attempt of its own can be in
// flight. With nodes sharing the store (store.IsShared) it takes back only
// the leases of its own Node; another node's run out, as that node may
// still be attempting them.
func (w *Worker) Run(ctx context.Context) {
	if err := w.reclaim(ctx); err != nil && ctx.Err() == nil {
		w.log.Error("delivery recovery failed", "err", err)
	}
	var lastGauges, lastPrune time.Time
	claimloop.Loop[store.Delivery]{
		Concurrency: w.cfg.Concurrency,
		Claim:       w.claim,
		Do:          w.attempt,
		Wake:        w.wake,
		Poke:        w.Wake,
		Round: func(ctx context.Context) {
			if now := w.cfg.Now(); now.Sub(lastGauges) >= time.Second {
				lastGauges = now
				w.refreshGauges(ctx)
			}
			if now := w.cfg.Now(); now.Sub(lastPrune) >= 10*time.Second {
				lastPrune = now
				w.prune(ctx)
			}
		},
		ClaimFailed: func(err error) { w.log.Error("delivery dispatch failed", "err", err) },
		DoFailed: func(d store.Delivery, err error) {
			w.log.Error("recording a delivery failed", "id", d.ID, "err", err)
		},
	}.Run(ctx)
}

// RunOnce claims the due deliveries, attempts them and records the
// outcomes, returning when all are done: one round of Run (for tests).
func (w *Worker) RunOnce(ctx context.Context) error {
	ds, err := w.claim(ctx, 64)
	if err != nil {
		return err
	}
	err = claimloop.Each(ctx, ds, w.attempt)
	w.refreshGauges(ctx)
	w.prune(ctx)
	return err
}

// reclaim makes every pending delivery due now: on a shared store, those
// this node leased.
func (w *Worker) reclaim(ctx context.Context) error {
	shared := store.IsShared(w.cfg.Store)
	return w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		now := w.cfg.Now().UTC()
		ds, err := tx.ListDueDeliveries(ctx, now.Add(w.cfg.Lease+w.cfg.RetryMax), 0)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if shared && d.LeaseOwner != w.cfg.Node {
				continue
			}
			if d.NextAttemptAt.After(now) {
				d.NextAttemptAt, d.UpdatedAt = now, now
				if err := tx.UpdateDelivery(ctx, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// claim takes up to limit due deliveries, leasing them so no other round
// attempts them meanwhile. Deliveries of a kind without a sink are
// settled UNSENT on the spot.
func (w *Worker) claim(ctx context.Context, limit int) ([]store.Delivery, error) {
	// Look before taking the write lock: most wake-ups and ticks find
	// nothing due, and sends should not queue behind an empty claim.
	var due bool
	err := w.cfg.Store.View(ctx, func(tx store.ReadTx) error {
		ds, err := tx.ListDueDeliveries(ctx, w.cfg.Now().UTC(), 1)
		due = len(ds) > 0
		return err
	})
	if err != nil || !due {
		return nil, err
	}
	var out []store.Delivery
	err = w.cfg.Store.Update(ctx, func(tx store.Tx) error {
		out = out[:0]
		now := w.cfg.Now().UTC()
		ds, err := tx.ListDueDeliveries(ctx, now, limit)
		if err != nil {
			return err
		}
		for _, d := range ds {
			d.UpdatedAt = now
			if w.sink(d.Kind) == nil {
				d.State, d.NextAttemptAt = store.DeliveryUnsent, now
				// The next of its order key is due now.
				tx.AfterCommit(w.Wake)
			} else {
				d.NextAttemptAt, d.LeaseOwner = now.Add(w.cfg.Lease), w.cfg.Node
				out = append(out, d)
			}
			if err := tx.UpdateDelivery(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// attempt delivers a claimed d and records the outcome.
func (w *Worker) attempt(ctx context.Context, d store.Delivery) error {
	s := w.sink(d.Kind)
	kind := label(d.Kind)
	w.attempts.WithLabelValues(kind).Inc()
	actx, cancel := context.WithTimeout(ctx, w.cfg.Lease)
	err := s.Deliver(actx, d)
	cancel()
	if err != nil && ctx.Err() != nil {
		return nil // shutting down: the lease runs out and the next run retries
	}
	now := w.cfg.Now().UTC()
	d.UpdatedAt = now
	if err == nil {
		d.State, d.LastError, d.NextAttemptAt = store.DeliveryDelivered, "", now
	} else {
		w.failures.WithLabelValues(kind).Inc()
		d.Attempts++
		d.LastError = err.Error()
		switch {
		case retry.IsPermanent(err):
			d.State = store.DeliveryFailed
			w.log.Warn("delivery refused; giving up", "kind", kind, "target", s.Target(d), "id", d.ID, "attempts", d.Attempts, "err", err)
		case now.Sub(d.CreatedAt) >= w.cfg.MaxAge:
			d.State = store.DeliveryFailed
			w.log.Warn("delivery failed for too long; giving up", "kind", kind, "target", s.Target(d), "id", d.ID, "attempts", d.Attempts, "err", err)
		default:
			d.NextAttemptAt = now.Add(w.backoff(d.Attempts))
			w.log.Warn("delivery failed; will retry", "kind", kind, "target", s.Target(d), "id", d.ID, "attempts", d.Attempts,
				"retry_in", d.NextAttemptAt.Sub(now), "err", err)
		}
	}
	return w.cfg.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		cur, err := tx.GetDelivery(ctx, d.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && cur.State != store.DeliveryPending) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.UpdateDelivery(ctx, d)
	})
}

// backoff is the wait after the n-th failed attempt.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < n && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.cfg.RetryMax)
}

// refreshGauges sets the queue gauges from the store.
func (w *Worker) refreshGauges(ctx context.Context) {
	now := w.cfg.Now()
	for _, k := range kinds {
		var st store.DeliveryStats
		err := w.cfg.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			st, err = tx.GetDeliveryStats(ctx, k)
			return err
		})
		if err != nil {
			continue
		}
		w.depth.WithLabelValues(label(k)).Set(float64(st.Pending))
		age := 0.0
		if !st.OldestPending.IsZero() {
			age = max(0, now.Sub(st.OldestPending).Seconds())
		}
		w.oldest.WithLabelValues(label(k)).Set(age)
	}
}

// prune deletes the settled deliveries of each kind beyond Keep.
func (w *Worker) prune(ctx context.Context) {
	for _, k := range kinds {
		err := w.cfg.Store.Update(ctx, func(tx store.Tx) error {
			_, err := tx.PruneDeliveries(ctx, k, w.cfg.Keep)
			return err
		})
		if err != nil && ctx.Err() == nil {
			w.log.Error("pruning deliveries failed", "err", err)
		}
	}
}
