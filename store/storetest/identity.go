package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

const appArn = "arn:aws:chime:us-east-1:111122223333:app-instance/"

// identityFixture is an app instance with one of everything under it.
type identityFixture struct {
	app      store.AppInstance
	user     store.AppInstanceUser
	bot      store.AppInstanceBot
	endpoint store.AppInstanceUserEndpoint
}

func (f identityFixture) userArn() string { return appArn + f.app.ID + "/user/" + f.user.UserID }

// createIdentity stores an app instance with id, and a user, bot, admins
// (both), endpoint, retention settings, tags, idempotency records and a
// credential under it.
func createIdentity(t *testing.T, s store.Store, id string) identityFixture {
	t.Helper()
	f := identityFixture{
		app: store.AppInstance{ID: id, Name: "app " + id, Metadata: "m", CreatedAt: epoch, UpdatedAt: epoch},
		user: store.AppInstanceUser{AppInstanceID: id, UserID: "alice", Name: "Alice", CreatedAt: epoch, UpdatedAt: epoch,
			Expiration: &store.UserExpiration{Criterion: "CREATED_TIMESTAMP", Days: 1, At: epoch.Add(24 * time.Hour)}},
		bot: store.AppInstanceBot{AppInstanceID: id, BotID: "bot-" + id, Name: "Bot", Configuration: []byte(`{"Lex":{}}`), CreatedAt: epoch, UpdatedAt: epoch},
		endpoint: store.AppInstanceUserEndpoint{AppInstanceID: id, UserID: "alice", EndpointID: "ep-" + id, Type: "GCM", ResourceArn: "arn:pinpoint",
			DeviceToken: "dev", AllowMessages: "ALL", CreatedAt: epoch, UpdatedAt: epoch},
	}
	days := int32(3)
	update(t, s, func(tx store.Tx) error {
		var err error
		if f.app, err = tx.CreateAppInstance(ctx(t), f.app); err != nil {
			return err
		}
		if f.user, err = tx.CreateAppInstanceUser(ctx(t), f.user); err != nil {
			return err
		}
		if f.bot, err = tx.CreateAppInstanceBot(ctx(t), f.bot); err != nil {
			return err
		}
		if f.endpoint, err = tx.CreateAppInstanceUserEndpoint(ctx(t), f.endpoint); err != nil {
			return err
		}
		for _, a := range []store.AppInstanceAdmin{{AppInstanceID: id, Kind: store.MemberUser, MemberID: "alice", CreatedAt: epoch}, {AppInstanceID: id, Kind: store.MemberBot, MemberID: f.bot.BotID, CreatedAt: epoch}} {
			if _, err := tx.CreateAppInstanceAdmin(ctx(t), a); err != nil {
				return err
			}
		}
		if err := tx.PutRetentionSettings(ctx(t), store.RetentionSettings{AppInstanceID: id, ChannelRetentionDays: &days, UpdatedAt: epoch}); err != nil {
			return err
		}
		for _, arn := range []string{appArn + id, f.userArn()} {
			if err := tx.PutTags(ctx(t), id, arn, []store.Tag{{Key: "k", Value: "v"}}); err != nil {
				return err
			}
		}
		for _, r := range []store.IdempotencyRecord{
			{Scope: "app " + id, Token: "t", AppInstanceID: id},
			{Scope: "user " + id, Token: "t", AppInstanceID: id, UserID: "alice"},
			{Scope: "bot " + id, Token: "t", AppInstanceID: id, BotID: f.bot.BotID},
			{Scope: "ep " + id, Token: "t", AppInstanceID: id, EndpointID: f.endpoint.EndpointID},
		} {
			r.CreatedAt = epoch
			if err := tx.PutIdempotencyRecord(ctx(t), r); err != nil {
				return err
			}
		}
		return tx.CreateCredential(ctx(t), store.Credential{AccessKeyID: "AK" + id, SecretAccessKey: "s", UserArn: f.userArn(), CreatedAt: epoch})
	})
	return f
}

func testIdentityCreateGet(t *testing.T, s store.Store) {
	f := createIdentity(t, s, "a1")
	view(t, s, func(tx store.ReadTx) error {
		a, err := tx.GetAppInstance(ctx(t), "a1")
		if err != nil || a != f.app || a.Seq == 0 {
			t.Errorf("GetAppInstance = %+v, %v; want %+v", a, err, f.app)
		}
		u, err := tx.GetAppInstanceUser(ctx(t), "a1", "alice")
		if err != nil || u.Name != "Alice" || u.Expiration == nil || u.Expiration.At != epoch.Add(24*time.Hour) || u.CreatedAt != epoch {
			t.Errorf("GetAppInstanceUser = %+v, %v", u, err)
		}
		b, err := tx.GetAppInstanceBot(ctx(t), "a1", f.bot.BotID)
		if err != nil || string(b.Configuration) != `{"Lex":{}}` {
			t.Errorf("GetAppInstanceBot = %+v, %v", b, err)
		}
		ad, err := tx.GetAppInstanceAdmin(ctx(t), "a1", store.MemberBot, f.bot.BotID)
		if err != nil || ad.Name != "Bot" || ad.Kind != store.MemberBot {
			t.Errorf("GetAppInstanceAdmin = %+v, %v", ad, err)
		}
		e, err := tx.GetAppInstanceUserEndpoint(ctx(t), "a1", "alice", f.endpoint.EndpointID)
		if err != nil || e != f.endpoint {
			t.Errorf("GetAppInstanceUserEndpoint = %+v, %v; want %+v", e, err, f.endpoint)
		}
		r, err := tx.GetRetentionSettings(ctx(t), "a1")
		if err != nil || r.ChannelRetentionDays == nil || *r.ChannelRetentionDays != 3 {
			t.Errorf("GetRetentionSettings = %+v, %v", r, err)
		}
		if _, err := tx.GetAppInstance(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAppInstance(nope) = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testIdentityErrors(t *testing.T, s store.Store) {
	f := createIdentity(t, s, "a1")
	tests := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate app instance", func(tx store.Tx) error { _, err := tx.CreateAppInstance(ctx(t), f.app); return err }, store.ErrConflict},
		{"duplicate user", func(tx store.Tx) error { _, err := tx.CreateAppInstanceUser(ctx(t), f.user); return err }, store.ErrConflict},
		{"user of missing app", func(tx store.Tx) error {
			u := f.user
			u.AppInstanceID = "nope"
			_, err := tx.CreateAppInstanceUser(ctx(t), u)
			return err
		}, store.ErrNotFound},
		{"duplicate admin", func(tx store.Tx) error {
			_, err := tx.CreateAppInstanceAdmin(ctx(t), store.AppInstanceAdmin{AppInstanceID: "a1", Kind: store.MemberUser, MemberID: "alice", CreatedAt: epoch})
			return err
		}, store.ErrConflict},
		{"admin of missing user", func(tx store.Tx) error {
			_, err := tx.CreateAppInstanceAdmin(ctx(t), store.AppInstanceAdmin{AppInstanceID: "a1", Kind: store.MemberUser, MemberID: "bob", CreatedAt: epoch})
			return err
		}, store.ErrNotFound},
		{"duplicate device token", func(tx store.Tx) error {
			e := f.endpoint
			e.EndpointID = "other"
			_, err := tx.CreateAppInstanceUserEndpoint(ctx(t), e)
			return err
		}, store.ErrConflict},
		{"update missing user", func(tx store.Tx) error {
			u := f.user
			u.UserID = "bob"
			return tx.UpdateAppInstanceUser(ctx(t), u)
		}, store.ErrNotFound},
		{"delete missing admin", func(tx store.Tx) error { return tx.DeleteAppInstanceAdmin(ctx(t), "a1", store.MemberUser, "bob") }, store.ErrNotFound},
		{"delete missing endpoint", func(tx store.Tx) error { return tx.DeleteAppInstanceUserEndpoint(ctx(t), "a1", "alice", "x") }, store.ErrNotFound},
		{"tags of missing app", func(tx store.Tx) error { return tx.PutTags(ctx(t), "nope", "arn", []store.Tag{{Key: "k", Value: "v"}}) }, store.ErrNotFound},
		{"duplicate secret", func(tx store.Tx) error {
			if err := tx.CreateServerSecret(ctx(t), "s", []byte{1}); err != nil {
				return err
			}
			return tx.CreateServerSecret(ctx(t), "s", []byte{2})
		}, store.ErrConflict},
	}
	for _, tt := range tests {
		if err := s.Update(ctx(t), tt.fn); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func testIdentityListPages(t *testing.T, s store.Store) {
	createIdentity(t, s, "a1")
	update(t, s, func(tx store.Tx) error {
		for i := range 5 {
			if _, err := tx.CreateAppInstanceUser(ctx(t), store.AppInstanceUser{AppInstanceID: "a1", UserID: fmt.Sprint("u", i), CreatedAt: epoch, UpdatedAt: epoch}); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []string
	after := int64(0)
	for {
		var page []store.AppInstanceUser
		view(t, s, func(tx store.ReadTx) error {
			var err error
			page, err = tx.ListAppInstanceUsers(ctx(t), "a1", store.Page{After: after, Limit: 2})
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			ids = append(ids, u.UserID)
		}
		after = page[len(page)-1].Seq
	}
	if want := "[alice u0 u1 u2 u3 u4]"; fmt.Sprint(ids) != want {
		t.Errorf("pages = %v, want %s", ids, want)
	}
}

func testIdentityExpired(t *testing.T, s store.Store) {
	createIdentity(t, s, "a1")
	view(t, s, func(tx store.ReadTx) error {
		for _, tc := range []struct {
			now  time.Time
			want int
		}{{epoch, 0}, {epoch.Add(24 * time.Hour), 1}} {
			us, err := tx.ListExpiredAppInstanceUsers(ctx(t), tc.now, 10)
			if err != nil || len(us) != tc.want {
				t.Errorf("ListExpiredAppInstanceUsers(%v) = %d users, %v; want %d", tc.now, len(us), err, tc.want)
			}
		}
		return nil
	})
}

// testIdentityDeleteLeavesNothing: deleting an app instance removes every
// record under it, and deleting a user removes its admin role, endpoints
// and idempotency records; the sibling app instance is untouched.
func testIdentityDeleteLeavesNothing(t *testing.T, s store.Store) {
	f := createIdentity(t, s, "a1")
	g := createIdentity(t, s, "a2")
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteAppInstanceUser(ctx(t), "a2", "alice"); err != nil {
			return err
		}
		if err := tx.DeleteAppInstance(ctx(t), "a1"); err != nil {
			return err
		}
		_, err := tx.DeleteCredentialsByAppInstance(ctx(t), appArn+"a1")
		return err
	})
	view(t, s, func(tx store.ReadTx) error {
		notFound := func(what string, err error) {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s after delete: err = %v, want ErrNotFound", what, err)
			}
		}
		_, err := tx.GetAppInstanceUser(ctx(t), "a1", "alice")
		notFound("user", err)
		_, err = tx.GetAppInstanceBot(ctx(t), "a1", f.bot.BotID)
		notFound("bot", err)
		_, err = tx.GetAppInstanceAdmin(ctx(t), "a1", store.MemberBot, f.bot.BotID)
		notFound("bot admin", err)
		_, err = tx.GetAppInstanceUserEndpoint(ctx(t), "a1", "alice", f.endpoint.EndpointID)
		notFound("endpoint", err)
		_, err = tx.GetRetentionSettings(ctx(t), "a1")
		notFound("retention", err)
		_, err = tx.GetCredential(ctx(t), "AKa1")
		notFound("credential", err)
		for _, sc := range []string{"app a1", "user a1", "bot a1", "ep a1", "user a2", "ep a2"} {
			_, err = tx.GetIdempotencyRecord(ctx(t), sc, "t")
			notFound("idempotency record "+sc, err)
		}
		if tags, _ := tx.ListTags(ctx(t), appArn+"a1"); len(tags) != 0 {
			t.Errorf("tags of the deleted app instance: %v", tags)
		}
		// a2 lost only its user's records.
		_, err = tx.GetAppInstanceAdmin(ctx(t), "a2", store.MemberUser, "alice")
		notFound("admin role of deleted user", err)
		_, err = tx.GetAppInstanceUserEndpoint(ctx(t), "a2", "alice", g.endpoint.EndpointID)
		notFound("endpoint of deleted user", err)
		if _, err := tx.GetAppInstanceBot(ctx(t), "a2", g.bot.BotID); err != nil {
			t.Errorf("a2's bot: %v", err)
		}
		if _, err := tx.GetIdempotencyRecord(ctx(t), "bot a2", "t"); err != nil {
			t.Errorf("a2's bot idempotency record: %v", err)
		}
		if n, _ := tx.CountAppInstances(ctx(t)); n != 1 {
			t.Errorf("CountAppInstances = %d, want 1", n)
		}
		return nil
	})
}

func testTags(t *testing.T, s store.Store) {
	createIdentity(t, s, "a1")
	arn := appArn + "a1"
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutTags(ctx(t), "a1", arn, []store.Tag{{Key: "b", Value: "1"}, {Key: "k", Value: "2"}}); err != nil {
			return err
		}
		return tx.DeleteTags(ctx(t), arn, []string{"b", "absent"})
	})
	view(t, s, func(tx store.ReadTx) error {
		tags, err := tx.ListTags(ctx(t), arn)
		if err != nil || fmt.Sprint(tags) != "[{k 2}]" {
			t.Errorf("ListTags = %v, %v", tags, err)
		}
		return nil
	})
}
