package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// errAbort is returned by test transactions that must roll back.
var errAbort = errors.New("abort")

func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	c := credential(1, alice)
	update(t, s, func(tx store.Tx) error {
		if err := tx.CreateCredential(ctx(t), c); err != nil {
			return err
		}
		got, err := tx.GetCredential(ctx(t), c.AccessKeyID)
		if err != nil {
			return fmt.Errorf("get in the same Update: %w", err)
		}
		checkCredential(t, got, c)
		return nil
	})
}

func testTxRollbackOnError(t *testing.T, s store.Store) {
	before := credential(1, alice)
	createCredentials(t, s, before)

	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{
			name: "fn returns an error",
			fn: func(tx store.Tx) error {
				for _, c := range []store.Credential{credential(2, alice), credential(3, bob)} {
					if err := tx.CreateCredential(ctx(t), c); err != nil {
						return err
					}
				}
				if err := tx.DeleteCredential(ctx(t), before.AccessKeyID); err != nil {
					return err
				}
				return errAbort
			},
			want: errAbort,
		},
		{
			name: "a write fails and fn passes it on",
			fn: func(tx store.Tx) error {
				if err := tx.CreateCredential(ctx(t), credential(4, bob)); err != nil {
					return err
				}
				return tx.CreateCredential(ctx(t), before) // conflict
			},
			want: store.ErrConflict,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Update(ctx(t), tc.fn); !errors.Is(err, tc.want) {
				t.Fatalf("Update = %v, want %v", err, tc.want)
			}
			if got := listCredentials(t, s, store.CredentialFilter{}); !slices.Equal(got, []string{before.AccessKeyID}) {
				t.Errorf("after rollback, credentials = %v, want [%s]", got, before.AccessKeyID)
			}
		})
	}
}

func testTxRollbackOnPanic(t *testing.T, s store.Store) {
	type boom struct{}
	func() {
		defer func() {
			if p := recover(); p != (boom{}) {
				t.Errorf("recovered %v, want the panic from fn to continue", p)
			}
		}()
		_ = s.Update(ctx(t), func(tx store.Tx) error {
			if err := tx.CreateCredential(ctx(t), credential(1, alice)); err != nil {
				return err
			}
			panic(boom{})
		})
		t.Error("Update returned after fn panicked")
	}()

	if got := listCredentials(t, s, store.CredentialFilter{}); len(got) != 0 {
		t.Errorf("after a panic in Update, credentials = %v, want none", got)
	}
	// The panic released whatever Update held: the store still writes.
	createCredentials(t, s, credential(1, alice))
}

func testTxCanceledContext(t *testing.T, s store.Store) {
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()

	err := s.Update(canceled, func(tx store.Tx) error {
		return tx.CreateCredential(canceled, credential(1, alice))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context = %v, want context.Canceled", err)
	}
	err = s.View(canceled, func(tx store.ReadTx) error {
		_, err := tx.ListCredentials(canceled, store.CredentialFilter{})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View with a canceled context = %v, want context.Canceled", err)
	}
	if got := listCredentials(t, s, store.CredentialFilter{}); len(got) != 0 {
		t.Errorf("after a canceled Update, credentials = %v, want none", got)
	}
}

// testTxViewDuringUpdate holds a write transaction open and checks that a
// View neither waits for it nor sees its uncommitted write.
func testTxViewDuringUpdate(t *testing.T, s store.Store) {
	c := credential(1, alice)
	written := make(chan struct{}) // Update has written c, not committed
	release := make(chan struct{}) // let Update commit
	var releaseOnce sync.Once
	letCommit := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letCommit) // if the test fails early, do not leave Update hanging

	updated := make(chan error, 1)
	go func() {
		updated <- s.Update(ctx(t), func(tx store.Tx) error {
			if err := tx.CreateCredential(ctx(t), c); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-updated:
		t.Fatalf("Update: %v", err)
	}

	viewed := make(chan error, 1)
	go func() {
		viewed <- s.View(ctx(t), func(tx store.ReadTx) error {
			_, err := tx.GetCredential(ctx(t), c.AccessKeyID)
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("get of an uncommitted write: error = %v, want ErrNotFound", err)
			}
			return nil
		})
	}()
	// Not a sleep to synchronise, a bound on a deadlock: if View waited for
	// the open Update, nothing would ever release it.
	select {
	case err := <-viewed:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("View waited for an open Update")
	}

	letCommit()
	if err := <-updated; err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := listCredentials(t, s, store.CredentialFilter{}); !slices.Equal(got, []string{c.AccessKeyID}) {
		t.Errorf("after commit, credentials = %v, want [%s]", got, c.AccessKeyID)
	}
}

// testTxConcurrentUpdates creates credentials from many goroutines at once,
// with readers running alongside: every Update must succeed (no engine
// "busy" error reaches the caller) and every write must be kept.
func testTxConcurrentUpdates(t *testing.T, s store.Store) {
	const writers, perWriter, readers, perReader = 32, 16, 4, 32

	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for range perReader {
				err := s.View(ctx(t), func(tx store.ReadTx) error {
					_, err := tx.ListCredentials(ctx(t), store.CredentialFilter{UserArn: alice})
					return err
				})
				if err != nil {
					t.Errorf("View during concurrent Updates: %v", err)
					return
				}
			}
		})
	}

	var want []string
	for w := range writers {
		for i := range perWriter {
			want = append(want, credential(w*perWriter+i, alice).AccessKeyID)
		}
		wg.Go(func() {
			for i := range perWriter {
				c := credential(w*perWriter+i, alice)
				if err := s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateCredential(ctx(t), c) }); err != nil {
					t.Errorf("concurrent Create %s: %v", c.AccessKeyID, err)
				}
			}
		})
	}
	wg.Wait()

	got := listCredentials(t, s, store.CredentialFilter{UserArn: alice})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after %d concurrent creates, listed %d credentials, want all of them", len(want), len(got))
	}
}

// testAfterCommitRuns registers functions in two transactions: they run
// after the commit, not while fn runs, in registration order, and by the
// time Update returns.
func testAfterCommitRuns(t *testing.T, s store.Store) {
	var got []string
	for _, tx := range []string{"first", "second"} {
		var returned bool // fn has returned, so nothing ran inside it
		update(t, s, func(stx store.Tx) error {
			for i := range 3 {
				stx.AfterCommit(func() {
					if !returned {
						t.Errorf("%s tx: function %d ran before fn returned", tx, i)
					}
					got = append(got, fmt.Sprint(tx, i))
				})
			}
			returned = true
			return stx.CreateCredential(ctx(t), credential(len(got), alice))
		})
	}
	if want := []string{"first0", "first1", "first2", "second0", "second1", "second2"}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

// testAfterCommitNotOnRollback: no function of a transaction that does not
// commit runs, whether fn fails, panics, or the context ends first.
func testAfterCommitNotOnRollback(t *testing.T, s store.Store) {
	ran := 0
	register := func(tx store.Tx) error {
		tx.AfterCommit(func() { ran++ })
		return tx.CreateCredential(ctx(t), credential(1, alice))
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"fn fails", func() error {
			return s.Update(ctx(t), func(tx store.Tx) error {
				if err := register(tx); err != nil {
					return err
				}
				return errAbort
			})
		}, errAbort},
		{"a write fails", func() error {
			return s.Update(ctx(t), func(tx store.Tx) error {
				if err := register(tx); err != nil {
					return err
				}
				return register(tx) // the same credential again: conflict
			})
		}, store.ErrConflict},
		{"context canceled before commit", func() error {
			c, cancel := context.WithCancel(ctx(t))
			defer cancel()
			return s.Update(c, func(tx store.Tx) error {
				if err := register(tx); err != nil {
					return err
				}
				cancel()
				return nil
			})
		}, context.Canceled},
		{"fn panics", func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = errAbort
				}
			}()
			return s.Update(ctx(t), func(tx store.Tx) error {
				if err := register(tx); err != nil {
					return err
				}
				panic("boom")
			})
		}, errAbort},
	}
	for _, tc := range tests {
		if err := tc.run(); !errors.Is(err, tc.want) {
			t.Errorf("%s: Update = %v, want %v", tc.name, err, tc.want)
		}
		if ran != 0 {
			t.Errorf("%s: %d functions ran after a rollback", tc.name, ran)
			ran = 0
		}
	}
	if got := listCredentials(t, s, store.CredentialFilter{}); len(got) != 0 {
		t.Errorf("credentials after the rollbacks = %v, want none", got)
	}
	// Functions of a transaction that commits still run afterwards.
	update(t, s, register)
	if ran != 1 {
		t.Errorf("after a commit, %d functions ran, want 1", ran)
	}
}

// testAfterCommitOrder runs concurrent Updates, each registering several
// functions: each transaction's run after its commit, in registration
// order, before its Update returns.
func testAfterCommitOrder(t *testing.T, s store.Store) {
	const writers, perWriter, hooks = 8, 16, 3
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				var ran []int
				err := s.Update(ctx(t), func(tx store.Tx) error {
					ran = ran[:0]
					for k := range hooks {
						tx.AfterCommit(func() {
							runtime.Gosched() // invite another transaction to cut in
							ran = append(ran, k)
						})
					}
					return tx.CreateCredential(ctx(t), credential(w*perWriter+i, alice))
				})
				if err != nil {
					t.Errorf("Update: %v", err)
				}
				if fmt.Sprint(ran) != "[0 1 2]" {
					t.Errorf("functions ran %v by the time Update returned, want [0 1 2]", ran)
				}
			}
		})
	}
	wg.Wait()
}
