package service

import "time"

// Quotas, from the AWS General Reference (semantics.md §7). AWS lets
// customers raise them; Belfry keeps the defaults, in one place.
const (
	// MaxAppInstances is the number of app instances per account.
	MaxAppInstances = 100
	// MaxAppInstanceUsers is the number of users per app instance.
	MaxAppInstanceUsers = 100_000
	// MaxAppInstanceAdmins is the number of admins per app instance.
	MaxAppInstanceAdmins = 100
	// MaxEndpointsPerUser is the number of push endpoints per user.
	MaxEndpointsPerUser = 10
	// MaxChannels is the number of channels per app instance.
	MaxChannels = 10_000_000
	// MaxMembershipsPerChannel is the number of members per channel.
	MaxMembershipsPerChannel = 10_000
	// MaxModeratorsPerChannel is the number of moderators per channel.
	MaxModeratorsPerChannel = 1_000
	// MaxMembershipsPerMember is the number of channels a user or bot can
	// be a member of.
	MaxMembershipsPerMember = 20_000
	// MaxElasticChannels is the number of elastic channels per app
	// instance (Config.MaxElasticChannels raises it).
	MaxElasticChannels = 1
	// MaxMembershipsPerSubChannel is the number of memberships of one
	// sub-channel of an elastic channel.
	MaxMembershipsPerSubChannel = 1_000
	// MaxChannelFlows is the number of channel flows per app instance.
	MaxChannelFlows = 100
	// MaxProcessorsPerFlow is the number of processors per channel flow.
	MaxProcessorsPerFlow = 1
	// FlowCallbackWindow is how long a processor has to call back.
	FlowCallbackWindow = 48 * time.Hour
	// MaxTagsPerResource is the number of tags per resource (the model's
	// TagList maximum).
	MaxTagsPerResource = 50
)

// Other limits Belfry chooses where AWS documents none (docs/compatibility.md).
const (
	// DefaultMaxResults is the page size of a List call without MaxResults:
	// the model's maximum, so naive clients make as few calls as possible.
	DefaultMaxResults = 50
	// IdempotencyWindow is how long a ClientRequestToken is remembered.
	IdempotencyWindow = 8 * time.Hour
	// RetentionGracePeriod is how long after Put/AppInstanceRetentionSettings
	// deletion starts (semantics.md §6: the documented 30-day grace period).
	RetentionGracePeriod = 30 * 24 * time.Hour
	// FlowInvokeAttempts is how many times a processor is invoked before
	// its FallbackAction applies; FlowRetryBase is the first backoff,
	// doubled after each failure.
	FlowInvokeAttempts = 4
	FlowRetryBase      = 500 * time.Millisecond
	// sweepBatch is how many expired users one sweep transaction deletes, so
	// a large backlog does not hold the writer for long.
	sweepBatch = 500
)
