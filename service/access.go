package service

import (
	"context"

	"github.com/belfryhq/belfry/chime"
)

// permit is the access check every operation makes before anything else:
// the principal the context carries (the transport puts it there after
// verifying the signature) must be allowed to make the call, by
// chime.Permit. So every caller of chime.API is checked, whatever its
// transport. A context without a principal is an in-process caller acting
// for the account (tests, the demo seeder); a transport always sets one.
func (s *Service) permit(ctx context.Context, op *chime.Operation, in any) error {
	p, ok := chime.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	return chime.Permit(p, op, in)
}
