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
// at once while a reader follows it as the relay does, never looking
// behind its cursor: it must still read every event, so no event may
// become visible with a Seq below one already read.
func TestNodesOutboxCommitOrder(t *testing.T) {
	u := pgtest.MigratedURL(t)
	var dbs []*postgres.DB
	for range 3 {
		db, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
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

	seen := map[string]bool{}
	var cursor int64
	read := func() {
		err := dbs[0].View(t.Context(), func(tx store.ReadTx) error {
			evs, err := tx.ListOutbox(t.Context(), cursor, 100)
			for _, e := range evs {
				if e.Seq <= cursor {
					t.Errorf("seq %d at or below the cursor %d", e.Seq, cursor)
				}
				cursor = e.Seq
				seen[string(e.Data)] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		select {
		case <-done:
			read()
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
