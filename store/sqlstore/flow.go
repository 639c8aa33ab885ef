package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

const channelFlowColumns = `seq, app_instance_id, flow_id, name, processors, created_at, updated_at`

func scanChannelFlow(r scanner) (store.ChannelFlow, error) {
	var f store.ChannelFlow
	var created, updated int64
	err := r.Scan(&f.Seq, &f.AppInstanceID, &f.FlowID, &f.Name, &f.Processors, &created, &updated)
	f.CreatedAt, f.UpdatedAt = fromMS(created), fromMS(updated)
	return f, err
}

// Queries of the flow lists, named for the query plan test.
const (
	listChannelFlowsQuery = `SELECT ` + channelFlowColumns + ` FROM channel_flows
		WHERE app_instance_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	listChannelsWithFlowQuery = `SELECT ` + channelColumns + ` FROM channels c
		WHERE c.app_instance_id = ? AND c.flow_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`
)

// GetChannelFlow implements store.ChannelFlowReader.
func (t ReadTx) GetChannelFlow(ctx context.Context, appInstanceID, flowID string) (store.ChannelFlow, error) {
	return getOne(ctx, t, "channel flow "+flowID, scanChannelFlow,
		`SELECT `+channelFlowColumns+` FROM channel_flows WHERE app_instance_id = ? AND flow_id = ?`, appInstanceID, flowID)
}

// ListChannelFlows implements store.ChannelFlowReader.
func (t ReadTx) ListChannelFlows(ctx context.Context, appInstanceID string, p store.Page) ([]store.ChannelFlow, error) {
	return list(ctx, t, "channel flows", scanChannelFlow, listChannelFlowsQuery, appInstanceID, p.After, t.d.limit(p))
}

// CountChannelFlows implements store.ChannelFlowReader.
func (t ReadTx) CountChannelFlows(ctx context.Context, appInstanceID string) (int, error) {
	return t.count(ctx, "channel flows", `SELECT COUNT(*) FROM channel_flows WHERE app_instance_id = ?`, appInstanceID)
}

// ListChannelsWithFlow implements store.ChannelFlowReader.
func (t ReadTx) ListChannelsWithFlow(ctx context.Context, appInstanceID, flowID string, p store.Page) ([]store.Channel, error) {
	return list(ctx, t, "channels with flow "+flowID, scanChannel, listChannelsWithFlowQuery, appInstanceID, flowID, p.After, t.d.limit(p))
}

// CreateChannelFlow implements store.ChannelFlowWriter.
func (t Tx) CreateChannelFlow(ctx context.Context, f store.ChannelFlow) (store.ChannelFlow, error) {
	err := t.queryRow(ctx, `INSERT INTO channel_flows (app_instance_id, flow_id, name, processors, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		f.AppInstanceID, f.FlowID, f.Name, f.Processors, ms(f.CreatedAt), ms(f.UpdatedAt)).Scan(&f.Seq)
	if err != nil {
		return f, fmt.Errorf("%s: create channel flow %s: %w", t.d.Name, f.FlowID, t.d.Translate(err))
	}
	return f, nil
}

// UpdateChannelFlow implements store.ChannelFlowWriter.
func (t Tx) UpdateChannelFlow(ctx context.Context, f store.ChannelFlow) error {
	return t.execOne(ctx, "update channel flow "+f.FlowID,
		`UPDATE channel_flows SET name = ?, processors = ?, updated_at = ? WHERE app_instance_id = ? AND flow_id = ?`,
		f.Name, f.Processors, ms(f.UpdatedAt), f.AppInstanceID, f.FlowID)
}

// DeleteChannelFlow implements store.ChannelFlowWriter. The channels'
// foreign key to their flow refuses the delete while one names it; the
// schema's cascading foreign keys delete the idempotency records the flow
// owns.
func (t Tx) DeleteChannelFlow(ctx context.Context, appInstanceID, flowID string) error {
	what := "delete channel flow " + flowID
	res, err := t.exec(ctx, `DELETE FROM channel_flows WHERE app_instance_id = ? AND flow_id = ?`, appInstanceID, flowID)
	// Translate reports a foreign key violation, and only that, as
	// ErrNotFound.
	if err != nil && errors.Is(t.d.Translate(err), store.ErrNotFound) {
		// The only key that refuses, rather than cascades, a flow's delete.
		return fmt.Errorf("%s: %s: channels are associated with it: %w", t.d.Name, what, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", t.d.Name, what, t.d.Translate(err))
	}
	if err := t.oneRow(what, res); err != nil {
		return err
	}
	return t.deleteTagsOf(ctx, appInstanceID, "channel-flow", flowID)
}

const flowJobColumns = `callback_id, app_instance_id, channel_id, message_id, is_update, message, flow_id, processor_arn, fallback,
	state, attempts, next_attempt_at, deadline, outcome, fingerprint, lease_owner, created_at, updated_at`

func scanFlowJob(r scanner) (store.FlowJob, error) {
	var (
		j                                store.FlowJob
		next, deadline, created, updated int64
	)
	err := r.Scan(&j.CallbackID, &j.AppInstanceID, &j.ChannelID, &j.MessageID, &j.Update, &j.Message, &j.FlowID, &j.ProcessorArn, &j.Fallback,
		&j.State, &j.Attempts, &next, &deadline, &j.Outcome, &j.Fingerprint, &j.LeaseOwner, &created, &updated)
	j.NextAttemptAt, j.Deadline, j.CreatedAt, j.UpdatedAt = fromMS(next), fromMS(deadline), fromMS(created), fromMS(updated)
	return j, err
}

// Queries of the flow jobs, named for the query plan test.
const (
	getOpenFlowJobQuery = `SELECT ` + flowJobColumns + ` FROM flow_jobs
		WHERE app_instance_id = ? AND channel_id = ? AND message_id = ? AND state <> 'DONE'`
	listDueFlowJobsQuery = `SELECT ` + flowJobColumns + ` FROM flow_jobs
		WHERE state = 'INVOKING' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`
)

// GetFlowJob implements store.FlowJobReader.
func (t ReadTx) GetFlowJob(ctx context.Context, callbackID string) (store.FlowJob, error) {
	return getOne(ctx, t, "flow job "+callbackID, scanFlowJob,
		`SELECT `+flowJobColumns+` FROM flow_jobs WHERE callback_id = ?`, callbackID)
}

// GetOpenFlowJobForMessage implements store.FlowJobReader.
func (t ReadTx) GetOpenFlowJobForMessage(ctx context.Context, appInstanceID, channelID, messageID string) (store.FlowJob, error) {
	return getOne(ctx, t, "open flow job of message "+messageID, scanFlowJob, getOpenFlowJobQuery, appInstanceID, channelID, messageID)
}

// ListDueFlowJobs implements store.FlowJobReader. A limit of 0 or less
// lists every due job.
func (t ReadTx) ListDueFlowJobs(ctx context.Context, now time.Time, limit int) ([]store.FlowJob, error) {
	return list(ctx, t, "due flow jobs", scanFlowJob, listDueFlowJobsQuery, ms(now), t.d.limit(store.Page{Limit: limit}))
}

// CreateFlowJob implements store.FlowJobWriter.
func (t Tx) CreateFlowJob(ctx context.Context, j store.FlowJob) error {
	_, err := t.exec(ctx, `INSERT INTO flow_jobs
		(callback_id, app_instance_id, channel_id, message_id, is_update, message, flow_id, processor_arn, fallback,
		 state, attempts, next_attempt_at, deadline, outcome, fingerprint, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.CallbackID, j.AppInstanceID, j.ChannelID, j.MessageID, j.Update, j.Message, j.FlowID, j.ProcessorArn, j.Fallback,
		string(j.State), j.Attempts, ms(j.NextAttemptAt), ms(j.Deadline), j.Outcome, j.Fingerprint, ms(j.CreatedAt), ms(j.UpdatedAt))
	if err != nil {
		return fmt.Errorf("%s: create flow job %s: %w", t.d.Name, j.CallbackID, t.d.Translate(err))
	}
	return nil
}

// UpdateFlowJob implements store.FlowJobWriter.
func (t Tx) UpdateFlowJob(ctx context.Context, j store.FlowJob) error {
	return t.execOne(ctx, "update flow job "+j.CallbackID, `UPDATE flow_jobs
		SET state = ?, attempts = ?, next_attempt_at = ?, outcome = ?, fingerprint = ?, lease_owner = ?, updated_at = ?
		WHERE callback_id = ?`,
		string(j.State), j.Attempts, ms(j.NextAttemptAt), j.Outcome, j.Fingerprint, j.LeaseOwner, ms(j.UpdatedAt), j.CallbackID)
}

// DeleteFlowJobsBefore implements store.FlowJobWriter. A limit of 0 or
// less deletes every job whose deadline is before t.
func (t Tx) DeleteFlowJobsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.execCount(ctx, "delete flow jobs", t.d.DeleteFlowJobsBefore, ms(before), t.d.limit(store.Page{Limit: limit}))
}
