// Package service implements the Chime SDK APIs (chime.API): authorization
// of the bearer, the rules of semantics.md, and one store transaction per
// call. It knows nothing of HTTP.
package service

import (
	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// Config is what the service needs to know about its deployment.
type Config struct {
	Region    string // for ARNs
	AccountID string // for ARNs
}

// Service implements chime.API on a store.
type Service struct {
	chime.Unimplemented
	store store.Store
	cfg   Config
}

// New returns a Service on st.
func New(st store.Store, cfg Config) *Service {
	return &Service{store: st, cfg: cfg}
}

var _ chime.API = (*Service)(nil)
