package sqlstore

import (
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

// PlannedQuery is a statement of the store with sample arguments, for an
// engine's test that its plans read an index.
type PlannedQuery struct {
	Name string
	SQL  string
	Args []any
	// Sorts: the plan may sort (SQLite: in a temporary b-tree).
	Sorts bool
}

// PlannedQueries returns the lists' statements, as d writes them, each of
// which must search an index and, unless Sorts, read it in the order
// asked for.
func PlannedQueries(d *Dialect) ([]PlannedQuery, error) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	v := store.Actor{Kind: store.MemberUser, ID: "u"}
	cursor := &store.MessageCursor{CreatedAt: now, Seq: 42}
	var plans []PlannedQuery
	for i, q := range []store.MessageQuery{
		{Viewer: v, Limit: 50},
		{Viewer: v, Limit: 50, Descending: true},
		{Viewer: v, Limit: 50, After: cursor},
		{Viewer: v, Limit: 50, After: cursor, Descending: true},
		{Viewer: v, Limit: 50, After: cursor, NotBefore: now.Add(-time.Hour), NotAfter: now},
		{Viewer: v, Limit: 50, After: cursor, NotBefore: now.Add(-time.Hour), Descending: true},
		{Viewer: v, Limit: 50, SubChannelID: "s", After: cursor},
		{Viewer: v, Limit: 50, SubChannelID: "s", NotAfter: now, Descending: true},
	} {
		s, a := listMessagesQuery(d, "app", "ch", q)
		plans = append(plans, PlannedQuery{Name: fmt.Sprint("messages query ", i), SQL: s, Args: a})
	}
	for _, memberOf := range []*store.Actor{nil, &v} {
		for _, cl := range [][]store.MemberClause{
			nil,
			{{Members: []store.Actor{v}}},
			{{Equals: true, Members: []store.Actor{v, {Kind: store.MemberBot, ID: "b"}}}},
		} {
			s, a, err := searchChannelsQuery(d, "app", cl, memberOf, store.Page{After: 1, Limit: 10})
			if err != nil {
				return nil, err
			}
			plans = append(plans, PlannedQuery{Name: fmt.Sprintf("search %+v memberOf %v", cl, memberOf), SQL: s, Args: a, Sorts: true})
		}
	}
	plans = append(plans,
		PlannedQuery{Name: "channels", SQL: listChannelsQuery, Args: []any{"a", 0, 10}},
		PlannedQuery{Name: "channels by privacy", SQL: listChannelsByPrivacyQuery, Args: []any{"a", "PUBLIC", 0, 10}},
		PlannedQuery{Name: "expired channels", SQL: listExpiredChannelsQuery, Args: []any{1, 10}},
		PlannedQuery{Name: "memberships", SQL: listMembershipsQuery, Args: []any{"a", "c", 0, 10}},
		PlannedQuery{Name: "memberships by type", SQL: listMembershipsByTypeQuery, Args: []any{"a", "c", "DEFAULT", 0, 10}},
		PlannedQuery{Name: "memberships of user", SQL: listMembershipsOfQuery("user_id"), Args: []any{"a", "u", 0, 10}},
		PlannedQuery{Name: "memberships of bot", SQL: listMembershipsOfQuery("bot_id"), Args: []any{"a", "b", 0, 10}},
		PlannedQuery{Name: "grants", SQL: listGrantsQuery, Args: []any{"a", "c", "ban", 0, 10}},
		PlannedQuery{Name: "moderated by user", SQL: listModeratedQuery("user_id"), Args: []any{"a", "u", 0, 10}},
		PlannedQuery{Name: "moderated by bot", SQL: listModeratedQuery("bot_id"), Args: []any{"a", "b", 0, 10}},
		PlannedQuery{Name: "message by token", SQL: getMessageByTokenQuery, Args: []any{"a", "c", "user", "u", "t"}},
		PlannedQuery{Name: "delete messages before", SQL: deleteMessagesBeforeQuery, Args: []any{"a", "", 1, 10}},
		PlannedQuery{Name: "channel flows", SQL: listChannelFlowsQuery, Args: []any{"a", 0, 10}},
		PlannedQuery{Name: "channels with flow", SQL: listChannelsWithFlowQuery, Args: []any{"a", "f", 0, 10}},
		PlannedQuery{Name: "open flow job", SQL: getOpenFlowJobQuery, Args: []any{"a", "c", "m"}},
		PlannedQuery{Name: "due flow jobs", SQL: listDueFlowJobsQuery, Args: []any{1, 10}},
		PlannedQuery{Name: "delete flow jobs before", SQL: d.DeleteFlowJobsBefore, Args: []any{1, 10}},
		PlannedQuery{Name: "due deliveries", SQL: listDueDeliveriesQuery, Args: []any{1, 10}},
		PlannedQuery{Name: "order key pending", SQL: orderKeyPendingQuery, Args: []any{"s c"}},
		PlannedQuery{Name: "promote next", SQL: promoteNextQuery, Args: []any{1, 1, "s c", waitingForTurn}},
		// Sorted by membership: a channel's memberships are read by the
		// member-first index.
		PlannedQuery{Name: "push targets", SQL: listPushTargetsQuery, Args: []any{"a", "c"}, Sorts: true},
		PlannedQuery{Name: "prune deliveries", SQL: pruneDeliveriesQuery, Args: []any{"PUSH", "PUSH", 10}},
		// Ties of initiate_deletion_at are sorted: few app instances are due.
		PlannedQuery{Name: "due retention", SQL: listDueRetentionQuery, Args: []any{1}, Sorts: true},
	)
	return plans, nil
}
