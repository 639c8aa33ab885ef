package store

import (
	"context"
	"github.com/belfryhq/belfry/chime"
	"time"
)

// ChannelFlow is a channel flow of an app instance: processors that see a
// channel's messages before its members do.
type ChannelFlow struct {
	AppInstanceID string
	FlowID        string
	Name          string
	// Processors is the JSON of the model's Processors list, as validated
	// and stored by the service.
	Processors string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// ChannelFlowReader reads channel flows.
type ChannelFlowReader interface {
	// GetChannelFlow returns the flow, or an error wrapping ErrNotFound.
	GetChannelFlow(ctx context.Context, appInstanceID, flowID string) (ChannelFlow, error)

	// ListChannelFlows returns one page of the app instance's flows in
	// creation order.
	ListChannelFlows(ctx context.Context, appInstanceID string, p Page) ([]ChannelFlow, error)

	// CountChannelFlows returns how many flows the app instance has.
	CountChannelFlows(ctx context.Context, appInstanceID string) (int, error)

	// ListChannelsWithFlow returns one page, in channel creation order, of
	// the channels associated with the flow (Channel.FlowID).
	ListChannelsWithFlow(ctx context.Context, appInstanceID, flowID string, p Page) ([]Channel, error)
}

// ChannelFlowWriter creates, updates and deletes channel flows.
type ChannelFlowWriter interface {
	// CreateChannelFlow stores f and returns it with Seq set. It returns an
	// error wrapping ErrNotFound if the app instance does not exist, or
	// ErrConflict if the id is taken.
	CreateChannelFlow(ctx context.Context, f ChannelFlow) (ChannelFlow, error)

	// UpdateChannelFlow sets Name, Processors and UpdatedAt, or returns an
	// error wrapping ErrNotFound.
	UpdateChannelFlow(ctx context.Context, f ChannelFlow) error

	// DeleteChannelFlow deletes the flow, or returns an error wrapping
	// ErrNotFound; ErrConflict if a channel is still associated with it.
	DeleteChannelFlow(ctx context.Context, appInstanceID, flowID string) error
}

// FlowJob is a message waiting for a channel flow's processor: created by
// SendChannelMessage or UpdateChannelMessage on a channel with a flow,
// finished by the processor's ChannelFlowCallback or by the processor's
// fallback when it cannot be invoked. Jobs are durable, so pending work
// survives a restart.
type FlowJob struct {
	// CallbackID identifies the job; the processor echoes it back.
	CallbackID    string
	AppInstanceID string
	ChannelID     string
	MessageID     string
	// Update is true for an edit of an existing message, false for a new
	// message.
	Update bool
	// Message is the JSON of the message as it will be delivered once SENT
	// (the service's own encoding): the only copy of a NON_PERSISTENT
	// message, the new version of an edited one.
	Message string
	// FlowID and ProcessorArn name the processor to invoke; Fallback is its
	// FallbackAction (CONTINUE | ABORT).
	FlowID       string
	ProcessorArn string
	Fallback     chime.FallbackAction
	// State is Invoking (the processor must be, or is being, invoked),
	// Waiting (invoked; waiting for the callback) or Done (finished; kept so
	// that a retried callback is answered the same way).
	State FlowJobState
	// Attempts counts failed invocations; NextAttemptAt is when to try
	// again.
	Attempts      int
	NextAttemptAt time.Time
	// Deadline is when the callback window closes (48 h after creation).
	Deadline time.Time
	// Outcome is the final status (SENT, DENIED, FAILED) once Done, and
	// Fingerprint the digest of the callback that finished it ("" when the
	// fallback did).
	Outcome     chime.ChannelMessageStatus
	Fingerprint string
	// LeaseOwner is the node that claimed the job last (the lease runs
	// until NextAttemptAt); "" if none has.
	LeaseOwner string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// FlowJobState is where a FlowJob is in its life.
type FlowJobState string

// Flow job states.
const (
	FlowJobInvoking FlowJobState = "INVOKING"
	FlowJobWaiting  FlowJobState = "WAITING"
	FlowJobDone     FlowJobState = "DONE"
)

// FlowJobReader reads flow jobs.
type FlowJobReader interface {
	// GetFlowJob returns the job, or an error wrapping ErrNotFound.
	GetFlowJob(ctx context.Context, callbackID string) (FlowJob, error)

	// GetOpenFlowJobForMessage returns the job of the message that is not
	// Done, or an error wrapping ErrNotFound.
	GetOpenFlowJobForMessage(ctx context.Context, appInstanceID, channelID, messageID string) (FlowJob, error)

	// ListDueFlowJobs returns up to limit jobs (of any app instance) in
	// state Invoking whose NextAttemptAt is at or before now, soonest first.
	ListDueFlowJobs(ctx context.Context, now time.Time, limit int) ([]FlowJob, error)
}

// FlowJobWriter creates, updates and deletes flow jobs.
type FlowJobWriter interface {
	// CreateFlowJob stores j. It returns an error wrapping ErrNotFound if
	// the channel does not exist, or ErrConflict if the CallbackID is taken.
	CreateFlowJob(ctx context.Context, j FlowJob) error

	// UpdateFlowJob sets State, Attempts, NextAttemptAt, Outcome,
	// Fingerprint and UpdatedAt, or returns an error wrapping ErrNotFound.
	UpdateFlowJob(ctx context.Context, j FlowJob) error

	// DeleteFlowJobsBefore deletes up to limit jobs (of any app instance)
	// whose Deadline is before t, whatever their state, and returns how many
	// it deleted: after the callback window the job is forgotten.
	DeleteFlowJobsBefore(ctx context.Context, t time.Time, limit int) (int, error)
}
