// Package flowjobs runs the channel-flow jobs the service queues: it
// claims due jobs with a lease, invokes each job's processor (package
// flows), and hands the outcome back to the service, whose state machine
// decides what it means (WAITING for the callback, a retry, or the
// FallbackAction).
//
// Jobs are rows in the store, so a restart loses none: Run starts by
// taking back the leases of the previous run.
package flowjobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/belfryhq/belfry/internal/claimloop"
	"github.com/belfryhq/belfry/store"
)

// Invoker delivers a processor event; package flows implements it with
// AWS Lambda and webhooks. An error with a Permanent method reporting true
// stops the retries at once.
type Invoker interface {
	Invoke(ctx context.Context, processorArn string, event []byte) error
}

// Jobs is the flow-job state machine the runner drives; *service.Service
// implements it.
type Jobs interface {
	// FlowProcessorEvent is the event j's processor receives.
	FlowProcessorEvent(j store.FlowJob) ([]byte, error)
	// FlowJobInvoked records the outcome of one invocation of j's
	// processor (nil: accepted).
	FlowJobInvoked(ctx context.Context, callbackID string, invokeErr error) error
}

// Lease is how long a claimed job is left alone while its processor is
// invoked, so the next round does not invoke it twice.
const Lease = 30 * time.Second

// Concurrency bounds the processor invocations in flight, so that a
// processor that hangs holds some of them, never the others' progress.
const Concurrency = 16

// Options configure a Runner.
type Options struct {
	// Now is the clock; nil means time.Now. It must be the service's.
	Now func() time.Time
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Node names this process among the nodes sharing the store (belfry
	// serve --node-id), recorded as the owner of its leases: unique among
	// live nodes, the same across this node's restarts.
	Node string
}

// Runner invokes the processors of pending messages.
type Runner struct {
	st   store.Store
	jobs Jobs
	inv  Invoker
	now  func() time.Time
	log  *slog.Logger
	node string
	wake chan struct{}
}

// New returns a runner of st's flow jobs. A nil inv makes every invocation
// fail permanently, so messages take their processor's FallbackAction.
func New(st store.Store, jobs Jobs, inv Invoker, opts Options) *Runner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{st: st, jobs: jobs, inv: inv, now: opts.Now, log: opts.Logger, node: opts.Node, wake: make(chan struct{}, 1)}
}

// Wake tells Run there is work, without waiting; the service calls it
// after a commit that queued a job.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// clock is the time as jobs keep it.
func (r *Runner) clock() time.Time { return r.now().UTC().Truncate(time.Millisecond) }

// Run invokes the processors of pending messages until ctx ends: at once
// when woken, and every quarter second for retries. Each invocation runs
// on its own, so one slow processor delays no other.
//
// It starts by taking back the jobs a previous run had claimed: in a
// process that has just started, no invocation of its own can be in
// flight. With several nodes sharing the store (store.IsShared), another
// node's invocation may be, so it takes back only the jobs leased under
// its own Node and leaves the others' leases to run out.
func (r *Runner) Run(ctx context.Context) {
	if err := r.Reclaim(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("channel flow recovery failed", "err", err)
	}
	claimloop.Loop[store.FlowJob]{
		Concurrency: Concurrency,
		Claim:       r.Claim,
		Do:          r.runJob,
		Wake:        r.wake,
		Poke:        r.Wake,
		ClaimFailed: func(err error) { r.log.Error("channel flow dispatch failed", "err", err) },
		DoFailed: func(j store.FlowJob, err error) {
			r.log.Error("channel flow processing failed", "callback_id", j.CallbackID, "err", err)
		},
	}.Run(ctx)
}

// Reclaim makes every leased job due now: on a shared store, those leased
// under this runner's Node.
func (r *Runner) Reclaim(ctx context.Context) error {
	shared := store.IsShared(r.st)
	return r.st.Update(ctx, func(tx store.Tx) error {
		now := r.clock()
		jobs, err := tx.ListDueFlowJobs(ctx, now.Add(Lease), 0)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if shared && j.LeaseOwner != r.node {
				continue
			}
			if j.NextAttemptAt.After(now) {
				j.NextAttemptAt, j.UpdatedAt = now, now
				if err := tx.UpdateFlowJob(ctx, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Claim takes up to limit due jobs, leasing them for Lease so no other
// round invokes them meanwhile.
func (r *Runner) Claim(ctx context.Context, limit int) ([]store.FlowJob, error) {
	var jobs []store.FlowJob
	err := r.st.Update(ctx, func(tx store.Tx) error {
		jobs = nil
		now := r.clock()
		var err error
		if jobs, err = tx.ListDueFlowJobs(ctx, now, limit); err != nil {
			return err
		}
		for i := range jobs {
			jobs[i].NextAttemptAt, jobs[i].UpdatedAt, jobs[i].LeaseOwner = now.Add(Lease), now, r.node
			if err := tx.UpdateFlowJob(ctx, jobs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return jobs, err
}

// runJob invokes a claimed job's processor and records the outcome.
func (r *Runner) runJob(ctx context.Context, j store.FlowJob) error {
	ev, err := r.jobs.FlowProcessorEvent(j)
	if err != nil {
		return err
	}
	invokeErr := error(errNoInvoker)
	if r.inv != nil {
		invokeErr = r.inv.Invoke(ctx, j.ProcessorArn, ev)
	}
	return r.jobs.FlowJobInvoked(ctx, j.CallbackID, invokeErr)
}

// Dispatch claims the due jobs and runs them concurrently, returning when
// all are done: one round of Run, synchronous (for tests).
func (r *Runner) Dispatch(ctx context.Context) error {
	jobs, err := r.Claim(ctx, 32)
	if err != nil {
		return err
	}
	return claimloop.Each(ctx, jobs, r.runJob)
}

// errNoInvoker is the invocation error of a server without processors.
var errNoInvoker = permanentError{errors.New("this server has no channel-flow processor invoker configured")}

type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }
