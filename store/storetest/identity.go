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
		// The store deletes the users' credentials too: they are keyed
		// by ARN, not by foreign key.
		return tx.DeleteAppInstance(ctx(t), "a1")
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
		_, err = tx.GetCredential(ctx(t), "AKa2")
		notFound("credential of deleted user", err)
		if tags, _ := tx.ListTags(ctx(t), appArn+"a2/user/alice"); len(tags) != 0 {
			t.Errorf("tags of the deleted user: %v", tags)
		}
		if tags, _ := tx.ListTags(ctx(t), appArn+"a2"); len(tags) != 1 {
			t.Errorf("tags of a2, whose user was deleted: %v, want its one tag", tags)
		}
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

func testIdentityUpdates(t *testing.T, s store.Store) {
	f := createIdentity(t, s, "a1")
	later := epoch.Add(time.Hour)
	f.app.Name, f.app.Metadata, f.app.UpdatedAt = "renamed", "m2", later
	f.bot.Name, f.bot.Metadata, f.bot.Configuration, f.bot.UpdatedAt = "Bot 2", "bm", []byte(`{"Lex":{"x":1}}`), later
	// Only Name, AllowMessages and UpdatedAt change.
	f.endpoint.Name, f.endpoint.ResourceArn, f.endpoint.DeviceToken, f.endpoint.AllowMessages, f.endpoint.UpdatedAt = "phone", "arn:pinpoint2", "dev2", "NONE", later
	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateAppInstance(ctx(t), f.app); err != nil {
			return err
		}
		if err := tx.UpdateAppInstanceBot(ctx(t), f.bot); err != nil {
			return err
		}
		return tx.UpdateAppInstanceUserEndpoint(ctx(t), f.endpoint)
	})
	view(t, s, func(tx store.ReadTx) error {
		a, err := tx.GetAppInstance(ctx(t), "a1")
		if err != nil || a.Name != "renamed" || a.Metadata != "m2" || !a.UpdatedAt.Equal(later) || !a.CreatedAt.Equal(epoch) {
			t.Errorf("app instance after update = %+v, %v", a, err)
		}
		b, err := tx.GetAppInstanceBot(ctx(t), "a1", f.bot.BotID)
		if err != nil || b.Name != "Bot 2" || b.Metadata != "bm" || string(b.Configuration) != `{"Lex":{"x":1}}` || !b.UpdatedAt.Equal(later) {
			t.Errorf("bot after update = %+v, %v", b, err)
		}
		e, err := tx.GetAppInstanceUserEndpoint(ctx(t), "a1", "alice", f.endpoint.EndpointID)
		if err != nil || e.Name != "phone" || e.ResourceArn != "arn:pinpoint" || e.DeviceToken != "dev" || e.AllowMessages != "NONE" || !e.UpdatedAt.Equal(later) {
			t.Errorf("endpoint after update = %+v, %v", e, err)
		}
		return nil
	})
	// Updating what does not exist is ErrNotFound, and changes nothing.
	for name, fn := range map[string]func(tx store.Tx) error{
		"app instance": func(tx store.Tx) error {
			return tx.UpdateAppInstance(ctx(t), store.AppInstance{ID: "absent", UpdatedAt: later})
		},
		"bot": func(tx store.Tx) error {
			return tx.UpdateAppInstanceBot(ctx(t), store.AppInstanceBot{AppInstanceID: "a1", BotID: "absent", Configuration: []byte("{}"), UpdatedAt: later})
		},
		"endpoint": func(tx store.Tx) error {
			return tx.UpdateAppInstanceUserEndpoint(ctx(t), store.AppInstanceUserEndpoint{AppInstanceID: "a1", UserID: "alice", EndpointID: "absent", UpdatedAt: later})
		},
	} {
		wantErr(t, "update absent "+name, s.Update(ctx(t), fn), store.ErrNotFound)
	}
}

func testIdentityListsCounts(t *testing.T, s store.Store) {
	for _, id := range []string{"a1", "a2", "a3"} {
		createIdentity(t, s, id)
	}
	update(t, s, func(tx store.Tx) error {
		for i := range 2 {
			u := store.AppInstanceUser{AppInstanceID: "a1", UserID: fmt.Sprintf("u%d", i), Name: "U", CreatedAt: epoch, UpdatedAt: epoch}
			if _, err := tx.CreateAppInstanceUser(ctx(t), u); err != nil {
				return err
			}
			b := store.AppInstanceBot{AppInstanceID: "a1", BotID: fmt.Sprintf("b%d", i), Name: "B", Configuration: []byte("{}"), CreatedAt: epoch, UpdatedAt: epoch}
			if _, err := tx.CreateAppInstanceBot(ctx(t), b); err != nil {
				return err
			}
			e := store.AppInstanceUserEndpoint{AppInstanceID: "a1", UserID: "alice", EndpointID: fmt.Sprintf("e%d", i), Type: "APNS", ResourceArn: "arn:pinpoint",
				DeviceToken: fmt.Sprintf("d%d", i), AllowMessages: "ALL", CreatedAt: epoch, UpdatedAt: epoch}
			if _, err := tx.CreateAppInstanceUserEndpoint(ctx(t), e); err != nil {
				return err
			}
			if _, err := tx.CreateAppInstanceAdmin(ctx(t), store.AppInstanceAdmin{AppInstanceID: "a1", Kind: store.MemberUser, MemberID: u.UserID, CreatedAt: epoch}); err != nil {
				return err
			}
		}
		return nil
	})
	apps := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.AppInstance, error) {
		return tx.ListAppInstances(ctx(t), p)
	},
		func(a store.AppInstance) int64 { return a.Seq }, nil)
	checkEqual(t, "ListAppInstances", ids(apps, func(a store.AppInstance) string { return a.ID }), []string{"a1", "a2", "a3"})
	bots := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.AppInstanceBot, error) {
		return tx.ListAppInstanceBots(ctx(t), "a1", p)
	}, func(b store.AppInstanceBot) int64 { return b.Seq }, nil)
	checkEqual(t, "ListAppInstanceBots", ids(bots, func(b store.AppInstanceBot) string { return b.BotID }), []string{"bot-a1", "b0", "b1"})
	admins := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.AppInstanceAdmin, error) {
		return tx.ListAppInstanceAdmins(ctx(t), "a1", p)
	}, func(a store.AppInstanceAdmin) int64 { return a.Seq }, nil)
	checkEqual(t, "ListAppInstanceAdmins", ids(admins, func(a store.AppInstanceAdmin) string { return string(a.Kind) + ":" + a.MemberID + ":" + a.Name }),
		[]string{"user:alice:Alice", "bot:bot-a1:Bot", "user:u0:U", "user:u1:U"})
	eps := readPages(t, s, 2, func(tx store.ReadTx, p store.Page) ([]store.AppInstanceUserEndpoint, error) {
		return tx.ListAppInstanceUserEndpoints(ctx(t), "a1", "alice", p)
	}, func(e store.AppInstanceUserEndpoint) int64 { return e.Seq }, nil)
	checkEqual(t, "ListAppInstanceUserEndpoints", ids(eps, func(e store.AppInstanceUserEndpoint) string { return e.EndpointID }), []string{"ep-a1", "e0", "e1"})
	view(t, s, func(tx store.ReadTx) error {
		for what, c := range map[string]struct {
			n    func() (int, error)
			want int
		}{
			"CountAppInstances":                  {func() (int, error) { return tx.CountAppInstances(ctx(t)) }, 3},
			"CountAppInstanceUsers a1":           {func() (int, error) { return tx.CountAppInstanceUsers(ctx(t), "a1") }, 3},
			"CountAppInstanceUsers a2":           {func() (int, error) { return tx.CountAppInstanceUsers(ctx(t), "a2") }, 1},
			"CountAppInstanceUsers absent":       {func() (int, error) { return tx.CountAppInstanceUsers(ctx(t), "absent") }, 0},
			"CountAppInstanceAdmins a1":          {func() (int, error) { return tx.CountAppInstanceAdmins(ctx(t), "a1") }, 4},
			"CountAppInstanceAdmins a2":          {func() (int, error) { return tx.CountAppInstanceAdmins(ctx(t), "a2") }, 2},
			"CountAppInstanceUserEndpoints a1":   {func() (int, error) { return tx.CountAppInstanceUserEndpoints(ctx(t), "a1", "alice") }, 3},
			"CountAppInstanceUserEndpoints none": {func() (int, error) { return tx.CountAppInstanceUserEndpoints(ctx(t), "a1", "u0") }, 0},
		} {
			if n, err := c.n(); err != nil || n != c.want {
				t.Errorf("%s = %d, %v; want %d", what, n, err, c.want)
			}
		}
		return nil
	})
}

// ids maps records to their ids, for comparisons.
func ids[T any](rs []T, id func(T) string) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, id(r))
	}
	return out
}

// testBotDeleteLeavesNothing: deleting a bot takes its admin role,
// idempotency records and tags (keyed by ARN) with it, and nothing of
// another bot's.
func testBotDeleteLeavesNothing(t *testing.T, s store.Store) {
	f := createIdentity(t, s, "a1")
	botArn := appArn + "a1/bot/" + f.bot.BotID
	other := store.AppInstanceBot{AppInstanceID: "a1", BotID: f.bot.BotID + "-2", Name: "B", Configuration: []byte("{}"), CreatedAt: epoch, UpdatedAt: epoch}
	otherArn := appArn + "a1/bot/" + other.BotID
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstanceBot(ctx(t), other); err != nil {
			return err
		}
		for _, arn := range []string{botArn, otherArn} {
			if err := tx.PutTags(ctx(t), "a1", arn, []store.Tag{{Key: "k", Value: "v"}}); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteAppInstanceBot(ctx(t), "a1", f.bot.BotID) })
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetAppInstanceAdmin(ctx(t), "a1", store.MemberBot, f.bot.BotID)
		wantErr(t, "admin role of the deleted bot", err, store.ErrNotFound)
		_, err = tx.GetIdempotencyRecord(ctx(t), "bot a1", "t")
		wantErr(t, "idempotency record of the deleted bot", err, store.ErrNotFound)
		if tags, _ := tx.ListTags(ctx(t), botArn); len(tags) != 0 {
			t.Errorf("tags of the deleted bot: %v", tags)
		}
		if tags, _ := tx.ListTags(ctx(t), otherArn); len(tags) != 1 {
			t.Errorf("tags of the other bot: %v, want its one", tags)
		}
		if _, err := tx.GetAppInstanceBot(ctx(t), "a1", other.BotID); err != nil {
			t.Errorf("the other bot: %v", err)
		}
		return nil
	})
	wantErr(t, "delete the bot again", s.Update(ctx(t), func(tx store.Tx) error { return tx.DeleteAppInstanceBot(ctx(t), "a1", f.bot.BotID) }), store.ErrNotFound)
}

func testDeleteAllTags(t *testing.T, s store.Store) {
	createIdentity(t, s, "a1")
	arn := appArn + "a1"
	update(t, s, func(tx store.Tx) error {
		return tx.PutTags(ctx(t), "a1", arn, []store.Tag{{Key: "b", Value: "1"}, {Key: "c", Value: "2"}})
	})
	var n int
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteAllTags(ctx(t), arn)
		return err
	})
	if n != 3 { // k from createIdentity, b and c
		t.Errorf("DeleteAllTags = %d, want 3", n)
	}
	view(t, s, func(tx store.ReadTx) error {
		if tags, _ := tx.ListTags(ctx(t), arn); len(tags) != 0 {
			t.Errorf("tags after DeleteAllTags: %v", tags)
		}
		if tags, _ := tx.ListTags(ctx(t), appArn+"a1/user/alice"); len(tags) != 1 {
			t.Errorf("another resource's tags: %v, want its one", tags)
		}
		return nil
	})
}

func testIdempotencyExpiry(t *testing.T, s store.Store) {
	createIdentity(t, s, "a1") // four records, created at epoch
	update(t, s, func(tx store.Tx) error {
		return tx.PutIdempotencyRecord(ctx(t), store.IdempotencyRecord{Scope: "late", Token: "t", Fingerprint: "f", Result: "r", AppInstanceID: "a1", CreatedAt: epoch.Add(time.Hour)})
	})
	var n int
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecordsBefore(ctx(t), epoch.Add(time.Minute))
		return err
	})
	if n != 4 {
		t.Errorf("DeleteIdempotencyRecordsBefore = %d, want 4", n)
	}
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetIdempotencyRecord(ctx(t), "app a1", "t")
		wantErr(t, "expired record", err, store.ErrNotFound)
		r, err := tx.GetIdempotencyRecord(ctx(t), "late", "t")
		if err != nil || r.Fingerprint != "f" || r.Result != "r" || !r.CreatedAt.Equal(epoch.Add(time.Hour)) {
			t.Errorf("the younger record = %+v, %v", r, err)
		}
		return nil
	})
	// The bound is exclusive: a record created at it stays.
	update(t, s, func(tx store.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecordsBefore(ctx(t), epoch.Add(time.Hour))
		return err
	})
	if n != 0 {
		t.Errorf("DeleteIdempotencyRecordsBefore(its creation) = %d, want 0", n)
	}
}

func testServerSecret(t *testing.T, s store.Store) {
	view(t, s, func(tx store.ReadTx) error {
		_, err := tx.GetServerSecret(ctx(t), "k")
		wantErr(t, "absent secret", err, store.ErrNotFound)
		return nil
	})
	key := []byte{0, 1, 2, 0xff, 0}
	update(t, s, func(tx store.Tx) error { return tx.CreateServerSecret(ctx(t), "k", key) })
	// A second create, say by a node starting at the same time, conflicts
	// and keeps the first value.
	wantErr(t, "create again", s.Update(ctx(t), func(tx store.Tx) error { return tx.CreateServerSecret(ctx(t), "k", []byte("other")) }), store.ErrConflict)
	view(t, s, func(tx store.ReadTx) error {
		got, err := tx.GetServerSecret(ctx(t), "k")
		if err != nil || string(got) != string(key) {
			t.Errorf("GetServerSecret = %x, %v; want %x", got, err, key)
		}
		return nil
	})
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
