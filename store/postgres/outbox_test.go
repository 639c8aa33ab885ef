package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/postgres"
)

// TestNodesOutboxCommitOrder: writers on three nodes append to the outbox
// at once while two nodes number the committed events and a reader follows
// them as the relay does, never looking behind its cursor: it must still
// read every event, so no event may become visible with a Seq below one
// already read, and each writer's events come in the order it committed
// them.
func TestNodesOutboxCommitOrder(t *testing.T) {
	u := pgtest.MigratedURL(t)
	var dbs []*postgres.DB
	for range 3 {
		db := pgtest.Open(t, u)
		dbs = append(dbs, db)
	}
	const writers, each = 6, 25
	var appended atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			db := dbs[w%len(dbs)]
			for i := range each {
				err := db.Update(t.Context(), func(tx store.Tx) error {
					_, err := tx.AppendOutbox(t.Context(), []byte(fmt.Sprintf("%d-%d", w, i)))
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				appended.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// Another node numbers at the same time, as every node's relay does.
	numbering := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				numbering <- nil
				return
			default:
			}
			if err := store.SequenceOutbox(t.Context(), dbs[2], 5); err != nil {
				numbering <- err
				return
			}
		}
	}()

	seen := map[string]bool{}
	next := make([]int, writers) // each writer's events follow its commits
	var cursor int64
	// read reads one page, as the relay does, and returns its length.
	read := func() int {
		// The relay numbers what has committed, then reads; any node may
		// number (here the second), and any may read.
		if err := store.SequenceOutbox(t.Context(), dbs[1], 7); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := dbs[0].View(t.Context(), func(tx store.ReadTx) error {
			evs, err := tx.ListOutbox(t.Context(), cursor, 100)
			n = len(evs)
			for _, e := range evs {
				if e.Seq <= cursor {
					t.Errorf("seq %d at or below the cursor %d", e.Seq, cursor)
				}
				cursor = e.Seq
				seen[string(e.Data)] = true
				var w, i int
				if _, err := fmt.Sscanf(string(e.Data), "%d-%d", &w, &i); err != nil {
					t.Fatal(err)
				}
				if i != next[w] {
					t.Errorf("writer %d: event %d numbered after event %d, committed later", w, next[w], i)
				}
				next[w] = i + 1
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		select {
		case <-done:
			if err := <-numbering; err != nil {
				t.Fatal(err)
			}
			// Page through what is left, as the relay does.
			for read() > 0 {
			}
			if len(seen) != writers*each || int(appended.Load()) != writers*each {
				t.Fatalf("the reader saw %d of %d events (%d appended): some committed behind its cursor", len(seen), writers*each, appended.Load())
			}
			return
		default:
			read()
		}
	}
	t.Fatal("writers did not finish")
}
