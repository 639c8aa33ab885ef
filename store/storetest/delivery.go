package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

func testStreamingConfigurations(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChat(t, s, "a2")
	cfg := func(app string, dt chime.MessagingDataType, arn string) store.StreamingConfiguration {
		return store.StreamingConfiguration{AppInstanceID: app, DataType: dt, ResourceArn: arn, CreatedAt: epoch}
	}
	list := func(app string) []store.StreamingConfiguration {
		var cs []store.StreamingConfiguration
		view(t, s, func(tx store.ReadTx) error {
			var err error
			cs, err = tx.ListStreamingConfigurations(ctx(t), app)
			return err
		})
		return cs
	}
	if cs := list(f.app.ID); len(cs) != 0 {
		t.Fatalf("new app instance has %v", cs)
	}
	update(t, s, func(tx store.Tx) error {
		return tx.PutStreamingConfigurations(ctx(t), "a1", []store.StreamingConfiguration{cfg("a1", "Channel", "s1"), cfg("a1", "ChannelMessage", "s2")})
	})
	update(t, s, func(tx store.Tx) error {
		return tx.PutStreamingConfigurations(ctx(t), "a2", []store.StreamingConfiguration{cfg("a2", "Channel", "s3")})
	})
	if got := list("a1"); !slices.Equal(got, []store.StreamingConfiguration{cfg("a1", "Channel", "s1"), cfg("a1", "ChannelMessage", "s2")}) {
		t.Errorf("a1: %+v", got)
	}
	// Put replaces the set.
	update(t, s, func(tx store.Tx) error {
		return tx.PutStreamingConfigurations(ctx(t), "a1", []store.StreamingConfiguration{cfg("a1", "ChannelMessage", "s4")})
	})
	if got := list("a1"); !slices.Equal(got, []store.StreamingConfiguration{cfg("a1", "ChannelMessage", "s4")}) {
		t.Errorf("a1 after replace: %+v", got)
	}
	err := s.Update(ctx(t), func(tx store.Tx) error {
		return tx.PutStreamingConfigurations(ctx(t), "nope", []store.StreamingConfiguration{cfg("nope", "Channel", "s")})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("put for a missing app instance: %v", err)
	}
	var n int
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteStreamingConfigurations(ctx(t), "a1")
		return err
	})
	if n != 1 || len(list("a1")) != 0 || len(list("a2")) != 1 {
		t.Errorf("delete: %d deleted, a1 %v, a2 %v", n, list("a1"), list("a2"))
	}
}

// testDeliveryQueue checks due order, the order-key rule, leases and
// pruning.
func testDeliveryQueue(t *testing.T, s store.Store) {
	mk := func(kind store.DeliveryKind, key, body string, due time.Duration) store.Delivery {
		return store.Delivery{Kind: kind, AppInstanceID: "a", ChannelArn: "ch-" + key, OrderKey: key, Body: body,
			State: store.DeliveryPending, NextAttemptAt: epoch.Add(due), CreatedAt: epoch, UpdatedAt: epoch}
	}
	ids := map[string]int64{}
	update(t, s, func(tx store.Tx) error {
		for _, d := range []store.Delivery{
			mk(store.DeliveryStream, "k1", "k1-a", 0), mk(store.DeliveryStream, "k1", "k1-b", 0),
			mk(store.DeliveryStream, "k2", "k2-a", time.Minute), mk(store.DeliveryStream, "k2", "k2-b", 0),
			mk(store.DeliveryPush, "", "p1", 0), mk(store.DeliveryPush, "", "p2", 0),
		} {
			id, err := tx.CreateDelivery(ctx(t), d)
			if err != nil {
				return err
			}
			ids[d.Body] = id
		}
		return nil
	})
	due := func(at time.Duration) []string {
		var out []string
		view(t, s, func(tx store.ReadTx) error {
			ds, err := tx.ListDueDeliveries(ctx(t), epoch.Add(at), 0)
			for _, d := range ds {
				out = append(out, d.Body)
			}
			return err
		})
		return out
	}
	// k2-b waits for k2-a, which is not due yet; k1-b waits for k1-a.
	if got := due(0); !slices.Equal(got, []string{"k1-a", "p1", "p2"}) {
		t.Errorf("due now: %v", got)
	}
	if got := due(time.Minute); !slices.Equal(got, []string{"k1-a", "p1", "p2", "k2-a"}) {
		t.Errorf("due in a minute: %v", got)
	}
	settle := func(body string, state store.DeliveryState) {
		update(t, s, func(tx store.Tx) error {
			d, err := tx.GetDelivery(ctx(t), ids[body])
			if err != nil {
				return err
			}
			d.State, d.Attempts, d.LastError, d.UpdatedAt, d.LeaseOwner = state, 1, "e", epoch.Add(time.Second), "node-1:8400"
			return tx.UpdateDelivery(ctx(t), d)
		})
	}
	settle("k1-a", store.DeliveryDelivered)
	settle("p1", store.DeliveryFailed)
	// k1-b is due once k1-a settled, not before; then in its place among
	// the deliveries queued after it (created at epoch, before p2).
	if got := due(time.Second); !slices.Equal(got, []string{"k1-b", "p2"}) {
		t.Errorf("due after settling k1-a and p1: %v", got)
	}
	view(t, s, func(tx store.ReadTx) error {
		st, err := tx.GetDeliveryStats(ctx(t), store.DeliveryStream)
		if err != nil {
			return err
		}
		if st.Pending != 3 || !st.OldestPending.Equal(epoch) {
			t.Errorf("stream stats %+v", st)
		}
		d, err := tx.GetDelivery(ctx(t), ids["k1-a"])
		if err != nil || d.State != store.DeliveryDelivered || d.Attempts != 1 || d.LastError != "e" || d.LeaseOwner != "node-1:8400" || !d.UpdatedAt.Equal(epoch.Add(time.Second)) {
			t.Errorf("settled delivery %+v, %v", d, err)
		}
		if _, err := tx.GetDelivery(ctx(t), 1<<40); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get missing: %v", err)
		}
		ls, err := tx.ListDeliveries(ctx(t), store.DeliveryFilter{Kind: store.DeliveryStream, ChannelArn: "ch-k2"})
		if err != nil {
			return err
		}
		if len(ls) != 2 || ls[0].Body != "k2-b" || ls[1].Body != "k2-a" {
			t.Errorf("list by channel, newest first: %+v", ls)
		}
		ls, err = tx.ListDeliveries(ctx(t), store.DeliveryFilter{Kind: store.DeliveryPush, AppInstanceID: "other"})
		if err != nil || len(ls) != 0 {
			t.Errorf("list of another app instance: %v %v", ls, err)
		}
		return nil
	})
	if err := s.Update(ctx(t), func(tx store.Tx) error {
		return tx.UpdateDelivery(ctx(t), store.Delivery{ID: 1 << 40})
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}

	// Pruning keeps the pending ones and the newest settled ones.
	update(t, s, func(tx store.Tx) error {
		for i := range 5 {
			d := mk(store.DeliveryPush, "", fmt.Sprint("old", i), 0)
			d.State = store.DeliveryDelivered
			if _, err := tx.CreateDelivery(ctx(t), d); err != nil {
				return err
			}
		}
		return nil
	})
	var pruned int
	update(t, s, func(tx store.Tx) error {
		var err error
		pruned, err = tx.PruneDeliveries(ctx(t), store.DeliveryPush, 2)
		return err
	})
	var bodies []string
	view(t, s, func(tx store.ReadTx) error {
		ds, err := tx.ListDeliveries(ctx(t), store.DeliveryFilter{Kind: store.DeliveryPush})
		for _, d := range ds {
			bodies = append(bodies, d.Body)
		}
		return err
	})
	if pruned != 4 || !slices.Equal(bodies, []string{"old4", "old3", "p2"}) {
		t.Errorf("pruned %d, kept %v", pruned, bodies)
	}
}

// testDeliveryOrderKeyKeepsPlace: a delivery waiting behind the head of
// its order key, made due when the head settles, keeps its place in the
// due order among the deliveries queued after it, rather than going to
// the back of the queue. Sends each queue one streaming record of their
// channel (one order key) and pushes; a worker claiming the due ones
// oldest first, a batch at a time, must not let through one record per
// pass over the whole backlog of pushes.
func testDeliveryOrderKeyKeepsPlace(t *testing.T, s store.Store) {
	const sends, pushesPerSend = 20, 5
	update(t, s, func(tx store.Tx) error {
		for i := range sends {
			at := epoch.Add(time.Duration(i) * time.Millisecond)
			if _, err := tx.CreateDelivery(ctx(t), store.Delivery{Kind: store.DeliveryStream, AppInstanceID: "a", ChannelArn: "ch", OrderKey: "stream ch",
				Body: fmt.Sprint("r", i), State: store.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}); err != nil {
				return err
			}
			for j := range pushesPerSend {
				if _, err := tx.CreateDelivery(ctx(t), store.Delivery{Kind: store.DeliveryPush, AppInstanceID: "a", ChannelArn: "ch",
					Body: fmt.Sprint("p", i, "-", j), State: store.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	// A worker settles what it claims, a batch of 4 at a time, a second
	// after the sends; records must keep pace with the pushes queued beside
	// them: when the pushes of send i go, record i is gone too.
	now := epoch.Add(time.Second)
	var order []string
	for round := 0; ; round++ {
		if round > sends*(pushesPerSend+1) {
			t.Fatalf("queue not drained; delivered %v", order)
		}
		var batch []store.Delivery
		update(t, s, func(tx store.Tx) error {
			var err error
			batch, err = tx.ListDueDeliveries(ctx(t), now, 4)
			return err
		})
		if len(batch) == 0 {
			break
		}
		for _, d := range batch {
			update(t, s, func(tx store.Tx) error {
				d.State, d.UpdatedAt, d.NextAttemptAt = store.DeliveryDelivered, now, now
				return tx.UpdateDelivery(ctx(t), d)
			})
			order = append(order, d.Body)
		}
		now = now.Add(time.Millisecond)
	}
	if len(order) != sends*(pushesPerSend+1) {
		t.Fatalf("delivered %d of %d: %v", len(order), sends*(pushesPerSend+1), order)
	}
	records, pushes := 0, 0
	for i, b := range order {
		if b[0] == 'r' {
			if want := fmt.Sprint("r", records); b != want {
				t.Fatalf("record %d delivered is %s, want %s (records reordered)", records, b, want)
			}
			records++
			continue
		}
		pushes++
		// Before the pushes of send k+1 go, record k must have gone: it
		// was queued before them. Allow one batch of slack for the
		// record that becomes due within the batch.
		var k, j int
		fmt.Sscanf(b, "p%d-%d", &k, &j)
		if records < k {
			t.Fatalf("at delivery %d (%s) only %d records of %d delivered: records starve behind pushes\norder %v", i, b, records, sends, order)
		}
	}
}

// testBeforeCommit: BeforeCommit functions run in the transaction, after
// fn, in order (including ones registered by others), and their error
// rolls everything back.
func testBeforeCommit(t *testing.T, s store.Store) {
	createChat(t, s, "a1")
	var order []string
	put := func(tx store.Tx, arn string) error {
		return tx.PutStreamingConfigurations(ctx(t), "a1", []store.StreamingConfiguration{{AppInstanceID: "a1", DataType: "Channel", ResourceArn: arn, CreatedAt: epoch}})
	}
	update(t, s, func(tx store.Tx) error {
		tx.BeforeCommit(func(context.Context) error {
			order = append(order, "first")
			tx.BeforeCommit(func(context.Context) error { order = append(order, "nested"); return put(tx, "from-nested") })
			return nil
		})
		tx.BeforeCommit(func(context.Context) error { order = append(order, "second"); return nil })
		order = append(order, "fn")
		return put(tx, "from-fn")
	})
	if !slices.Equal(order, []string{"fn", "first", "second", "nested"}) {
		t.Errorf("order %v", order)
	}
	boom := errors.New("boom")
	err := s.Update(ctx(t), func(tx store.Tx) error {
		if err := put(tx, "rolled-back"); err != nil {
			return err
		}
		tx.BeforeCommit(func(context.Context) error { return boom })
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("Update = %v, want the BeforeCommit error", err)
	}
	view(t, s, func(tx store.ReadTx) error {
		cs, err := tx.ListStreamingConfigurations(ctx(t), "a1")
		if err == nil && (len(cs) != 1 || cs[0].ResourceArn != "from-nested") {
			t.Errorf("after the failed update: %+v", cs)
		}
		return err
	})
}

func testPushTargets(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	ep := func(user, id, allow string) store.AppInstanceUserEndpoint {
		return store.AppInstanceUserEndpoint{AppInstanceID: "a1", UserID: user, EndpointID: id, Type: "APNS", ResourceArn: "arn:r",
			DeviceToken: "tok-" + id, AllowMessages: allow, CreatedAt: epoch, UpdatedAt: epoch}
	}
	update(t, s, func(tx store.Tx) error {
		for _, e := range []store.AppInstanceUserEndpoint{ep(f.alice.ID, "a-1", "ALL"), ep(f.alice.ID, "a-2", "NONE"), ep("bob", "b-1", "ALL"), ep("carol", "c-1", "ALL")} {
			if _, err := tx.CreateAppInstanceUserEndpoint(ctx(t), e); err != nil {
				return err
			}
		}
		for _, m := range []store.ChannelMembership{f.member("general", f.alice, "DEFAULT"), f.member("general", f.bob, "HIDDEN"), f.member("general", f.robot, "DEFAULT")} {
			if m.Member == f.bob {
				m.SubChannelID = "sub"
			}
			m.Preferences = "prefs of " + m.Member.ID
			if _, err := tx.CreateChannelMembership(ctx(t), m); err != nil {
				return err
			}
		}
		return nil
	})
	targets := func(sub string, only []string) []string {
		var out []string
		view(t, s, func(tx store.ReadTx) error {
			pts, err := tx.ListChannelPushTargets(ctx(t), "a1", "general", sub, only)
			for _, pt := range pts {
				out = append(out, pt.Endpoint.EndpointID+" "+pt.Preferences)
			}
			return err
		})
		return out
	}
	// carol is no member, a-2 allows no messages, the bot has no endpoints.
	// The fixture's own endpoint of alice comes first (creation order).
	aliceFirst := f.endpoint.EndpointID + " prefs of " + f.alice.ID
	if got := targets("", nil); !slices.Equal(got, []string{aliceFirst, "a-1 prefs of " + f.alice.ID, "b-1 prefs of bob"}) {
		t.Errorf("all: %v", got)
	}
	if got := targets("sub", nil); !slices.Equal(got, []string{"b-1 prefs of bob"}) {
		t.Errorf("sub-channel: %v", got)
	}
	if got := targets("", []string{"bob", "carol"}); !slices.Equal(got, []string{"b-1 prefs of bob"}) {
		t.Errorf("only bob and carol: %v", got)
	}
	if got := targets("", []string{}); len(got) != 0 {
		t.Errorf("only nobody: %v", got)
	}
}
