// Package throttle limits request rates with in-memory token buckets, one
// per (rule, key): the rates AWS publishes for the Chime SDK APIs, per
// bearer, per channel, per app instance, per user and per account. Buckets
// live in this process only, so with N nodes behind a load balancer a
// client that spreads its calls can reach up to N times a rate.
package throttle

import (
	"fmt"
	"sync"
	"time"
)

// Scope is what a rate is counted per.
type Scope uint8

// The scopes AWS publishes rates for.
const (
	PerAccount Scope = iota
	PerAppInstance
	PerChannel
	PerUser   // the AppInstanceUser the call is about (path or bearer)
	PerBearer // the x-amz-chime-bearer of the call
)

func (s Scope) String() string {
	return [...]string{"account", "app instance", "channel", "user", "bearer"}[s]
}

// Rule is one published rate. Operations naming the same Bucket share one
// bucket per key (AWS counts Send/Update/Redact/DeleteChannelMessage
// together, for instance).
type Rule struct {
	Bucket string
	Scope  Scope
	Rate   float64 // tokens per second; the burst is one second's worth
}

// Call is what the transport knows of a call once it is routed.
type Call struct {
	Operation   string
	Messaging   bool // a Chime SDK Messaging operation (per-bearer rate)
	Identity    bool // a Chime SDK Identity operation (account-wide rate)
	Bearer      string
	AppInstance string // ARN
	Channel     string // ARN
	User        string // ARN of the AppInstanceUser the path names
}

// Refusal reports which rate a call exceeded.
type Refusal struct {
	Rule Rule
	Key  string
	// RetryAfter is how long until the bucket is full again: a client that
	// waits this long finds a second's worth of calls, so a burst of
	// retries spread after it mostly succeeds instead of colliding again.
	RetryAfter time.Duration
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("Rate exceeded: %s allows %g requests per second per %s.", r.Rule.Bucket, r.Rule.Rate, r.Rule.Scope)
}

// Limiter applies a profile. A nil *Limiter allows everything.
type Limiter struct {
	rules      map[string][]Rule // by operation
	bearerRate float64           // every messaging call with a bearer
	now        func() time.Time
	maxBuckets int
	mu         sync.Mutex
	buckets    map[bucketKey]*bucket
	lastSweep  time.Time
	sweepEvery time.Duration
}

type bucketKey struct {
	bucket, key string
}

type bucket struct {
	tokens float64
	rate   float64
	last   time.Time
}

// DefaultMaxBuckets bounds memory: one bucket is about 100 bytes plus its
// key, so a million distinct keys stay near 200 MB at worst; idle buckets
// (full again) are swept long before that in any real load.
const DefaultMaxBuckets = 1 << 20

// NewAWS returns a Limiter with AWS's published rates (us-east-1).
func NewAWS() *Limiter {
	return &Limiter{rules: awsRules, bearerRate: 10, now: time.Now, maxBuckets: DefaultMaxBuckets,
		buckets: map[bucketKey]*bucket{}, sweepEvery: 10 * time.Second}
}

// SetClock replaces time.Now, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// Allow takes one token from every bucket the call counts against, or
// none at all when one of them is empty.
func (l *Limiter) Allow(c Call) error {
	if l == nil {
		return nil
	}
	var need [4]struct {
		k    bucketKey
		rate float64
		rule Rule
	}
	n := 0
	add := func(r Rule, key string) {
		if key != "" && n < len(need) {
			need[n].k, need[n].rate, need[n].rule = bucketKey{r.Bucket, key}, r.Rate, r
			n++
		}
	}
	if c.Messaging && c.Bearer != "" && l.bearerRate > 0 {
		add(Rule{Bucket: "messaging APIs", Scope: PerBearer, Rate: l.bearerRate}, c.Bearer)
	}
	for _, r := range l.rules[c.Operation] {
		add(r, keyFor(r.Scope, c))
	}
	if c.Identity {
		add(Rule{Bucket: "Identity APIs", Scope: PerAccount, Rate: IdentityRate}, "account")
	}
	if n == 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	bs := make([]*bucket, n)
	for i := 0; i < n; i++ {
		b := l.buckets[need[i].k]
		if b == nil {
			if len(l.buckets) >= l.maxBuckets {
				// Memory bound reached even after sweeping: fail open for
				// new keys rather than refuse calls no rate forbids.
				continue
			}
			b = &bucket{tokens: need[i].rate, rate: need[i].rate, last: now}
			l.buckets[need[i].k] = b
		}
		b.refill(now)
		if b.tokens < 1 {
			wait := time.Duration((b.rate - b.tokens) / b.rate * float64(time.Second))
			return &Refusal{Rule: need[i].rule, Key: need[i].k.key, RetryAfter: wait}
		}
		bs[i] = b
	}
	for _, b := range bs {
		if b != nil {
			b.tokens--
		}
	}
	return nil
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * b.rate
		if b.tokens > b.rate {
			b.tokens = b.rate
		}
		b.last = now
	}
}

// maybeSweep drops the buckets that are full again: they hold no state a
// fresh bucket would not. The caller holds l.mu.
func (l *Limiter) maybeSweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.sweepEvery && len(l.buckets) < l.maxBuckets {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		b.refill(now)
		if b.tokens >= b.rate {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of live buckets.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func keyFor(s Scope, c Call) string {
	switch s {
	case PerAccount:
		return "account"
	case PerAppInstance:
		return c.AppInstance
	case PerChannel:
		return c.Channel
	case PerUser:
		if c.User != "" {
			return c.User
		}
		return c.Bearer
	case PerBearer:
		return c.Bearer
	}
	return ""
}

// awsRules are the rates of the Chime SDK quotas page (us-east-1 values).
var awsRules = func() map[string][]Rule {
	m := map[string][]Rule{}
	set := func(bucket string, scope Scope, rate float64, ops ...string) {
		for _, op := range ops {
			m[op] = append(m[op], Rule{Bucket: bucket, Scope: scope, Rate: rate})
		}
	}
	set("CreateChannel/UpdateChannel/DeleteChannel", PerAppInstance, 15, "CreateChannel", "UpdateChannel", "DeleteChannel")
	set("ListChannels", PerAppInstance, 10, "ListChannels")
	set("DescribeChannel", PerChannel, 20, "DescribeChannel")
	set("channel membership, ban and moderator changes", PerChannel, 15,
		"CreateChannelMembership", "DeleteChannelMembership", "CreateChannelBan", "DeleteChannelBan",
		"CreateChannelModerator", "DeleteChannelModerator")
	set("ListChannelMemberships/Bans/Moderators", PerChannel, 15, "ListChannelMemberships", "ListChannelBans", "ListChannelModerators")
	set("channel message changes", PerChannel, 30,
		"SendChannelMessage", "UpdateChannelMessage", "RedactChannelMessage", "DeleteChannelMessage", "ChannelFlowCallback")
	set("ListChannelMessages", PerChannel, 30, "ListChannelMessages")
	set("GetChannelMessage", PerChannel, 30, "GetChannelMessage")
	set("ListChannelMembershipsForAppInstanceUser/ListChannelsModeratedByAppInstanceUser", PerUser, 15,
		"ListChannelMembershipsForAppInstanceUser", "ListChannelsModeratedByAppInstanceUser")
	set("ListSubChannels", PerChannel, 15, "ListSubChannels")
	set("BatchCreateChannelMembership", PerChannel, 1, "BatchCreateChannelMembership")
	set("CreateAppInstance/UpdateAppInstance/DeleteAppInstance", PerAccount, 5, "CreateAppInstance", "UpdateAppInstance", "DeleteAppInstance")
	set("CreateAppInstanceUser/UpdateAppInstanceUser/DeleteAppInstanceUser", PerAppInstance, 10,
		"CreateAppInstanceUser", "UpdateAppInstanceUser", "DeleteAppInstanceUser")
	set("DescribeAppInstance", PerAccount, 20, "DescribeAppInstance")
	set("DescribeAppInstanceUser", PerUser, 20, "DescribeAppInstanceUser")
	set("ListAppInstances", PerAccount, 10, "ListAppInstances")
	set("ListAppInstanceUsers", PerAccount, 10, "ListAppInstanceUsers")
	return m
}()

// IdentityRate is the account-wide rate of all Identity calls together.
const IdentityRate = 50
