package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// flow returns a channel flow of f's app instance with one processor.
func (f chat) flow(id string) store.ChannelFlow {
	return store.ChannelFlow{
		AppInstanceID: f.app.ID, FlowID: id, Name: "flow " + id,
		Processors: `[{"Name":"p","Configuration":{"Lambda":{"ResourceArn":"arn:aws:lambda:us-east-1:111122223333:function:` + id +
			`","InvocationType":"ASYNC"}},"ExecutionOrder":1,"FallbackAction":"ABORT"}]`,
		CreatedAt: epoch, UpdatedAt: epoch,
	}
}

// job returns an Invoking job of a new message of the channel, due at
// epoch+due, whose callback window closes at epoch+deadline.
func (f chat) job(callbackID, channelID, messageID string, due, deadline time.Duration) store.FlowJob {
	return store.FlowJob{
		CallbackID: callbackID, AppInstanceID: f.app.ID, ChannelID: channelID, MessageID: messageID,
		Message: `{"MessageId":"` + messageID + `","Content":"hi"}`,
		FlowID:  "flow", ProcessorArn: "arn:aws:lambda:us-east-1:111122223333:function:p", Fallback: "CONTINUE",
		State: store.FlowJobInvoking, NextAttemptAt: epoch.Add(due), Deadline: epoch.Add(deadline),
		CreatedAt: epoch, UpdatedAt: epoch,
	}
}

// createFlows stores fs in one Update and returns them with Seq set.
func createFlows(t *testing.T, s store.Store, fs ...store.ChannelFlow) []store.ChannelFlow {
	t.Helper()
	return createAll(t, s, fs, func(tx store.Tx, f store.ChannelFlow) (store.ChannelFlow, error) {
		return tx.CreateChannelFlow(ctx(t), f)
	})
}

// createFlowJobs stores js in one Update.
func createFlowJobs(t *testing.T, s store.Store, js ...store.FlowJob) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, j := range js {
			if err := tx.CreateFlowJob(ctx(t), j); err != nil {
				return err
			}
		}
		return nil
	})
}

// setFlow associates the channel with the flow ("" for none) through
// UpdateChannel, as the service does.
func setFlow(t *testing.T, s store.Store, app, channelID, flowID string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		c, err := tx.GetChannel(ctx(t), app, channelID)
		if err != nil {
			return err
		}
		c.FlowID = flowID
		return tx.UpdateChannel(ctx(t), c)
	})
}

func flowIDs(fs []store.ChannelFlow) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.FlowID)
	}
	return ids
}

func flowSeq(f store.ChannelFlow) int64 { return f.Seq }

func jobIDs(js []store.FlowJob) []string {
	ids := []string{}
	for _, j := range js {
		ids = append(ids, j.CallbackID)
	}
	return ids
}

func testChannelFlowCreateGet(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	second := f.flow("second")
	second.CreatedAt, second.UpdatedAt = epoch.Add(time.Second), epoch.Add(2*time.Second)
	created := createFlows(t, s, f.flow("first"), second, g.flow("first"))
	if created[0].Seq == 0 || created[1].Seq <= created[0].Seq || created[2].Seq <= created[1].Seq {
		t.Errorf("Seq = %d, %d, %d; want increasing from > 0", created[0].Seq, created[1].Seq, created[2].Seq)
	}
	for _, want := range created {
		got := read(t, s, func(tx store.ReadTx) (store.ChannelFlow, error) {
			return tx.GetChannelFlow(ctx(t), want.AppInstanceID, want.FlowID)
		})
		checkEqual(t, "GetChannelFlow "+want.AppInstanceID+" "+want.FlowID, got, want)
	}

	// UpdateChannelFlow sets Name, Processors and UpdatedAt, and nothing
	// else; a2's flow of the same id stays as it was.
	want := created[0]
	want.Name, want.Processors, want.UpdatedAt = "renamed", `[]`, epoch.Add(time.Hour)
	in := want
	in.CreatedAt, in.Seq = epoch.Add(time.Hour), 999
	update(t, s, func(tx store.Tx) error { return tx.UpdateChannelFlow(ctx(t), in) })
	got := read(t, s, func(tx store.ReadTx) (store.ChannelFlow, error) { return tx.GetChannelFlow(ctx(t), "a1", "first") })
	checkEqual(t, "after UpdateChannelFlow", got, want)
	got = read(t, s, func(tx store.ReadTx) (store.ChannelFlow, error) { return tx.GetChannelFlow(ctx(t), "a2", "first") })
	checkEqual(t, "a2's flow after updating a1's", got, created[2])

	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "first") })
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetChannelFlow(ctx(t), "a1", "first")
		wantErr(t, "deleted flow", err, store.ErrNotFound)
		_, err = tx.GetChannelFlow(ctx(t), "a2", "first")
		wantErr(t, "a2's flow of the same id", err, nil)
		return nil
	})
	// The id can be used again, as a new flow.
	again := createFlows(t, s, f.flow("first"))[0]
	if again.Seq <= created[2].Seq {
		t.Errorf("re-created flow: Seq %d, want > %d", again.Seq, created[2].Seq)
	}
}

func testChannelFlowErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createFlows(t, s, f.flow("fl"), g.flow("a2-only"))
	withFlow := func(id, flowID string) store.Channel {
		c := f.channel(id)
		c.FlowID = flowID
		return c
	}
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate flow", func(tx store.Tx) error { _, err := tx.CreateChannelFlow(ctx(t), f.flow("fl")); return err }, store.ErrConflict},
		{"flow of missing app instance", func(tx store.Tx) error {
			fl := f.flow("x")
			fl.AppInstanceID = "nope"
			_, err := tx.CreateChannelFlow(ctx(t), fl)
			return err
		}, store.ErrNotFound},
		{"get missing", func(tx store.Tx) error { _, err := tx.GetChannelFlow(ctx(t), "a1", "missing"); return err }, store.ErrNotFound},
		{"get from another app instance", func(tx store.Tx) error { _, err := tx.GetChannelFlow(ctx(t), "a1", "a2-only"); return err }, store.ErrNotFound},
		{"update missing", func(tx store.Tx) error { return tx.UpdateChannelFlow(ctx(t), f.flow("missing")) }, store.ErrNotFound},
		{"update another app instance's", func(tx store.Tx) error { return tx.UpdateChannelFlow(ctx(t), f.flow("a2-only")) }, store.ErrNotFound},
		{"delete missing", func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "missing") }, store.ErrNotFound},
		{"delete another app instance's", func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "a2-only") }, store.ErrNotFound},
		{"create channel with missing flow", func(tx store.Tx) error {
			_, err := tx.CreateChannel(ctx(t), withFlow("x", "missing"))
			return err
		}, store.ErrNotFound},
		{"create channel with another app instance's flow", func(tx store.Tx) error {
			_, err := tx.CreateChannel(ctx(t), withFlow("x", "a2-only"))
			return err
		}, store.ErrNotFound},
		{"update channel with missing flow", func(tx store.Tx) error {
			return tx.UpdateChannel(ctx(t), withFlow("general", "missing"))
		}, store.ErrNotFound},
		{"update channel with another app instance's flow", func(tx store.Tx) error {
			return tx.UpdateChannel(ctx(t), withFlow("general", "a2-only"))
		}, store.ErrNotFound},
		{"idempotency record of missing flow", func(tx store.Tx) error {
			return tx.PutIdempotencyRecord(ctx(t), store.IdempotencyRecord{Scope: "s", Token: "t", AppInstanceID: "a1", FlowID: "missing", CreatedAt: epoch})
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
	view(t, s, func(tx store.ReadTx) error {
		c, err := tx.GetChannel(ctx(t), "a1", "general")
		if err != nil || c.FlowID != "" {
			t.Errorf("general after the failed writes: FlowID %q, %v; want none", c.FlowID, err)
		}
		if _, err := tx.GetChannel(ctx(t), "a1", "x"); err == nil {
			t.Errorf("channel x exists after the failed creates")
		}
		if n, err := tx.CountChannelFlows(ctx(t), "a1"); n != 1 || err != nil {
			t.Errorf("CountChannelFlows(a1) = %d, %v; want 1", n, err)
		}
		return nil
	})
}

// testChannelFlowList pages through the flows while others are created and
// deleted: no page repeats or skips a flow.
func testChannelFlowList(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	var fs []store.ChannelFlow
	for i := range 5 {
		fs = append(fs, f.flow(fmt.Sprint("f", i)))
	}
	createFlows(t, s, g.flow("f0")) // must not show in a1's list
	createFlows(t, s, fs...)
	pages := 0
	got := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.ChannelFlow, error) {
		return tx.ListChannelFlows(ctx(t), "a1", p)
	}, flowSeq, func() {
		pages++
		if pages == 1 {
			createFlows(t, s, f.flow("late"))
			update(t, s, func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "f0") }) // already listed
		}
	})
	if want := []string{"f0", "f1", "f2", "f3", "f4", "late"}; !slices.Equal(flowIDs(got), want) {
		t.Errorf("pages of a1's flows = %v, want %v", flowIDs(got), want)
	}
	all := read(t, s, func(tx store.ReadTx) ([]store.ChannelFlow, error) {
		return tx.ListChannelFlows(ctx(t), "a1", store.Page{})
	})
	if want := []string{"f1", "f2", "f3", "f4", "late"}; !slices.Equal(flowIDs(all), want) {
		t.Errorf("one page of a1's flows = %v, want %v", flowIDs(all), want)
	} else {
		want := read(t, s, func(tx store.ReadTx) (store.ChannelFlow, error) { return tx.GetChannelFlow(ctx(t), "a1", "f1") })
		checkEqual(t, "listed flow", all[0], want)
	}
	view(t, s, func(tx store.ReadTx) error {
		for app, want := range map[string]int{"a1": 5, "a2": 1, "nope": 0} {
			if n, err := tx.CountChannelFlows(ctx(t), app); n != want || err != nil {
				t.Errorf("CountChannelFlows(%s) = %d, %v; want %d", app, n, err, want)
			}
		}
		return nil
	})
}

// testChannelFlowAssociation checks that a flow cannot be deleted while a
// channel names it, and that the idempotency records it owns go with it.
func testChannelFlowAssociation(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createFlows(t, s, f.flow("fl"), f.flow("other"))
	withFlow := f.channel("with-flow")
	withFlow.FlowID = "fl"
	createChannels(t, s, withFlow, f.channel("doomed"))
	setFlow(t, s, "a1", "general", "fl")
	setFlow(t, s, "a1", "doomed", "fl")
	update(t, s, func(tx store.Tx) error {
		for _, id := range []string{"fl", "other"} {
			// Put twice: the second replaces the first, owner included.
			r := store.IdempotencyRecord{Scope: "CreateChannelFlow " + id, Token: "t", AppInstanceID: "a1", CreatedAt: epoch}
			if err := tx.PutIdempotencyRecord(ctx(t), r); err != nil {
				return err
			}
			r.Result, r.FlowID = id, id
			if err := tx.PutIdempotencyRecord(ctx(t), r); err != nil {
				return err
			}
		}
		return nil
	})
	rec := read(t, s, func(tx store.ReadTx) (store.IdempotencyRecord, error) {
		return tx.GetIdempotencyRecord(ctx(t), "CreateChannelFlow fl", "t")
	})
	if want := (store.IdempotencyRecord{Scope: "CreateChannelFlow fl", Token: "t", Result: "fl", CreatedAt: epoch, AppInstanceID: "a1", FlowID: "fl"}); rec != want {
		t.Errorf("idempotency record = %+v, want %+v", rec, want)
	}

	deleteFlow := func() error {
		return s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "fl") })
	}
	wantErr(t, "delete a flow three channels name", deleteFlow(), store.ErrConflict)
	// Deleting a channel is not refused; nor is disassociating one.
	update(t, s, func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "doomed") })
	setFlow(t, s, "a1", "general", "")
	wantErr(t, "delete a flow one channel names", deleteFlow(), store.ErrConflict)
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetChannelFlow(ctx(t), "a1", "fl")
		wantErr(t, "flow after the refused deletes", err, nil)
		_, err = tx.GetIdempotencyRecord(ctx(t), "CreateChannelFlow fl", "t")
		wantErr(t, "flow's idempotency record after the refused deletes", err, nil)
		return nil
	})
	// Moving the last channel to another flow frees this one.
	setFlow(t, s, "a1", "with-flow", "other")
	wantErr(t, "delete a flow no channel names", deleteFlow(), nil)
	wantErr(t, "delete it again", deleteFlow(), store.ErrNotFound)

	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetChannelFlow(ctx(t), "a1", "fl")
		wantErr(t, "deleted flow", err, store.ErrNotFound)
		_, err = tx.GetIdempotencyRecord(ctx(t), "CreateChannelFlow fl", "t")
		wantErr(t, "deleted flow's idempotency record", err, store.ErrNotFound)
		_, err = tx.GetIdempotencyRecord(ctx(t), "CreateChannelFlow other", "t")
		wantErr(t, "other flow's idempotency record", err, nil)
		for id, flow := range map[string]string{"general": "", "with-flow": "other"} {
			c, err := tx.GetChannel(ctx(t), "a1", id)
			if err != nil || c.FlowID != flow {
				t.Errorf("channel %s: FlowID %q, %v; want %q", id, c.FlowID, err, flow)
			}
		}
		return nil
	})
	// A new flow of the same id starts with no channels.
	createFlows(t, s, f.flow("fl"))
	got := read(t, s, func(tx store.ReadTx) ([]store.Channel, error) {
		return tx.ListChannelsWithFlow(ctx(t), "a1", "fl", store.Page{})
	})
	if len(got) != 0 {
		t.Errorf("channels with the new fl = %v, want none", channelIDs(got))
	}
}

// testChannelsWithFlow pages through a flow's channels while channels are
// associated and disassociated.
func testChannelsWithFlow(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createFlows(t, s, f.flow("fa"), f.flow("fb"), f.flow("empty"), g.flow("fa"))
	var cs []store.Channel
	for i := range 6 {
		c := f.channel(fmt.Sprint("c", i))
		c.FlowID = "fa"
		if i%2 == 1 {
			c.FlowID = "fb"
		}
		cs = append(cs, c)
	}
	other := g.channel("c9") // a2's, with a2's fa
	other.FlowID = "fa"
	createChannels(t, s, append(cs, other)...)

	list := func(flowID string) func(tx store.ReadTx, p store.Page) ([]store.Channel, error) {
		return func(tx store.ReadTx, p store.Page) ([]store.Channel, error) {
			return tx.ListChannelsWithFlow(ctx(t), "a1", flowID, p)
		}
	}
	pages := 0
	got := readPages(t, s, 2, list("fa"), channelSeq, func() {
		pages++
		if pages == 1 { // after c0 and c2
			late := f.channel("late")
			late.FlowID = "fa"
			createChannels(t, s, late)
			setFlow(t, s, "a1", "c4", "")   // not listed yet: it leaves the list
			setFlow(t, s, "a1", "c1", "fa") // behind the cursor: it does not join
		}
	})
	if want := []string{"c0", "c2", "late"}; !slices.Equal(channelIDs(got), want) {
		t.Errorf("pages of fa's channels = %v, want %v", channelIDs(got), want)
	}
	for _, tc := range []struct {
		flow string
		want []string
	}{
		{"fa", []string{"c0", "c1", "c2", "late"}},
		{"fb", []string{"c3", "c5"}},
		{"empty", []string{}},
		{"missing", []string{}},
	} {
		got := readPages(t, s, 1, list(tc.flow), channelSeq, nil)
		if !slices.Equal(channelIDs(got), tc.want) {
			t.Errorf("pages of %s's channels = %v, want %v", tc.flow, channelIDs(got), tc.want)
		}
	}
	all := read(t, s, func(tx store.ReadTx) ([]store.Channel, error) {
		return tx.ListChannelsWithFlow(ctx(t), "a2", "fa", store.Page{})
	})
	if len(all) != 1 {
		t.Fatalf("a2's fa channels = %v, want [c9]", channelIDs(all))
	}
	want := read(t, s, func(tx store.ReadTx) (store.Channel, error) { return tx.GetChannel(ctx(t), "a2", "c9") })
	checkEqual(t, "listed channel", all[0], want)
}

// testFlowDeleteAppInstance deletes an app instance whose channels name its
// flows and have jobs; the other app instance, with the same ids, keeps its
// own.
func testFlowDeleteAppInstance(t *testing.T, s store.Store) {
	fs := []chat{createChat(t, s, "a1"), createChat(t, s, "a2")}
	for _, f := range fs {
		createFlows(t, s, f.flow("fl"), f.flow("unused"))
		c := f.channel("with-flow")
		c.FlowID = "fl"
		createChannels(t, s, c)
		setFlow(t, s, f.app.ID, "general", "fl")
		createFlowJobs(t, s, f.job(f.app.ID+"-j", "general", f.app.ID+"-m", 0, time.Hour))
		update(t, s, func(tx store.Tx) error {
			return tx.PutIdempotencyRecord(ctx(t), store.IdempotencyRecord{Scope: "CreateChannelFlow " + f.app.ID, Token: "t",
				AppInstanceID: f.app.ID, FlowID: "fl", CreatedAt: epoch})
		})
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteAppInstance(ctx(t), "a1") })

	view(t, s, func(tx store.ReadTx) error {
		for i, f := range fs {
			want, wantErrIs := 2, error(nil)
			if i == 0 {
				want, wantErrIs = 0, store.ErrNotFound
			}
			if n, err := tx.CountChannelFlows(ctx(t), f.app.ID); n != want || err != nil {
				t.Errorf("CountChannelFlows(%s) = %d, %v; want %d", f.app.ID, n, err, want)
			}
			cs, err := tx.ListChannelsWithFlow(ctx(t), f.app.ID, "fl", store.Page{})
			if err != nil || len(cs) != want {
				t.Errorf("channels with %s's fl = %v, %v; want %d", f.app.ID, channelIDs(cs), err, want)
			}
			_, err = tx.GetFlowJob(ctx(t), f.app.ID+"-j")
			wantErr(t, f.app.ID+"'s job", err, wantErrIs)
			_, err = tx.GetOpenFlowJobForMessage(ctx(t), f.app.ID, "general", f.app.ID+"-m")
			wantErr(t, f.app.ID+"'s open job", err, wantErrIs)
			_, err = tx.GetIdempotencyRecord(ctx(t), "CreateChannelFlow "+f.app.ID, "t")
			wantErr(t, f.app.ID+"'s flow's idempotency record", err, wantErrIs)
		}
		due, err := tx.ListDueFlowJobs(ctx(t), epoch, 0)
		if err != nil || !slices.Equal(jobIDs(due), []string{"a2-j"}) {
			t.Errorf("ListDueFlowJobs = %v, %v; want a2's only", jobIDs(due), err)
		}
		return nil
	})
	// a1 can be created again, from nothing.
	update(t, s, func(tx store.Tx) error {
		_, err := tx.CreateAppInstance(ctx(t), fs[0].app)
		return err
	})
	createFlows(t, s, fs[0].flow("fl"))
}

func testFlowJobLifecycle(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createFlows(t, s, f.flow("flow"))
	setFlow(t, s, "a1", "general", "flow")

	j1 := f.job("j1", "general", "m1", time.Minute, 48*time.Hour)
	j2 := f.job("j2", "general", "m0", 0, 47*time.Hour)
	j2.Update, j2.Fallback, j2.Attempts = true, "ABORT", 2
	j2.CreatedAt, j2.UpdatedAt = epoch.Add(time.Second), epoch.Add(2*time.Second)
	j3 := g.job("j3", "general", "m3", 2*time.Minute, 49*time.Hour)
	createFlowJobs(t, s, j1, j2, j3)
	for _, want := range []store.FlowJob{j1, j2, j3} {
		got := read(t, s, func(tx store.ReadTx) (store.FlowJob, error) { return tx.GetFlowJob(ctx(t), want.CallbackID) })
		checkEqual(t, "GetFlowJob "+want.CallbackID, got, want)
	}

	due := func(now time.Duration, limit int) []string {
		t.Helper()
		return jobIDs(read(t, s, func(tx store.ReadTx) ([]store.FlowJob, error) {
			return tx.ListDueFlowJobs(ctx(t), epoch.Add(now), limit)
		}))
	}
	for _, tc := range []struct {
		now   time.Duration
		limit int
		want  []string
	}{
		{-time.Millisecond, 10, []string{}},
		{0, 10, []string{"j2"}}, // at or before now
		{time.Minute, 10, []string{"j2", "j1"}},
		{3 * time.Minute, 10, []string{"j2", "j1", "j3"}}, // of any app instance
		{3 * time.Minute, 2, []string{"j2", "j1"}},
		{3 * time.Minute, 0, []string{"j2", "j1", "j3"}}, // no limit
	} {
		if got := due(tc.now, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("ListDueFlowJobs(epoch+%v, %d) = %v, want %v", tc.now, tc.limit, got, tc.want)
		}
	}
	open := func(messageID string) (store.FlowJob, error) {
		var j store.FlowJob
		err := s.View(ctx(t), func(tx store.ReadTx) error {
			var err error
			j, err = tx.GetOpenFlowJobForMessage(ctx(t), "a1", "general", messageID)
			return err
		})
		return j, err
	}
	got, err := open("m1")
	wantErr(t, "open job of m1", err, nil)
	checkEqual(t, "open job of m1", got, j1)

	// Invoked: WAITING is still open, but no longer due. UpdateFlowJob sets
	// the listed fields and nothing else.
	want := j1
	want.State, want.Attempts, want.NextAttemptAt, want.UpdatedAt = store.FlowJobWaiting, 1, epoch.Add(time.Hour), epoch.Add(time.Minute)
	want.LeaseOwner = "node-1:8400"
	in := want
	in.AppInstanceID, in.ChannelID, in.MessageID, in.Update, in.Message = "a2", "other", "m9", true, "{}"
	in.FlowID, in.ProcessorArn, in.Fallback, in.Deadline, in.CreatedAt = "other", "arn:other", "ABORT", epoch, epoch.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.UpdateFlowJob(ctx(t), in) })
	got = read(t, s, func(tx store.ReadTx) (store.FlowJob, error) { return tx.GetFlowJob(ctx(t), "j1") })
	checkEqual(t, "after UpdateFlowJob", got, want)
	if got := due(3*time.Hour, 0); !slices.Equal(got, []string{"j2", "j3"}) {
		t.Errorf("due jobs with j1 waiting = %v, want [j2 j3]", got)
	}
	got, err = open("m1")
	wantErr(t, "open job of m1 while waiting", err, nil)
	checkEqual(t, "open job of m1 while waiting", got, want)

	// The callback finishes it: DONE is kept, but no longer open.
	want.State, want.Outcome, want.Fingerprint, want.UpdatedAt = store.FlowJobDone, "SENT", "digest", epoch.Add(2*time.Minute)
	update(t, s, func(tx store.Tx) error { return tx.UpdateFlowJob(ctx(t), want) })
	got = read(t, s, func(tx store.ReadTx) (store.FlowJob, error) { return tx.GetFlowJob(ctx(t), "j1") })
	checkEqual(t, "done job", got, want)
	_, err = open("m1")
	wantErr(t, "open job of m1 once done", err, store.ErrNotFound)

	// An edit of m1 gets a job of its own, the open one; the done one stays.
	j4 := f.job("j4", "general", "m1", 3*time.Minute, 50*time.Hour)
	j4.Update = true
	createFlowJobs(t, s, j4)
	got, err = open("m1")
	wantErr(t, "open job of the edited m1", err, nil)
	checkEqual(t, "open job of the edited m1", got, j4)

	// Disassociating and deleting the flow leaves the jobs as they are.
	setFlow(t, s, "a1", "general", "")
	update(t, s, func(tx store.Tx) error { return tx.DeleteChannelFlow(ctx(t), "a1", "flow") })
	got = read(t, s, func(tx store.ReadTx) (store.FlowJob, error) { return tx.GetFlowJob(ctx(t), "j4") })
	checkEqual(t, "job after its flow was deleted", got, j4)

	// Jobs are forgotten once their deadline has passed (strictly before
	// t), whatever their state, oldest first.
	deleteBefore := func(at time.Duration, limit int) int {
		t.Helper()
		var n int
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteFlowJobsBefore(ctx(t), epoch.Add(at), limit)
			return err
		})
		return n
	}
	exist := func() []string {
		t.Helper()
		var ids []string
		view(t, s, func(tx store.ReadTx) error {
			for _, id := range []string{"j1", "j2", "j3", "j4"} {
				if _, err := tx.GetFlowJob(ctx(t), id); err == nil {
					ids = append(ids, id)
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		return ids
	}
	for _, tc := range []struct {
		before time.Duration
		limit  int
		n      int
		left   []string
	}{
		{47 * time.Hour, 10, 0, []string{"j1", "j2", "j3", "j4"}},
		{48*time.Hour + time.Millisecond, 1, 1, []string{"j1", "j3", "j4"}}, // j2 first
		{48*time.Hour + time.Millisecond, 0, 1, []string{"j3", "j4"}},       // j1, done
		{100 * time.Hour, 0, 2, nil},
	} {
		if n := deleteBefore(tc.before, tc.limit); n != tc.n {
			t.Errorf("DeleteFlowJobsBefore(epoch+%v, %d) = %d, want %d", tc.before, tc.limit, n, tc.n)
		}
		if got := exist(); !slices.Equal(got, tc.left) {
			t.Errorf("after DeleteFlowJobsBefore(epoch+%v, %d): jobs %v, want %v", tc.before, tc.limit, got, tc.left)
		}
	}
}

func testFlowJobErrors(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	g := createChat(t, s, "a2")
	createChannels(t, s, f.channel("other"))
	createFlowJobs(t, s, f.job("j1", "general", "m1", 0, time.Hour))
	create := func(j store.FlowJob) func(tx store.Tx) error {
		return func(tx store.Tx) error { return tx.CreateFlowJob(ctx(t), j) }
	}
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate callback id", create(f.job("j1", "general", "m2", 0, time.Hour)), store.ErrConflict},
		{"duplicate callback id in another channel", create(f.job("j1", "other", "m2", 0, time.Hour)), store.ErrConflict},
		{"duplicate callback id in another app instance", create(g.job("j1", "general", "m2", 0, time.Hour)), store.ErrConflict},
		{"missing channel", create(f.job("j2", "missing", "m2", 0, time.Hour)), store.ErrNotFound},
		{"missing app instance", create(store.FlowJob{CallbackID: "j3", AppInstanceID: "nope", ChannelID: "general", MessageID: "m3",
			Message: "{}", State: store.FlowJobInvoking, NextAttemptAt: epoch, Deadline: epoch, CreatedAt: epoch, UpdatedAt: epoch}), store.ErrNotFound},
		{"get missing", func(tx store.Tx) error { _, err := tx.GetFlowJob(ctx(t), "j9"); return err }, store.ErrNotFound},
		{"update missing", func(tx store.Tx) error { return tx.UpdateFlowJob(ctx(t), f.job("j9", "general", "m1", 0, time.Hour)) }, store.ErrNotFound},
		{"open job of a message without one", func(tx store.Tx) error {
			_, err := tx.GetOpenFlowJobForMessage(ctx(t), "a1", "general", "m9")
			return err
		}, store.ErrNotFound},
		{"open job in another channel", func(tx store.Tx) error {
			_, err := tx.GetOpenFlowJobForMessage(ctx(t), "a1", "other", "m1")
			return err
		}, store.ErrNotFound},
		{"open job in another app instance", func(tx store.Tx) error {
			_, err := tx.GetOpenFlowJobForMessage(ctx(t), "a2", "general", "m1")
			return err
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, s.Update(ctx(t), tt.fn), tt.want)
	}
	due := read(t, s, func(tx store.ReadTx) ([]store.FlowJob, error) { return tx.ListDueFlowJobs(ctx(t), epoch, 0) })
	if !slices.Equal(jobIDs(due), []string{"j1"}) {
		t.Errorf("jobs after the failed writes: %v, want [j1]", jobIDs(due))
	}
}

// testFlowJobDeleteChannel deletes a channel with jobs: they go with it,
// its sibling keeps its own.
func testFlowJobDeleteChannel(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChannels(t, s, f.channel("doomed"))
	createFlowJobs(t, s,
		f.job("d1", "doomed", "dm1", 0, time.Hour), f.job("d2", "doomed", "dm2", time.Minute, time.Hour),
		f.job("g1", "general", "gm1", 0, time.Hour))
	update(t, s, func(tx store.Tx) error { return tx.DeleteChannel(ctx(t), "a1", "doomed") })
	view(t, s, func(tx store.ReadTx) error {
		for id, want := range map[string]error{"d1": store.ErrNotFound, "d2": store.ErrNotFound, "g1": nil} {
			_, err := tx.GetFlowJob(ctx(t), id)
			wantErr(t, "job "+id, err, want)
		}
		_, err := tx.GetOpenFlowJobForMessage(ctx(t), "a1", "doomed", "dm1")
		wantErr(t, "open job of the deleted channel", err, store.ErrNotFound)
		due, err := tx.ListDueFlowJobs(ctx(t), epoch.Add(time.Hour), 0)
		if err != nil || !slices.Equal(jobIDs(due), []string{"g1"}) {
			t.Errorf("due jobs = %v, %v; want [g1]", jobIDs(due), err)
		}
		return nil
	})
	// A new channel of the same id starts without jobs.
	createChannels(t, s, f.channel("doomed"))
	err := s.View(ctx(t), func(tx store.ReadTx) error {
		_, err := tx.GetOpenFlowJobForMessage(ctx(t), "a1", "doomed", "dm1")
		return err
	})
	wantErr(t, "open job of the new doomed", err, store.ErrNotFound)
}

// testDeleteTakesTags: deleting a channel or a flow deletes its tags,
// which are keyed by ARN, and no other resource's.
func testDeleteTakesTags(t *testing.T, s store.Store) {
	f := createChat(t, s, "a1")
	createChannels(t, s, f.channel("doomed"))
	createFlows(t, s, f.flow("doomed-flow"), f.flow("kept-flow"))
	arns := map[string]bool{ // ARN: deleted
		appArn + "a1/channel/doomed":           true,
		appArn + "a1/channel/general":          false,
		appArn + "a1/channel-flow/doomed-flow": true,
		appArn + "a1/channel-flow/kept-flow":   false,
	}
	update(t, s, func(tx store.Tx) error {
		for arn := range arns {
			if err := tx.PutTags(ctx(t), "a1", arn, []store.Tag{{Key: "k", Value: "v"}}); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteChannel(ctx(t), "a1", "doomed"); err != nil {
			return err
		}
		return tx.DeleteChannelFlow(ctx(t), "a1", "doomed-flow")
	})
	view(t, s, func(tx store.ReadTx) error {
		for arn, deleted := range arns {
			tags, err := tx.ListTags(ctx(t), arn)
			if err != nil || (len(tags) == 0) != deleted {
				t.Errorf("tags of %s = %v, %v; resource deleted: %v", arn, tags, err, deleted)
			}
		}
		return nil
	})
}
