package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/belfryhq/belfry/store"
)

// testOutbox: events appended by committed transactions are listed in
// commit order with increasing Seq (once numbered, for a store that numbers
// them after commit: store.SequenceOutbox); a rolled-back transaction leaves none;
// trimming removes exactly the published prefix, and a Seq is never
// reused after a trim.
func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	appendAll := func(data ...string) int64 {
		t.Helper()
		var last int64
		if err := s.Update(ctx, func(tx store.Tx) error {
			bs := make([][]byte, len(data))
			for i, d := range data {
				bs[i] = []byte(d)
			}
			var err error
			last, err = tx.AppendOutbox(ctx, bs...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return last
	}
	list := func(after int64, limit int) []store.OutboxEvent {
		t.Helper()
		if err := store.SequenceOutbox(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
		var rows []store.OutboxEvent
		if err := s.View(ctx, func(tx store.ReadTx) error {
			var err error
			rows, err = tx.ListOutbox(ctx, after, limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	datas := func(rows []store.OutboxEvent) string {
		var out []string
		for i, r := range rows {
			if i > 0 && r.Seq <= rows[i-1].Seq {
				t.Fatalf("seq %d after %d", r.Seq, rows[i-1].Seq)
			}
			out = append(out, string(r.Data))
		}
		return fmt.Sprint(out)
	}

	appendAll("a", "b")
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendOutbox(ctx, []byte("rolled-back")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	last := appendAll("c")
	all := list(0, 10)
	if got := datas(all); got != "[a b c]" {
		t.Fatalf("outbox %s, want [a b c]", got)
	}
	if _, numbersLater := s.(store.OutboxSequencer); numbersLater {
		if last != 0 {
			t.Fatalf("AppendOutbox returned %d before the events were numbered", last)
		}
	} else if all[2].Seq != last {
		t.Fatalf("AppendOutbox returned %d, row has %d", last, all[2].Seq)
	}
	if got := datas(list(all[0].Seq, 1)); got != "[b]" {
		t.Fatalf("after the first, limit 1: %s", got)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.TrimOutbox(ctx, all[1].Seq) }); err != nil {
		t.Fatal(err)
	}
	if got := datas(list(0, 10)); got != "[c]" {
		t.Fatalf("after trimming two: %s", got)
	}
	last = all[2].Seq
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.TrimOutbox(ctx, last) }); err != nil {
		t.Fatal(err)
	}
	appendAll("d")
	if rows := list(0, 10); len(rows) != 1 || rows[0].Seq <= last {
		t.Fatalf("after trimming all and appending d: %v (last seq was %d): a seq reused", rows, last)
	}
}
