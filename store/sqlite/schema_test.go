package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// TestForeignKeysHaveChildIndexes checks that every foreign key of every
// table, including ones later migrations add, has an index on the child
// side led by the key's columns: otherwise deleting a parent row (and
// every cascade) scans the whole child table. A partial index qualifies if
// its condition is that one of the key's columns IS NOT NULL, which every
// lookup by the key implies.
func TestForeignKeysHaveChildIndexes(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	type index struct {
		name  string
		cols  []string
		where string // "" for a full index
	}
	indexesOf := func(table string) []index {
		rows, err := db.readers.QueryContext(t.Context(), `SELECT il.name, il.partial, COALESCE(m.sql, '')
			FROM pragma_index_list(?) il LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = il.name`, table)
		if err != nil {
			t.Fatal(err)
		}
		var out []index
		for rows.Next() {
			var ix index
			var partial bool
			var def string
			if err := rows.Scan(&ix.name, &partial, &def); err != nil {
				t.Fatal(err)
			}
			if partial {
				_, ix.where, _ = strings.Cut(def, " WHERE ")
				ix.where = strings.TrimSpace(ix.where)
			}
			out = append(out, ix)
		}
		rows.Close()
		for i := range out {
			cols, err := db.readers.QueryContext(t.Context(), `SELECT COALESCE(name, 'rowid') FROM pragma_index_info(?) ORDER BY seqno`, out[i].name)
			if err != nil {
				t.Fatal(err)
			}
			for cols.Next() {
				var c string
				if err := cols.Scan(&c); err != nil {
					t.Fatal(err)
				}
				out[i].cols = append(out[i].cols, c)
			}
			cols.Close()
		}
		return out
	}
	foreignKeysOf := func(table string) map[int][]string {
		rows, err := db.readers.QueryContext(t.Context(), `SELECT id, "from" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		fks := map[int][]string{}
		for rows.Next() {
			var id int
			var from string
			if err := rows.Scan(&id, &from); err != nil {
				t.Fatal(err)
			}
			fks[id] = append(fks[id], from)
		}
		return fks
	}

	n := 0
	for _, table := range tables(t, db) {
		indexes := indexesOf(table)
		for _, fk := range foreignKeysOf(table) {
			n++
			covered := slices.ContainsFunc(indexes, func(ix index) bool {
				if len(ix.cols) < len(fk) {
					return false
				}
				lead := slices.Clone(ix.cols[:len(fk)])
				slices.Sort(lead)
				want := slices.Sorted(slices.Values(fk))
				if !slices.Equal(lead, want) {
					return false
				}
				return ix.where == "" || slices.ContainsFunc(fk, func(c string) bool { return ix.where == c+" IS NOT NULL" })
			})
			if !covered {
				t.Errorf("%s: no index led by the foreign key columns %v", table, fk)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d foreign keys found", n)
	}
}

// TestQueryPlans checks that the lists search an index and, but for
// SearchChannels, read it in the order asked for: no statement scans a
// table, and none sorts in a temporary b-tree. The planner has no
// statistics (nothing runs ANALYZE), so its plans do not depend on the
// data and an empty database shows the plans of a full one.
func TestQueryPlans(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	v := store.Actor{Kind: store.MemberUser, ID: "u"}
	cursor := &store.MessageCursor{CreatedAt: now, Seq: 42}
	type plan struct {
		name  string
		q     string
		args  []any
		sorts bool // may sort, in a temporary b-tree
	}
	var plans []plan
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
		s, a := listMessagesQuery("app", "ch", q)
		plans = append(plans, plan{name: fmt.Sprint("messages query ", i), q: s, args: a})
	}
	for _, memberOf := range []*store.Actor{nil, &v} {
		for _, cl := range [][]store.MemberClause{
			nil,
			{{Members: []store.Actor{v}}},
			{{Equals: true, Members: []store.Actor{v, {Kind: store.MemberBot, ID: "b"}}}},
		} {
			s, a, err := searchChannelsQuery("app", cl, memberOf, store.Page{After: 1, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			plans = append(plans, plan{name: fmt.Sprintf("search %+v memberOf %v", cl, memberOf), q: s, args: a, sorts: true})
		}
	}
	plans = append(plans,
		plan{name: "channels", q: listChannelsQuery, args: []any{"a", 0, 10}},
		plan{name: "channels by privacy", q: listChannelsByPrivacyQuery, args: []any{"a", "PUBLIC", 0, 10}},
		plan{name: "expired channels", q: listExpiredChannelsQuery, args: []any{1, 10}},
		plan{name: "memberships", q: listMembershipsQuery, args: []any{"a", "c", 0, 10}},
		plan{name: "memberships by type", q: listMembershipsByTypeQuery, args: []any{"a", "c", "DEFAULT", 0, 10}},
		plan{name: "memberships of user", q: listMembershipsOfQuery("user_id"), args: []any{"a", "u", 0, 10}},
		plan{name: "memberships of bot", q: listMembershipsOfQuery("bot_id"), args: []any{"a", "b", 0, 10}},
		plan{name: "grants", q: listGrantsQuery, args: []any{"a", "c", "ban", 0, 10}},
		plan{name: "moderated by user", q: listModeratedQuery("user_id"), args: []any{"a", "u", 0, 10}},
		plan{name: "moderated by bot", q: listModeratedQuery("bot_id"), args: []any{"a", "b", 0, 10}},
		plan{name: "delete messages before", q: deleteMessagesBeforeQuery, args: []any{"a", 1, 10}},
		// Ties of initiate_deletion_at are sorted: few app instances are due.
		plan{name: "due retention", q: listDueRetentionQuery, args: []any{1}, sorts: true},
	)
	for _, p := range plans {
		rows, err := db.readers.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+p.q, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		var steps []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, detail)
		}
		rows.Close()
		for _, s := range steps {
			if strings.HasPrefix(s, "SCAN ") || !p.sorts && strings.Contains(s, "TEMP B-TREE") {
				t.Errorf("%s: plan %q", p.name, steps)
				break
			}
		}
	}
}

// TestMigrateIdempotencyRecords opens a database at schema version 2 with
// idempotency records of every owner: migration 3 rebuilds the table, and
// the records, their indexes and their cascades must survive it.
func TestMigrateIdempotencyRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	ms, err := loadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"foreign_keys(ON)"}, "_txlock": {"immediate"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, old, ms[:2], time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO app_instances (id, name, created_at, updated_at) VALUES ('app', '', 0, 0)`,
		`INSERT INTO app_instance_users (app_instance_id, user_id, name, created_at, updated_at) VALUES ('app', 'u', '', 0, 0)`,
		`INSERT INTO app_instance_bots (app_instance_id, bot_id, name, configuration, created_at, updated_at) VALUES ('app', 'b', '', x'', 0, 0)`,
		`INSERT INTO app_instance_user_endpoints (endpoint_id, app_instance_id, user_id, type, resource_arn, device_token, allow_messages, created_at, updated_at)
			VALUES ('e', 'app', 'u', 'GCM', '', 'd', 'ALL', 0, 0)`,
		`INSERT INTO idempotency_records (scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id) VALUES
			('app', 't', 'f1', 'r1', 1, 'app', NULL, NULL, NULL),
			('user', 't', 'f2', 'r2', 2, 'app', 'u', NULL, NULL),
			('bot', 't', 'f3', 'r3', 3, 'app', NULL, 'b', NULL),
			('endpoint', 't', 'f4', 'r4', 4, 'app', NULL, NULL, 'e')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := openTemp(t, path)
	if got := appliedMigrations(t, db); len(got) != len(ms) {
		t.Fatalf("schema_migrations = %v after reopening", got)
	}
	want := []store.IdempotencyRecord{
		{Scope: "app", Token: "t", Fingerprint: "f1", Result: "r1", CreatedAt: fromMS(1), AppInstanceID: "app"},
		{Scope: "user", Token: "t", Fingerprint: "f2", Result: "r2", CreatedAt: fromMS(2), AppInstanceID: "app", UserID: "u"},
		{Scope: "bot", Token: "t", Fingerprint: "f3", Result: "r3", CreatedAt: fromMS(3), AppInstanceID: "app", BotID: "b"},
		{Scope: "endpoint", Token: "t", Fingerprint: "f4", Result: "r4", CreatedAt: fromMS(4), AppInstanceID: "app", EndpointID: "e"},
	}
	get := func(scope string) (store.IdempotencyRecord, error) {
		var r store.IdempotencyRecord
		err := db.View(ctx, func(tx store.ReadTx) error {
			var err error
			r, err = tx.GetIdempotencyRecord(ctx, scope, "t")
			return err
		})
		return r, err
	}
	for _, w := range want {
		if got, err := get(w.Scope); err != nil || got != w {
			t.Errorf("record %s after the migration = %+v, %v; want %+v", w.Scope, got, err, w)
		}
	}
	checkForeignKeys(t, db)
	var integrity string
	if err := db.readers.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	var indexes []string
	rows, err := db.readers.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'idempotency_records' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	rows.Close()
	wantIndexes := []string{"idempotency_records_by_age", "idempotency_records_by_app_instance", "idempotency_records_by_bot",
		"idempotency_records_by_channel", "idempotency_records_by_endpoint", "idempotency_records_by_user"}
	if !slices.Equal(indexes, wantIndexes) {
		t.Errorf("indexes of idempotency_records = %v, want %v", indexes, wantIndexes)
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new%'`); n != 0 {
		t.Errorf("%d schema objects left over from the rebuild", n)
	}

	// The cascades still work on the rebuilt table.
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteAppInstanceUser(ctx, "app", "u"); err != nil { // and its endpoint
			return err
		}
		return tx.DeleteAppInstanceBot(ctx, "app", "b")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		_, err := get(w.Scope)
		if w.Scope == "app" && err != nil {
			t.Errorf("app instance's record: %v", err)
		}
		if w.Scope != "app" && err == nil {
			t.Errorf("record of the deleted %s survived", w.Scope)
		}
	}
}
