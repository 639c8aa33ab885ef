package service

import (
	"sync"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// The send cache: what a node learnt from the sends it authorized, so that
// the next send of the same bearer to the same channel skips the bearer,
// channel and membership reads, and every send skips reading the
// streaming configurations.
//
// An entry is only a claim, checked inside each send's own transaction:
// it records the store.Generation under which the answer was true, and the
// send's channel touch (which it does anyway) returns the current one. If
// they differ, or the channel is gone, the send falls back to the full
// checks in the same transaction and the entry is replaced once that send
// commits. The store raises the generations with every change that can
// withdraw the authorization or alter what a send stores (triggers, in
// the change's transaction), so the claim holds across nodes sharing one
// database. Entries are written only after a commit (AfterCommit): a
// rolled-back transaction, or a batch whose commit failed, teaches the
// cache nothing. Denials are never cached.
//
// Sizes are bounded; when full, an arbitrary entry makes room (Go's map
// iteration order), which costs at most one full check later.

// Bounds of the send cache: entries of (channel, bearer) (a few hundred
// bytes each, so at most some 16 MB), and app instances whose streaming
// configurations are remembered.
const (
	sendCacheSize   = 1 << 15
	streamCacheSize = 1 << 12
)

// sendKey is a send's channel and bearer, as the request spells them: a
// key that once parsed and resolved always does.
type sendKey struct{ channelArn, bearerArn string }

// sendGrant is an authorized (channel, bearer) pair and what the send
// needs of it.
type sendGrant struct {
	gen    store.Generation
	arn    chime.ARN
	ch     store.Channel
	bearer actor
}

// streamConfigs are an app instance's streaming configurations as of
// generation gen.
type streamConfigs struct {
	gen     int64
	configs []store.StreamingConfiguration
}

type sendCache struct {
	mu         sync.Mutex
	grants     map[sendKey]sendGrant
	streams    map[string]streamConfigs
	maxGrants  int
	maxStreams int
}

func newSendCache(maxGrants, maxStreams int) *sendCache {
	return &sendCache{grants: map[sendKey]sendGrant{}, streams: map[string]streamConfigs{}, maxGrants: maxGrants, maxStreams: maxStreams}
}

func (c *sendCache) grant(k sendKey) (sendGrant, bool) {
	c.mu.Lock()
	g, ok := c.grants[k]
	c.mu.Unlock()
	return g, ok
}

func (c *sendCache) putGrant(k sendKey, g sendGrant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.grants[k]; !ok && len(c.grants) >= c.maxGrants {
		for old := range c.grants {
			delete(c.grants, old)
			break
		}
	}
	c.grants[k] = g
}

func (c *sendCache) dropGrant(k sendKey) {
	c.mu.Lock()
	delete(c.grants, k)
	c.mu.Unlock()
}

// streamConfigs returns the app instance's configurations if they are
// known as of generation gen.
func (c *sendCache) streamConfigs(appInstanceID string, gen int64) ([]store.StreamingConfiguration, bool) {
	c.mu.Lock()
	e, ok := c.streams[appInstanceID]
	c.mu.Unlock()
	return e.configs, ok && e.gen == gen
}

func (c *sendCache) putStreamConfigs(appInstanceID string, gen int64, cs []store.StreamingConfiguration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.streams[appInstanceID]; !ok && len(c.streams) >= c.maxStreams {
		for old := range c.streams {
			delete(c.streams, old)
			break
		}
	}
	c.streams[appInstanceID] = streamConfigs{gen, cs}
}

// len reports the number of cached grants (tests).
func (c *sendCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.grants)
}
