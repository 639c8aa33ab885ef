package flowjobs

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// jobs records invocations and finishes each invoked job.
type jobs struct {
	st      store.Store
	mu      sync.Mutex
	invoked []string
}

func (j *jobs) FlowProcessorEvent(job store.FlowJob) ([]byte, error) {
	return []byte(job.CallbackID), nil
}

func (j *jobs) FlowJobInvoked(ctx context.Context, callbackID string, _ error) error {
	j.mu.Lock()
	j.invoked = append(j.invoked, callbackID)
	j.mu.Unlock()
	return j.st.Update(ctx, func(tx store.Tx) error {
		job, err := tx.GetFlowJob(ctx, callbackID)
		if err != nil {
			return err
		}
		job.State = store.FlowJobDone
		return tx.UpdateFlowJob(ctx, job)
	})
}

func (j *jobs) got() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Sorted(slices.Values(j.invoked))
}

type okInvoker struct{}

func (okInvoker) Invoke(context.Context, string, []byte) error { return nil }

// seed stores an app instance, a channel and an Invoking job per id, due
// at now.
func seed(t *testing.T, st store.Store, now time.Time, ids ...string) {
	t.Helper()
	err := st.Update(t.Context(), func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(t.Context(), store.AppInstance{ID: "app", Name: "app", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if _, err := tx.CreateChannel(t.Context(), store.Channel{AppInstanceID: "app", ChannelID: "ch", Name: "ch", Mode: "UNRESTRICTED", Privacy: "PUBLIC",
			CreatedByKind: store.MemberUser, CreatedByID: "alice", CreatedByName: "Alice", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.CreateFlowJob(t.Context(), store.FlowJob{CallbackID: id, AppInstanceID: "app", ChannelID: "ch", MessageID: "m-" + id,
				Message: `{}`, FlowID: "flow", ProcessorArn: "arn:aws:lambda:us-east-1:111122223333:function:p", Fallback: "CONTINUE",
				State: store.FlowJobInvoking, NextAttemptAt: now, Deadline: now.Add(48 * time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestartTakesBackOwnLeases: on a shared store a runner that starts
// again under its node name takes back the jobs it had leased at once,
// leaves another node's until their lease runs out, then takes them over.
func TestRestartTakesBackOwnLeases(t *testing.T) {
	u := pgtest.MigratedURL(t)
	open := func() store.Store {
		st := pgtest.Open(t, u)
		return st
	}
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	st := open()
	seed(t, st, clk.Now(), "a1", "b1")
	for _, c := range []struct{ node, job string }{{"a", "a1"}, {"b", "b1"}} {
		r := New(open(), &jobs{st: st}, okInvoker{}, Options{Now: clk.Now, Node: c.node})
		got, err := r.Claim(t.Context(), 1)
		if err != nil || len(got) != 1 || got[0].CallbackID != c.job || got[0].LeaseOwner != c.node {
			t.Fatalf("node %s claimed %+v, %v", c.node, got, err)
		}
	}
	// Both die. a starts again.
	js := &jobs{st: st}
	a := New(open(), js, okInvoker{}, Options{Now: clk.Now, Node: "a"})
	if err := a.Reclaim(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := js.got(); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("restarted node a invoked %v, want [a1]", got)
	}
	clk.Advance(Lease + time.Second)
	if err := a.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := js.got(); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("after b's lease ran out node a invoked %v, want [a1 b1]", got)
	}
}

// TestRestartOnOwnStoreTakesBackEveryLease: one node's own SQLite store
// has no other node, so a restart takes back every lease.
func TestRestartOnOwnStoreTakesBackEveryLease(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	seed(t, st, clk.Now(), "a1", "b1")
	if got, err := New(st, &jobs{st: st}, okInvoker{}, Options{Now: clk.Now, Node: "old-name"}).Claim(t.Context(), 2); err != nil || len(got) != 2 {
		t.Fatalf("claimed %v, %v", got, err)
	}
	js := &jobs{st: st}
	r := New(st, js, okInvoker{}, Options{Now: clk.Now, Node: "new-name"})
	if err := r.Reclaim(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := js.got(); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("after a restart invoked %v, want [a1 b1]", got)
	}
}
