package service

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/sweeper"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	region  = "us-east-1"
	account = "111122223333"
)

// newService returns a Service on a fresh temp-file SQLite store, with its
// clock.
func newService(t *testing.T) (*Service, *clock, store.Store) {
	t.Helper()
	st := openStore(t, current)
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	s, err := New(t.Context(), st, Config{Region: region, AccountID: account, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, st
}

func p[T any](v T) *T { return &v }

// wantKind fails t unless err is a *chime.Error of kind.
func wantKind(t *testing.T, err error, kind chime.ErrorKind, what string) {
	t.Helper()
	if got := chime.KindOf(err); got != kind {
		t.Errorf("%s: err = %v, want %s", what, err, kind)
	}
}

// must returns v, or panics (failing the test with a stack) if err is not
// nil. It takes no *testing.T so that it can wrap a call's two results.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func createApp(t testing.TB, s *Service) string {
	t.Helper()
	return *must(s.CreateAppInstance(t.Context(), &chime.CreateAppInstanceRequest{Name: p("app"), ClientRequestToken: p(fmt.Sprint(time.Now().UnixNano()))})).AppInstanceArn
}

func createUser(t testing.TB, s *Service, app, id string) string {
	t.Helper()
	return *must(s.CreateAppInstanceUser(t.Context(), &chime.CreateAppInstanceUserRequest{AppInstanceArn: &app, AppInstanceUserId: &id, Name: &id})).AppInstanceUserArn
}

func TestPageKeyPersists(t *testing.T) {
	s, _, st := newService(t)
	s2, err := New(t.Context(), st, Config{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.pageKey) != string(s2.pageKey) || len(s.pageKey) != 32 {
		t.Errorf("page key not shared: %x vs %x", s.pageKey, s2.pageKey)
	}
}

func TestNotFoundAndBadArns(t *testing.T) {
	s, _, _ := newService(t)
	ctx := t.Context()
	app := createApp(t, s)
	missingApp := "arn:aws:chime:us-east-1:111122223333:app-instance/00000000-0000-4000-8000-000000000000"
	otherAccount := "arn:aws:chime:us-east-1:999999999999:app-instance/x"
	tests := []struct {
		name string
		call func() error
		kind chime.ErrorKind
	}{
		{"describe missing app", func() error {
			_, err := s.DescribeAppInstance(ctx, &chime.DescribeAppInstanceRequest{AppInstanceArn: &missingApp})
			return err
		}, chime.NotFound},
		{"other account", func() error {
			_, err := s.DescribeAppInstance(ctx, &chime.DescribeAppInstanceRequest{AppInstanceArn: &otherAccount})
			return err
		}, chime.NotFound},
		{"user ARN for app", func() error {
			_, err := s.DescribeAppInstance(ctx, &chime.DescribeAppInstanceRequest{AppInstanceArn: p(app + "/user/u")})
			return err
		}, chime.BadRequest},
		{"describe missing user", func() error {
			_, err := s.DescribeAppInstanceUser(ctx, &chime.DescribeAppInstanceUserRequest{AppInstanceUserArn: p(app + "/user/none")})
			return err
		}, chime.NotFound},
		{"describe missing bot", func() error {
			_, err := s.DescribeAppInstanceBot(ctx, &chime.DescribeAppInstanceBotRequest{AppInstanceBotArn: p(app + "/bot/none")})
			return err
		}, chime.NotFound},
		{"list users of missing app", func() error {
			_, err := s.ListAppInstanceUsers(ctx, &chime.ListAppInstanceUsersRequest{AppInstanceArn: &missingApp})
			return err
		}, chime.NotFound},
		{"admin of missing user", func() error {
			_, err := s.CreateAppInstanceAdmin(ctx, &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &app, AppInstanceAdminArn: p(app + "/user/none")})
			return err
		}, chime.NotFound},
		{"admin of other app instance", func() error {
			_, err := s.CreateAppInstanceAdmin(ctx, &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &app, AppInstanceAdminArn: p(missingApp + "/user/u")})
			return err
		}, chime.BadRequest},
		{"tag missing channel", func() error {
			return s.TagResource(ctx, &chime.TagResourceRequest{ResourceARN: p(app + "/channel/c"), Tags: []chime.Tag{{Key: p("k"), Value: p("v")}}})
		}, chime.NotFound},
		{"delete missing endpoint", func() error {
			u := createUser(t, s, app, "eu")
			return s.DeregisterAppInstanceUserEndpoint(ctx, &chime.DeregisterAppInstanceUserEndpointRequest{AppInstanceUserArn: &u, EndpointId: p("nope")})
		}, chime.NotFound},
		{"bot without InvokedBy", func() error {
			_, err := s.CreateAppInstanceBot(ctx, &chime.CreateAppInstanceBotRequest{AppInstanceArn: &app, Configuration: &chime.Configuration{Lex: &chime.LexConfiguration{LexBotAliasArn: p("a"), LocaleId: p("en_US")}}})
			return err
		}, chime.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, tt.call(), tt.kind, tt.name) })
	}
}

func TestIdempotency(t *testing.T) {
	s, clk, _ := newService(t)
	ctx := t.Context()
	req := &chime.CreateAppInstanceRequest{Name: p("a"), ClientRequestToken: p("tok-1")}
	a := must(s.CreateAppInstance(ctx, req))
	b := must(s.CreateAppInstance(ctx, req))
	if *a.AppInstanceArn != *b.AppInstanceArn {
		t.Errorf("retry created %s, first %s", *b.AppInstanceArn, *a.AppInstanceArn)
	}
	_, err := s.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p("b"), ClientRequestToken: p("tok-1")})
	wantKind(t, err, chime.Conflict, "same token, other name")

	// After the window the token is forgotten.
	clk.Advance(IdempotencyWindow + time.Second)
	c := must(s.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p("b"), ClientRequestToken: p("tok-1")}))
	if *c.AppInstanceArn == *a.AppInstanceArn {
		t.Errorf("token not forgotten after the window")
	}
}

func TestQuotas(t *testing.T) {
	s, _, _ := newService(t)
	ctx := t.Context()
	for i := range MaxAppInstances {
		must(s.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p("a"), ClientRequestToken: p(fmt.Sprint("t", i))}))
	}
	_, err := s.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p("a"), ClientRequestToken: p("over")})
	wantKind(t, err, chime.ResourceLimitExceeded, "101st app instance")

	list := must(s.ListAppInstances(ctx, &chime.ListAppInstancesRequest{}))
	app := *list.AppInstances[0].AppInstanceArn
	u := createUser(t, s, app, "u")
	for i := range MaxEndpointsPerUser {
		must(s.RegisterAppInstanceUserEndpoint(ctx, &chime.RegisterAppInstanceUserEndpointRequest{AppInstanceUserArn: &u, Type: chime.AppInstanceUserEndpointTypeGcm,
			ResourceArn: p("arn:aws:mobiletargeting:us-east-1:111122223333:apps/x"), EndpointAttributes: &chime.EndpointAttributes{DeviceToken: p(fmt.Sprint("d", i))}}))
	}
	_, err = s.RegisterAppInstanceUserEndpoint(ctx, &chime.RegisterAppInstanceUserEndpointRequest{AppInstanceUserArn: &u, Type: chime.AppInstanceUserEndpointTypeGcm,
		ResourceArn: p("x"), EndpointAttributes: &chime.EndpointAttributes{DeviceToken: p("d-over")}})
	wantKind(t, err, chime.ResourceLimitExceeded, "11th endpoint")

	tags := make([]chime.Tag, MaxTagsPerResource)
	for i := range tags {
		tags[i] = chime.Tag{Key: p(fmt.Sprint("k", i)), Value: p("v")}
	}
	if err := s.TagResource(ctx, &chime.TagResourceRequest{ResourceARN: &u, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResource(ctx, &chime.TagResourceRequest{ResourceARN: &u, Tags: tags[:1]}); err != nil {
		t.Errorf("re-tagging an existing key must not count: %v", err)
	}
	err = s.TagResource(ctx, &chime.TagResourceRequest{ResourceARN: &u, Tags: []chime.Tag{{Key: p("new"), Value: p("v")}}})
	wantKind(t, err, chime.ResourceLimitExceeded, "51st tag")
}

func TestPagination(t *testing.T) {
	s, _, _ := newService(t)
	ctx := t.Context()
	app := createApp(t, s)
	other := createApp(t, s)
	var want []string
	for i := range 7 {
		want = append(want, createUser(t, s, app, fmt.Sprintf("u%d", i)))
	}
	var got []string
	var tok *string
	pages := 0
	for {
		out := must(s.ListAppInstanceUsers(ctx, &chime.ListAppInstanceUsersRequest{AppInstanceArn: &app, MaxResults: p(int32(3)), NextToken: tok}))
		for _, u := range out.AppInstanceUsers {
			got = append(got, *u.AppInstanceUserArn)
		}
		pages++
		if pages == 1 {
			// A token from this list is refused by other lists.
			_, err := s.ListAppInstanceUsers(ctx, &chime.ListAppInstanceUsersRequest{AppInstanceArn: &other, NextToken: out.NextToken})
			wantKind(t, err, chime.BadRequest, "token of another app instance")
			_, err = s.ListAppInstanceBots(ctx, &chime.ListAppInstanceBotsRequest{AppInstanceArn: &app, NextToken: out.NextToken})
			wantKind(t, err, chime.BadRequest, "token of another operation")
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%d pages: %v, want 3 pages: %v", pages, got, want)
	}
	_, err := s.ListAppInstanceUsers(ctx, &chime.ListAppInstanceUsersRequest{AppInstanceArn: &app, NextToken: p("garbage")})
	wantKind(t, err, chime.BadRequest, "garbage token")
}

func TestSweeperDeletesExpiredUsers(t *testing.T) {
	s, clk, st := newService(t)
	ctx := t.Context()
	app := createApp(t, s)
	exp := &chime.IdentityExpirationSettings{ExpirationCriterion: chime.IdentityExpirationCriterionCreatedTimestamp, ExpirationDays: p(int32(1))}
	short := *must(s.CreateAppInstanceUser(ctx, &chime.CreateAppInstanceUserRequest{AppInstanceArn: &app, AppInstanceUserId: p("short"), Name: p("s"), ExpirationSettings: exp})).AppInstanceUserArn
	keep := createUser(t, s, app, "keep")
	extended := *must(s.CreateAppInstanceUser(ctx, &chime.CreateAppInstanceUserRequest{AppInstanceArn: &app, AppInstanceUserId: p("extended"), Name: p("e"), ExpirationSettings: exp})).AppInstanceUserArn
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.CreateCredential(ctx, store.Credential{AccessKeyID: "AKIASHORT", SecretAccessKey: "s", UserArn: short, CreatedAt: clk.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if n := must(s.Sweep(ctx)); n != 0 {
		t.Errorf("swept %d before expiry", n)
	}
	clk.Advance(23 * time.Hour)
	must(s.PutAppInstanceUserExpirationSettings(ctx, &chime.PutAppInstanceUserExpirationSettingsRequest{AppInstanceUserArn: &extended,
		ExpirationSettings: &chime.IdentityExpirationSettings{ExpirationCriterion: chime.IdentityExpirationCriterionCreatedTimestamp, ExpirationDays: p(int32(2))}}))
	clk.Advance(2 * time.Hour)
	if n := must(s.Sweep(ctx)); n != 1 {
		t.Errorf("swept %d, want 1", n)
	}
	_, err := s.DescribeAppInstanceUser(ctx, &chime.DescribeAppInstanceUserRequest{AppInstanceUserArn: &short})
	wantKind(t, err, chime.NotFound, "expired user")
	for _, u := range []string{keep, extended} {
		if _, err := s.DescribeAppInstanceUser(ctx, &chime.DescribeAppInstanceUserRequest{AppInstanceUserArn: &u}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	_ = st.View(ctx, func(tx store.ReadTx) error {
		if _, err := tx.GetCredential(ctx, "AKIASHORT"); err == nil {
			t.Errorf("the expired user's credential survived")
		}
		return nil
	})

	// The sweeper stops with its context.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sweeper.Run(rctx, s, time.Hour, nil); close(done) }()
	cancel()
	<-done
}

func TestAdminsAndRetention(t *testing.T) {
	s, clk, _ := newService(t)
	ctx := t.Context()
	app := createApp(t, s)
	u := createUser(t, s, app, "admin")
	a := must(s.CreateAppInstanceAdmin(ctx, &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &app, AppInstanceAdminArn: &u}))
	if *a.AppInstanceAdmin.Arn != u || *a.AppInstanceAdmin.Name != "admin" {
		t.Errorf("admin = %+v", a.AppInstanceAdmin)
	}
	_, err := s.CreateAppInstanceAdmin(ctx, &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &app, AppInstanceAdminArn: &u})
	wantKind(t, err, chime.Conflict, "promote twice")

	put := must(s.PutAppInstanceRetentionSettings(ctx, &chime.PutAppInstanceRetentionSettingsRequest{AppInstanceArn: &app,
		AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{RetentionDays: p(int32(5))}}}))
	if want := clk.Now().Add(RetentionGracePeriod); !put.InitiateDeletionTimestamp.Equal(want) {
		t.Errorf("InitiateDeletionTimestamp = %v, want %v", put.InitiateDeletionTimestamp, want)
	}
	clk.Advance(time.Hour)
	again := must(s.PutAppInstanceRetentionSettings(ctx, &chime.PutAppInstanceRetentionSettingsRequest{AppInstanceArn: &app,
		AppInstanceRetentionSettings: &chime.AppInstanceRetentionSettings{ChannelRetentionSettings: &chime.ChannelRetentionSettings{RetentionDays: p(int32(5))}}}))
	if !again.InitiateDeletionTimestamp.Equal(put.InitiateDeletionTimestamp.Time) {
		t.Errorf("re-putting the same settings moved InitiateDeletionTimestamp")
	}
}
