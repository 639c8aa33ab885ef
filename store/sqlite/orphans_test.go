package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// TestDeleteAppInstanceLeavesNoRows checks every table the schema has,
// including ones later migrations add: after the only app instance is
// deleted (with its users' credentials), each table that is not
// server-wide bookkeeping must be empty. A new table without a cascading
// reference to app_instances fails here.
func TestDeleteAppInstanceLeavesNoRows(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx := t.Context()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	arn := "arn:aws:chime:us-east-1:111122223333:app-instance/app"
	err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: "app", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if _, err := tx.CreateAppInstanceUser(ctx, store.AppInstanceUser{AppInstanceID: "app", UserID: "u", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		b, err := tx.CreateAppInstanceBot(ctx, store.AppInstanceBot{AppInstanceID: "app", BotID: "b", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return err
		}
		if _, err := tx.CreateAppInstanceAdmin(ctx, store.AppInstanceAdmin{AppInstanceID: "app", Kind: store.MemberBot, MemberID: b.BotID, CreatedAt: now}); err != nil {
			return err
		}
		if _, err := tx.CreateAppInstanceUserEndpoint(ctx, store.AppInstanceUserEndpoint{AppInstanceID: "app", UserID: "u", EndpointID: "e", Type: "GCM", DeviceToken: "d", AllowMessages: "ALL", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutRetentionSettings(ctx, store.RetentionSettings{AppInstanceID: "app", UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutTags(ctx, "app", arn+"/user/u", []store.Tag{{Key: "k", Value: "v"}}); err != nil {
			return err
		}
		if err := tx.PutIdempotencyRecord(ctx, store.IdempotencyRecord{Scope: "s", Token: "t", AppInstanceID: "app", EndpointID: "e", CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateCredential(ctx, store.Credential{AccessKeyID: "AK", SecretAccessKey: "s", UserArn: arn + "/user/u", CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteAppInstance(ctx, "app"); err != nil {
			return err
		}
		_, err := tx.DeleteCredentialsByAppInstance(ctx, arn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	rows, err := db.readers.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	serverWide := map[string]bool{"schema_migrations": true, "server_secrets": true}
	for _, table := range tables {
		if serverWide[table] {
			continue
		}
		var n int
		if err := db.readers.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+table+`"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("table %s has %d rows after the app instance was deleted", table, n)
		}
	}
	if len(tables) < 9 {
		t.Errorf("only %d tables found: %v", len(tables), tables)
	}
}
