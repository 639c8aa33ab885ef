package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// The orphan tests walk every table the schema has, including ones later
// migrations add, so that a new table without a cascading reference to what
// it belongs to fails here rather than leaking rows in production.

const orphanArn = "arn:aws:chime:us-east-1:111122223333:app-instance/app"

// serverWide tables belong to no app instance.
// The delivery queue is one of them: what a committed change queued is
// delivered even after its app instance is gone. So is the event outbox,
// for the same reason (a DELETE_CHANNEL is published after the delete).
var serverWide = map[string]bool{"schema_migrations": true, "server_secrets": true, "deliveries": true, "outbox": true}

// createEverything stores, in app instance "app", two users, two bots, two
// channel flows and two channels (c1 with flow f1, c2 with f2), with a row
// of every table belonging to each: u1, b1, c1 and f1 are the ones the
// tests delete, u2, b2, c2 and f2 must keep theirs.
func createEverything(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: "app", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutRetentionSettings(ctx, store.RetentionSettings{AppInstanceID: "app", UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutIdempotencyRecord(ctx, store.IdempotencyRecord{Scope: "app", Token: "t", AppInstanceID: "app", CreatedAt: now}); err != nil {
			return err
		}
		for _, n := range []string{"1", "2"} {
			u, b, c, e, f := "u"+n, "b"+n, "c"+n, "e"+n, "f"+n
			for _, w := range []func() error{
				func() error {
					_, err := tx.CreateAppInstanceUser(ctx, store.AppInstanceUser{AppInstanceID: "app", UserID: u, CreatedAt: now, UpdatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateAppInstanceBot(ctx, store.AppInstanceBot{AppInstanceID: "app", BotID: b, CreatedAt: now, UpdatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateAppInstanceAdmin(ctx, store.AppInstanceAdmin{AppInstanceID: "app", Kind: store.MemberBot, MemberID: b, CreatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateAppInstanceAdmin(ctx, store.AppInstanceAdmin{AppInstanceID: "app", Kind: store.MemberUser, MemberID: u, CreatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateAppInstanceUserEndpoint(ctx, store.AppInstanceUserEndpoint{AppInstanceID: "app", UserID: u, EndpointID: e,
						Type: "GCM", DeviceToken: "d" + n, AllowMessages: "ALL", CreatedAt: now, UpdatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateChannelFlow(ctx, store.ChannelFlow{AppInstanceID: "app", FlowID: f, Processors: "[]", CreatedAt: now, UpdatedAt: now})
					return err
				},
				func() error {
					_, err := tx.CreateChannel(ctx, store.Channel{AppInstanceID: "app", ChannelID: c, Mode: "UNRESTRICTED", Privacy: "PUBLIC",
						CreatedByKind: store.MemberUser, CreatedByID: u, CreatedAt: now, UpdatedAt: now, FlowID: f,
						Elastic:    &store.ElasticConfig{MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 2, MinimumMembershipPercentage: 1},
						Expiration: &store.ChannelExpiration{Criterion: "CREATED_TIMESTAMP", Days: 1, At: now}})
					return err
				},
				func() error {
					_, err := tx.CreateSubChannel(ctx, store.SubChannel{AppInstanceID: "app", ChannelID: c, SubChannelID: "s" + n, CreatedAt: now})
					return err
				},
				func() error {
					return tx.CreateFlowJob(ctx, store.FlowJob{CallbackID: "cb" + n, AppInstanceID: "app", ChannelID: c, MessageID: "m" + n,
						Message: "{}", FlowID: f, ProcessorArn: "arn:aws:lambda:us-east-1:111122223333:function:p", Fallback: "ABORT",
						State: store.FlowJobInvoking, NextAttemptAt: now, Deadline: now, CreatedAt: now, UpdatedAt: now})
				},
				func() error { return tx.PutTags(ctx, "app", orphanArn+"/user/"+u, []store.Tag{{Key: "k", Value: "v"}}) },
				func() error { return tx.PutTags(ctx, "app", orphanArn+"/bot/"+b, []store.Tag{{Key: "k", Value: "v"}}) },
				func() error {
					return tx.PutTags(ctx, "app", orphanArn+"/channel/"+c, []store.Tag{{Key: "k", Value: "v"}})
				},
				func() error {
					return tx.CreateCredential(ctx, store.Credential{AccessKeyID: "AK" + n, SecretAccessKey: "s", UserArn: orphanArn + "/user/" + u, CreatedAt: now})
				},
			} {
				if err := w(); err != nil {
					return err
				}
			}
			for _, owner := range []store.IdempotencyRecord{{UserID: u}, {BotID: b}, {EndpointID: e}, {ChannelID: c}, {FlowID: f}} {
				owner.Scope, owner.Token, owner.AppInstanceID, owner.CreatedAt = fmt.Sprintf("%+v", owner), "t", "app", now
				if err := tx.PutIdempotencyRecord(ctx, owner); err != nil {
					return err
				}
			}
		}
		// Every user and bot is a member, moderator and banned member of
		// both channels, and sends to each.
		for _, c := range []string{"c1", "c2"} {
			for _, m := range []store.Actor{{Kind: store.MemberUser, ID: "u1"}, {Kind: store.MemberUser, ID: "u2"}, {Kind: store.MemberBot, ID: "b1"}, {Kind: store.MemberBot, ID: "b2"}} {
				if _, err := tx.CreateChannelMembership(ctx, store.ChannelMembership{AppInstanceID: "app", ChannelID: c, Member: m, Type: "DEFAULT",
					InvitedBy: m, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				for _, k := range []store.GrantKind{store.Moderator, store.Ban} {
					if _, err := tx.CreateChannelGrant(ctx, k, store.ChannelGrant{AppInstanceID: "app", ChannelID: c, Member: m, CreatedBy: m, CreatedAt: now}); err != nil {
						return err
					}
				}
				if _, err := tx.CreateChannelMessage(ctx, store.ChannelMessage{AppInstanceID: "app", ChannelID: c, MessageID: c + m.ID,
					Type: "STANDARD", Status: "SENT", Sender: m, Target: &m, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
		}
		return tx.PutStreamingConfigurations(ctx, "app", []store.StreamingConfiguration{
			{AppInstanceID: "app", DataType: "Channel", ResourceArn: "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-x", CreatedAt: now}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tables returns the names of the schema's tables.
func tables(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.readers.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// columns returns the names of table's columns.
func columns(t *testing.T, db *DB, table string) []string {
	t.Helper()
	rows, err := db.readers.QueryContext(t.Context(), `SELECT name FROM pragma_table_info(?)`, table)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func countRows(t *testing.T, db *DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.readers.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkForeignKeys fails t if any row references one that does not exist.
func checkForeignKeys(t *testing.T, db *DB) {
	t.Helper()
	rows, err := db.conn.QueryContext(t.Context(), `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid, fkid any
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			t.Fatal(err)
		}
		t.Errorf("row %v of %s references a missing %s", rowid, table, parent)
	}
}

// The fixture covers every table, so that the tests below check them all.
func checkEveryTableHasRows(t *testing.T, db *DB) {
	t.Helper()
	all := tables(t, db)
	if len(all) < 13 {
		t.Errorf("only %d tables found: %v", len(all), all)
	}
	for _, table := range all {
		if !serverWide[table] && countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`) == 0 {
			t.Errorf("createEverything stores no row in %s: add one", table)
		}
	}
}

func TestDeleteAppInstanceLeavesNoRows(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	createEverything(t, db)
	checkEveryTableHasRows(t, db)
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteAppInstance(ctx, "app"); err != nil {
			return err
		}
		_, err := tx.DeleteCredentialsByAppInstance(ctx, orphanArn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables(t, db) {
		if serverWide[table] {
			continue
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`); n != 0 {
			t.Errorf("table %s has %d rows after the app instance was deleted", table, n)
		}
	}
}

// TestDeleteMembersAndChannelLeavesNoRows deletes a user, a bot, a channel
// and then its flow as the service does (the store's delete, plus the tags
// and credentials the caller deletes), then looks in every column that
// names a user, bot, endpoint, channel or flow for the deleted ones.
// Messages name their sender and target in columns of their own, and keep
// them on purpose.
func TestDeleteMembersAndChannelLeavesNoRows(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	createEverything(t, db)
	checkEveryTableHasRows(t, db)
	before := map[string]int{}
	for _, table := range tables(t, db) {
		before[table] = countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`)
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		for _, del := range []func() error{
			func() error { return tx.DeleteAppInstanceUser(ctx, "app", "u1") },
			func() error { _, err := tx.DeleteCredentialsByUser(ctx, orphanArn+"/user/u1"); return err },
			func() error { _, err := tx.DeleteAllTags(ctx, orphanArn+"/user/u1"); return err },
			func() error { return tx.DeleteAppInstanceBot(ctx, "app", "b1") },
			func() error { _, err := tx.DeleteAllTags(ctx, orphanArn+"/bot/b1"); return err },
			func() error { return tx.DeleteChannel(ctx, "app", "c1") },
			func() error { _, err := tx.DeleteAllTags(ctx, orphanArn+"/channel/c1"); return err },
			func() error { return tx.DeleteChannelFlow(ctx, "app", "f1") }, // c1 named it
		} {
			if err := del(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	deleted := map[string][]string{
		"user_id":      {"u1"},
		"bot_id":       {"b1"},
		"endpoint_id":  {"e1"},
		"channel_id":   {"c1"},
		"flow_id":      {"f1"},
		"user_arn":     {orphanArn + "/user/u1"},
		"resource_arn": {orphanArn + "/user/u1", orphanArn + "/bot/b1", orphanArn + "/channel/c1"},
	}
	checked := 0
	for _, table := range tables(t, db) {
		cols := columns(t, db, table)
		for _, col := range cols {
			for _, v := range deleted[col] {
				checked++
				if n := countRows(t, db, `SELECT COUNT(*) FROM "`+table+`" WHERE "`+col+`" = ?`, v); n != 0 {
					t.Errorf("%s has %d rows with %s = %s after it was deleted", table, n, col, v)
				}
			}
		}
		// What belongs to the others stays.
		if !serverWide[table] && countRows(t, db, `SELECT COUNT(*) FROM "`+table+`"`) == 0 {
			t.Errorf("%s is empty: deleting u1, b1 and c1 took u2's, b2's or c2's rows too", table)
		}
		if slices.Contains(cols, "sender_id") {
			// c2 keeps the messages of the deleted sender; c1's went with it.
			if n := countRows(t, db, `SELECT COUNT(*) FROM "`+table+`" WHERE sender_id IN ('u1', 'b1')`); n != 2 {
				t.Errorf("%s: %d messages of the deleted senders, want c2's 2", table, n)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d table columns checked", checked)
	}
	checkForeignKeys(t, db)
	// Of 2 channels × 4 members, c2's memberships of u2 and b2 remain.
	if n, was := countRows(t, db, `SELECT COUNT(*) FROM channel_memberships`), before["channel_memberships"]; n != was/4 {
		t.Errorf("channel_memberships: %d rows of %d remain, want %d", n, was, was/4)
	}
}
