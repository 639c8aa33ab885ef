package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// One batch of Updates, some failing before they write, some after, one
// panicking, one cancelled while it runs: each failure undoes exactly its
// own writes, the others commit, and AfterCommit runs once per committed
// Update in commit order, however often the batch ran its fns.
func TestBatchUndoesOnlyTheFailedUpdates(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	cred := func(id string) store.Credential {
		return store.Credential{AccessKeyID: id, SecretAccessKey: "s", UserArn: "arn:" + id, CreatedAt: time.UnixMilli(1)}
	}
	errRefused := errors.New("refused")
	cancelled, cancel := context.WithCancel(ctx)

	var mu sync.Mutex
	var hooks []string
	type update struct {
		name string
		ctx  context.Context
		fn   func(tx store.Tx) error
		want error // nil, errRefused, context.Canceled; "panic" below
	}
	create := func(name string, then func() error) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			if err := tx.CreateCredential(ctx, cred(name)); err != nil {
				return err
			}
			tx.AfterCommit(func() { mu.Lock(); hooks = append(hooks, name); mu.Unlock() })
			return then()
		}
	}
	ok := func() error { return nil }
	updates := []update{
		{"a", ctx, create("a", ok), nil},
		{"refused-before-writing", ctx, func(tx store.Tx) error {
			if _, err := tx.GetCredential(ctx, "a"); err != nil {
				return err
			}
			return errRefused
		}, errRefused},
		{"b", ctx, create("b", ok), nil},
		{"refused-after-writing", ctx, create("refused-after-writing", func() error { return errRefused }), errRefused},
		{"duplicate", ctx, create("a", ok), store.ErrConflict},
		{"cancelled-while-running", cancelled, create("cancelled-while-running", func() error { cancel(); return nil }), context.Canceled},
		{"panics", ctx, create("panics", func() error { panic("boom") }), nil},
		{"c", ctx, create("c", ok), nil},
	}

	// Hold the writer, queue every update behind it in order, release: the
	// loop takes them as one batch.
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(ctx, func(tx store.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	errs := make([]error, len(updates))
	panics := make([]any, len(updates))
	var wg sync.WaitGroup
	for i, u := range updates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = db.Update(u.ctx, u.fn)
		}()
		for db.Stats().Updates < int64(i+2) {
			runtime.Gosched()
		}
	}
	close(release)
	wg.Wait()

	for i, u := range updates {
		if u.name == "panics" {
			if panics[i] != "boom" {
				t.Errorf("%s: panic %v, want boom", u.name, panics[i])
			}
			continue
		}
		if !errors.Is(errs[i], u.want) || panics[i] != nil {
			t.Errorf("%s: err %v (panic %v), want %v", u.name, errs[i], panics[i], u.want)
		}
	}
	for _, id := range []string{"a", "b", "c", "refused-after-writing", "cancelled-while-running", "panics"} {
		err := db.View(ctx, func(tx store.ReadTx) error { _, err := tx.GetCredential(ctx, id); return err })
		kept := id == "a" || id == "b" || id == "c"
		if kept && err != nil || !kept && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("credential %s: %v (kept: %v)", id, err, kept)
		}
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(hooks, want) {
		t.Errorf("AfterCommit ran %v, want %v", hooks, want)
	}
	if s := db.Stats(); s.Batches != 2 {
		t.Errorf("%d batches committed, want 2 (the holder's, then all the others')", s.Batches)
	}
}
