package sqlite

import (
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
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
	// Retention has no index of its own (migration 0011): it must walk
	// each channel's range of the history index, not the app instance's
	// whole history.
	wantSteps := map[string]string{
		"message by token":       "SEARCH channel_messages USING INDEX channel_messages_by_token (token_channel=? AND sender_kind=? AND sender_id=? AND client_token=?)",
		"delete messages before": "SEARCH m USING COVERING INDEX channel_messages_by_time (app_instance_id=? AND channel_id=? AND created_at<?)",
		// Not the pending deliveries (a push backlog) one by one.
		"order key pending": "SEARCH deliveries USING COVERING INDEX deliveries_pending_by_order (order_key=?)",
	}
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	plans, err := sqlstore.PlannedQueries(&dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		rows, err := db.readers.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+p.SQL, p.Args...)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
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
		if want, ok := wantSteps[p.Name]; ok && !slices.Contains(steps, want) {
			t.Errorf("%s: plan %q, want a step %q", p.Name, steps, want)
		}
		for _, s := range steps {
			if strings.HasPrefix(s, "SCAN ") && s != "SCAN CONSTANT ROW" || !p.Sorts && strings.Contains(s, "TEMP B-TREE") {
				t.Errorf("%s: plan %q", p.Name, steps)
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
	ms := openAtVersion(t, path, 2, []string{
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
	})
	ctx := t.Context()

	db := openTemp(t, path)
	if got := appliedMigrations(t, db); len(got) != len(ms) {
		t.Fatalf("schema_migrations = %v after reopening", got)
	}
	want := []store.IdempotencyRecord{
		{Scope: "app", Token: "t", Fingerprint: "f1", Result: "r1", CreatedAt: time.UnixMilli(1).UTC(), AppInstanceID: "app"},
		{Scope: "user", Token: "t", Fingerprint: "f2", Result: "r2", CreatedAt: time.UnixMilli(2).UTC(), AppInstanceID: "app", UserID: "u"},
		{Scope: "bot", Token: "t", Fingerprint: "f3", Result: "r3", CreatedAt: time.UnixMilli(3).UTC(), AppInstanceID: "app", BotID: "b"},
		{Scope: "endpoint", Token: "t", Fingerprint: "f4", Result: "r4", CreatedAt: time.UnixMilli(4).UTC(), AppInstanceID: "app", EndpointID: "e"},
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
	indexes := schemaIndexes(t, db, "idempotency_records")
	wantIndexes := []string{"idempotency_records_by_age", "idempotency_records_by_app_instance", "idempotency_records_by_bot",
		"idempotency_records_by_channel", "idempotency_records_by_endpoint", "idempotency_records_by_flow", "idempotency_records_by_user"}
	if !slices.Equal(indexes, wantIndexes) {
		t.Errorf("indexes of idempotency_records = %v, want %v", indexes, wantIndexes)
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new%'`); n != 0 {
		t.Errorf("%d schema objects left over from the rebuild", n)
	}

	// The cascades still work on the rebuilt table.
	err := db.Update(ctx, func(tx store.Tx) error {
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

// openAtVersion creates a database at path migrated up to version v only,
// runs stmts in it with foreign keys on, closes it and returns every
// migration.
func openAtVersion(t *testing.T, path string, v int, stmts []string) []migration {
	t.Helper()
	ms, err := sqlstore.LoadMigrations(embeddedMigrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"foreign_keys(ON)"}, "_txlock": {"immediate"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = old.Close() }()
	if err := migrate(ctx, old, ms[:v], time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	return ms
}

// dumpTable returns every row of table, reading only cols, in a
// deterministic order.
func dumpTable(t *testing.T, db *sql.DB, table string, cols []string) [][]any {
	t.Helper()
	list := `"` + strings.Join(cols, `", "`) + `"`
	rows, err := db.QueryContext(t.Context(), `SELECT `+list+` FROM "`+table+`" ORDER BY `+list)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// schemaIndexes returns the names of table's explicitly created indexes.
func schemaIndexes(t *testing.T, db *DB, table string) []string {
	t.Helper()
	rows, err := db.readers.QueryContext(t.Context(),
		`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// TestMigrateChannelFlows opens a database at schema version 3 with rows in
// every table: migration 4 rebuilds channels, which memberships, grants,
// messages and idempotency records reference ON DELETE CASCADE, and
// idempotency records. Every row must survive, with the channels' seq
// counter, their indexes, and the cascades through the new table.
func TestMigrateChannelFlows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	ms := openAtVersion(t, path, 3, []string{
		`INSERT INTO app_instances (id, name, created_at, updated_at) VALUES ('app', '', 0, 0)`,
		`INSERT INTO app_instance_users (app_instance_id, user_id, name, created_at, updated_at) VALUES ('app', 'u', 'U', 0, 0)`,
		`INSERT INTO app_instance_bots (app_instance_id, bot_id, name, configuration, created_at, updated_at) VALUES ('app', 'b', 'B', x'', 0, 0)`,
		`INSERT INTO app_instance_user_endpoints (endpoint_id, app_instance_id, user_id, type, resource_arn, device_token, allow_messages, created_at, updated_at)
			VALUES ('e', 'app', 'u', 'GCM', '', 'd', 'ALL', 0, 0)`,
		`INSERT INTO channels (app_instance_id, channel_id, name, mode, privacy, metadata, created_by_kind, created_by_id, created_by_name,
			elastic_max_sub_channels, elastic_target_memberships, elastic_min_membership_pct,
			expiration_criterion, expiration_days, expires_at, last_message_at, created_at, updated_at) VALUES
			('app', 'c1', 'one', 'RESTRICTED', 'PRIVATE', 'm1', 'user', 'u', 'U', 2, 3, 4, 'CREATED_TIMESTAMP', 1, 86400000, 5, 6, 7),
			('app', 'c2', 'two', 'UNRESTRICTED', 'PUBLIC', '', 'bot', 'b', 'B', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 8, 9),
			('app', 'c3', 'three', 'UNRESTRICTED', 'PUBLIC', '', 'user', 'u', 'U', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 10, 11)`,
		// The newest channel is deleted: its seq must not come back.
		`DELETE FROM channels WHERE channel_id = 'c3'`,
		`INSERT INTO channel_memberships (app_instance_id, channel_id, user_id, bot_id, type, invited_by_kind, invited_by_id, created_at, updated_at) VALUES
			('app', 'c1', 'u', NULL, 'DEFAULT', 'user', 'u', 1, 1), ('app', 'c1', NULL, 'b', 'HIDDEN', 'user', 'u', 2, 2),
			('app', 'c2', 'u', NULL, 'DEFAULT', 'user', 'u', 3, 3)`,
		`INSERT INTO channel_grants (app_instance_id, channel_id, kind, user_id, bot_id, created_by_kind, created_by_id, created_at) VALUES
			('app', 'c1', 'moderator', 'u', NULL, 'user', 'u', 1), ('app', 'c1', 'ban', NULL, 'b', 'user', 'u', 2),
			('app', 'c2', 'moderator', NULL, 'b', 'user', 'u', 3)`,
		`INSERT INTO channel_messages (message_id, app_instance_id, channel_id, content, type, sender_kind, sender_id, status, created_at, updated_at) VALUES
			('m1', 'app', 'c1', 'hi', 'STANDARD', 'user', 'u', 'SENT', 1, 1), ('m2', 'app', 'c2', 'yo', 'STANDARD', 'bot', 'b', 'SENT', 2, 2)`,
		`INSERT INTO idempotency_records (scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id, channel_id) VALUES
			('app', 't', 'f1', 'r1', 1, 'app', NULL, NULL, NULL, NULL),
			('user', 't', 'f2', 'r2', 2, 'app', 'u', NULL, NULL, NULL),
			('bot', 't', 'f3', 'r3', 3, 'app', NULL, 'b', NULL, NULL),
			('endpoint', 't', 'f4', 'r4', 4, 'app', NULL, NULL, 'e', NULL),
			('channel c1', 't', 'f5', 'r5', 5, 'app', NULL, NULL, NULL, 'c1'),
			('channel c2', 't', 'f6', 'r6', 6, 'app', NULL, NULL, NULL, 'c2')`,
	})
	ctx := t.Context()

	// Every row of every table, as version 3 has them.
	before := map[string][][]any{}
	cols := map[string][]string{}
	{
		old, err := sql.Open("sqlite", dsn(path, url.Values{"mode": {"ro"}}))
		if err != nil {
			t.Fatal(err)
		}
		db := &DB{readers: old} // for tables and columns, which read only
		for _, table := range tables(t, db) {
			cols[table] = columns(t, db, table)
			before[table] = dumpTable(t, old, table, cols[table])
		}
		_ = old.Close()
	}
	if len(before["channels"]) != 2 || len(before["channel_memberships"]) != 3 || len(before["idempotency_records"]) != 6 {
		t.Fatalf("fixture: %d channels, %d memberships, %d idempotency records", len(before["channels"]),
			len(before["channel_memberships"]), len(before["idempotency_records"]))
	}

	db := openTemp(t, path)
	if got := appliedMigrations(t, db); len(got) != len(ms) {
		t.Fatalf("schema_migrations = %v after reopening", got)
	}
	for table, rows := range before {
		if table == "schema_migrations" {
			continue
		}
		if got := dumpTable(t, db.readers, table, cols[table]); !reflect.DeepEqual(got, rows) {
			t.Errorf("%s after the migration:\n got %v\nwant %v", table, got, rows)
		}
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM idempotency_records WHERE flow_id IS NOT NULL`); n != 0 {
		t.Errorf("%d idempotency records gained a flow", n)
	}
	checkForeignKeys(t, db)
	var integrity string
	if err := db.readers.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new%'`); n != 0 {
		t.Errorf("%d schema objects left over from the rebuilds", n)
	}
	for table, want := range map[string][]string{
		"channels": {"channels_by_expiry", "channels_by_flow", "channels_by_privacy", "channels_by_seq", "channels_elastic"},
		"idempotency_records": {"idempotency_records_by_age", "idempotency_records_by_app_instance", "idempotency_records_by_bot",
			"idempotency_records_by_channel", "idempotency_records_by_endpoint", "idempotency_records_by_flow", "idempotency_records_by_user"},
	} {
		if got := schemaIndexes(t, db, table); !slices.Equal(got, want) {
			t.Errorf("indexes of %s = %v, want %v", table, got, want)
		}
	}
	var fk int
	if err := db.conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys after migrating = %d, %v; want 1", fk, err)
	}

	now := time.UnixMilli(100).UTC()
	err := db.Update(ctx, func(tx store.Tx) error {
		// The seq of the deleted c3 is not reused.
		c, err := tx.CreateChannel(ctx, store.Channel{AppInstanceID: "app", ChannelID: "c4", Mode: "UNRESTRICTED", Privacy: "PUBLIC",
			CreatedByKind: store.MemberUser, CreatedByID: "u", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return err
		}
		if c.Seq != 4 {
			t.Errorf("new channel's Seq = %d, want 4 (after the deleted c3's 3)", c.Seq)
		}
		// The channels reference their flow now.
		c2, err := tx.GetChannel(ctx, "app", "c2")
		if err != nil {
			return err
		}
		c2.FlowID = "fl"
		if err := tx.UpdateChannel(ctx, c2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateChannel with a missing flow = %v, want ErrNotFound", err)
		}
		if _, err := tx.CreateChannelFlow(ctx, store.ChannelFlow{AppInstanceID: "app", FlowID: "fl", Processors: "[]", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.UpdateChannel(ctx, c2); err != nil {
			return err
		}
		if err := tx.DeleteChannelFlow(ctx, "app", "fl"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("DeleteChannelFlow of c2's flow = %v, want ErrConflict", err)
		}
		// The cascades from the rebuilt table still work.
		return tx.DeleteChannel(ctx, "app", "c1")
	})
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"channel_memberships": 1, "channel_grants": 1, "channel_messages": 1, "idempotency_records": 5} {
		if n := countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`); n != want {
			t.Errorf("%s: %d rows after deleting c1, want c2's and others' %d", table, n, want)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM "`+table+`" WHERE channel_id = 'c1'`); n != 0 {
			t.Errorf("%s: %d rows of the deleted c1", table, n)
		}
	}
	checkForeignKeys(t, db)

	// And deleting the app instance deletes everything, the flow its
	// channel names included.
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.DeleteAppInstance(ctx, "app") }); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables(t, db) {
		if !serverWide[table] && countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`) != 0 {
			t.Errorf("%s has rows after the app instance was deleted", table)
		}
	}
}

// TestMigrateTokenChannel opens a database at schema version 10 with
// messages holding ClientRequestTokens: migration 11 keys the token index
// by the channel's seq, and a retry after the upgrade must still find the
// message sent before it (and the same token in another channel, or of
// another sender, must still be free).
func TestMigrateTokenChannel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	openAtVersion(t, path, 10, []string{
		`INSERT INTO app_instances (id, name, created_at, updated_at) VALUES ('app', '', 0, 0), ('app2', '', 0, 0)`,
		`INSERT INTO channels (app_instance_id, channel_id, name, mode, privacy, created_by_kind, created_by_id, created_at, updated_at) VALUES
			('app', 'c1', 'one', 'UNRESTRICTED', 'PUBLIC', 'user', 'u', 1, 1),
			('app', 'c2', 'two', 'UNRESTRICTED', 'PUBLIC', 'user', 'u', 1, 1),
			('app2', 'c1', 'one', 'UNRESTRICTED', 'PUBLIC', 'user', 'u', 1, 1)`,
		`INSERT INTO channel_messages (message_id, app_instance_id, channel_id, type, sender_kind, sender_id, status, created_at, updated_at,
			client_token, request_fingerprint) VALUES
			('m1', 'app', 'c1', 'STANDARD', 'user', 'u', 'SENT', 1, 1, 't', 'f1'),
			('m2', 'app', 'c2', 'STANDARD', 'user', 'u', 'SENT', 2, 2, NULL, NULL)`,
	})
	db := openTemp(t, path)
	ctx := t.Context()
	if n := countRows(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'channel_messages_by_age'`); n != 0 {
		t.Errorf("channel_messages_by_age still exists")
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM channel_messages WHERE token_channel IS NOT NULL`); n != 1 {
		t.Errorf("%d messages with a token_channel, want m1's alone", n)
	}
	u := store.Actor{Kind: store.MemberUser, ID: "u"}
	var prev store.ChannelMessage
	err := db.View(ctx, func(tx store.ReadTx) error {
		var err error
		prev, err = tx.GetChannelMessageByToken(ctx, "app", "c1", u, "t")
		return err
	})
	if err != nil || prev.MessageID != "m1" || prev.RequestFingerprint != "f1" {
		t.Fatalf("GetChannelMessageByToken after the migration = %+v, %v; want m1", prev, err)
	}
	at := time.UnixMilli(3).UTC()
	for _, tc := range []struct {
		app, channel string
		sender       store.Actor
		stored       bool
	}{
		{"app", "c1", u, false}, // the retry
		{"app", "c1", store.Actor{Kind: store.MemberBot, ID: "u"}, true},
		{"app", "c2", u, true},
		{"app2", "c1", u, true},
	} {
		m := store.ChannelMessage{AppInstanceID: tc.app, ChannelID: tc.channel, MessageID: "n-" + tc.app + "-" + tc.channel + "-" + string(tc.sender.Kind),
			Type: "STANDARD", Sender: tc.sender, Status: "SENT", CreatedAt: at, UpdatedAt: at, ClientToken: "t", RequestFingerprint: "f2"}
		var stored bool
		err := db.Update(ctx, func(tx store.Tx) error {
			var err error
			_, stored, err = tx.CreateChannelMessageOnce(ctx, m, "scope", at.Add(-time.Hour))
			return err
		})
		if err != nil || stored != tc.stored {
			t.Errorf("CreateChannelMessageOnce in %s/%s by %v = %v, %v; want %v", tc.app, tc.channel, tc.sender, stored, err, tc.stored)
		}
	}
	checkForeignKeys(t, db)
}
