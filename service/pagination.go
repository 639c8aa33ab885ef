package service

import (
	"context"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/pagetoken"
	"github.com/belfryhq/belfry/store"
)

// page turns a List request's MaxResults and NextToken into a store.Page.
// scope names the list (operation and parameters), so a token issued for
// one list is refused by every other. The page asks for one record more
// than the caller wants: if it comes back, there is a next page.
func (s *Service) page(scope string, maxResults *int32, nextToken *string) (store.Page, int, error) {
	n := DefaultMaxResults
	if maxResults != nil {
		n = int(*maxResults)
	}
	p := store.Page{Limit: n + 1}
	if nextToken != nil && *nextToken != "" {
		after, err := pagetoken.OpenInt64(s.pageKey, scope, *nextToken)
		if err != nil || after <= 0 {
			return p, n, badRequest("Invalid NextToken: it was not issued by this operation for these parameters, or it was altered.")
		}
		p.After = after
	}
	return p, n, nil
}

// trim cuts items to n and returns the NextToken for the rest: nil on the
// last page.
func trim[T any](s *Service, scope string, items []T, n int, seq func(T) int64) ([]T, *string) {
	if len(items) <= n {
		return items, nil
	}
	items = items[:n]
	tok := pagetoken.SealInt64(s.pageKey, scope, seq(items[n-1]))
	return items, &tok
}

// scope joins an operation and its list parameters into a token scope.
func scope(op string, params ...string) string {
	for _, p := range params {
		op += "\x00" + p
	}
	return op
}

// listInAppInstance runs one page of a list that lives inside an app
// instance: it parses AppInstanceArn, opens the NextToken (bound to op and
// the app instance), checks the app instance exists, lists in one read
// transaction and seals the next token.
func listInAppInstance[T any](ctx context.Context, s *Service, op string, appInstanceArn *string, maxResults *int32, nextToken *string,
	list func(tx store.ReadTx, appInstanceID string, p store.Page) ([]T, error), seq func(T) int64) (chime.ARN, []T, *string, error) {
	ai, err := s.parseAppInstance("AppInstanceArn", deref(appInstanceArn))
	if err != nil {
		return ai, nil, nil, err
	}
	sc := scope(op, ai.String())
	p, n, err := s.page(sc, maxResults, nextToken)
	if err != nil {
		return ai, nil, nil, err
	}
	var items []T
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		items, err = list(tx, ai.AppInstanceID, p)
		return err
	})
	if err != nil {
		return ai, nil, nil, storeErr(err, "AppInstance "+ai.String())
	}
	items, next := trim(s, sc, items, n, seq)
	return ai, items, next, nil
}
