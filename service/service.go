// Package service implements the Chime SDK APIs (chime.API): authorization
// of the bearer, the rules of semantics.md, and one store transaction per
// call. It knows nothing of HTTP.
//
// The transport has already decoded and validated every input against the
// model (required members, lengths, patterns, enums, ranges), so the
// service checks only what the model cannot express: that ARNs name the
// right kind of resource in this deployment, that resources exist, quotas,
// idempotency and the like.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// Config is what the service needs to know about its deployment.
type Config struct {
	Region    string // for ARNs
	AccountID string // for ARNs
	// Now is the clock; nil means time.Now. Tests inject one to control
	// timestamps and expiry.
	Now func() time.Time
	// EventsCommitted is called after a change that wrote events to the
	// store's outbox commits, in commit order, with the events and the Seq
	// AppendOutbox returned for the last (package relay's
	// Relay.Committed, which publishes them on the bus). nil writes no
	// events: a service without real-time sessions.
	EventsCommitted func(last int64, evs []events.Event)
	// MessagingEndpoint is what GetMessagingSessionEndpoint answers: the
	// websocket's public host[:port], bare, exactly as clients sign it.
	MessagingEndpoint string
	// FlowJobsQueued is called after a change that queued a channel-flow
	// job commits (package flowjobs' Runner.Wake); nil calls nothing.
	FlowJobsQueued func()
	// MaxElasticChannels is the number of elastic channels an app
	// instance may have; 0 means the AWS default, MaxElasticChannels.
	MaxElasticChannels int
	// DeliveriesQueued is called after a change that queued push
	// notifications or streaming records commits (package delivery's
	// Worker.Wake); nil calls nothing.
	DeliveriesQueued func()
}

// Service implements chime.API on a store.
type Service struct {
	chime.Unimplemented
	store store.Store
	cfg   Config
	// pageKey seals NextTokens; it is shared by every node through the store.
	pageKey []byte
	// sends is this node's memory of the sends it authorized (sendcache.go).
	sends *sendCache
}

// pageKeySecret names the NextToken sealing key in the store.
const pageKeySecret = "pagetoken-hmac-sha256"

// New returns a Service on st. It loads (creating it on first start) the
// key that seals pagination tokens, which is why it can fail.
func New(ctx context.Context, st store.Store, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := getOrCreateSecret(ctx, st, pageKeySecret, 32)
	if err != nil {
		return nil, fmt.Errorf("service: page token key: %w", err)
	}
	return &Service{store: st, cfg: cfg, pageKey: key, sends: newSendCache(sendCacheSize, streamCacheSize)}, nil
}

// getOrCreateSecret returns the named secret, creating a random one of size
// bytes if the store has none. Two nodes starting at once both try to
// create it; the loser's insert conflicts and it reads the winner's.
func getOrCreateSecret(ctx context.Context, st store.Store, name string, size int) ([]byte, error) {
	var key []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		k, err := tx.GetServerSecret(ctx, name)
		if err == nil {
			key = k
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		key = make([]byte, size)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		return tx.CreateServerSecret(ctx, name, key)
	})
	if errors.Is(err, store.ErrConflict) {
		err = st.View(ctx, func(tx store.ReadTx) error {
			key, err = tx.GetServerSecret(ctx, name)
			return err
		})
	}
	return key, err
}

// now returns the current time at the precision timestamps are kept.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

var _ chime.API = (*Service)(nil)
