package keyring

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

func openWithUser(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Millisecond)
	err = st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: "a1", Name: "app", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		_, err := tx.CreateAppInstanceUser(ctx, store.AppInstanceUser{AppInstanceID: "a1", UserID: "alice", Name: "Alice", CreatedAt: now, UpdatedAt: now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func presigned(t *testing.T, akid, secret, token string, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://127.0.0.1:8401/connect?userArn="+url.QueryEscape(user)+"&X-Amz-Expires=10", nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "chime", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", u, nil)
	r.RequestURI = r.URL.RequestURI()
	return r
}

func TestTemporaryCredentials(t *testing.T) {
	ctx := context.Background()
	st := openWithUser(t)
	now := time.Now()
	s, err := IssueSession(ctx, st, "us-east-1", "111122223333", user, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.AccessKeyID, "BSIA") || len(s.AccessKeyID) != 20 || len(s.SecretAccessKey) != 40 || s.SessionToken == "" {
		t.Fatalf("session = %+v", s)
	}
	if strings.Contains(s.String(), s.SecretAccessKey) || strings.Contains(s.String(), s.SessionToken) {
		t.Error("String shows the secret")
	}
	// Another store (another deployment) has another sealing key.
	foreign, err := IssueSession(ctx, openWithUser(t), "us-east-1", "111122223333", user, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := IssueSession(ctx, st, "us-east-1", "111122223333", user, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	k := New("AKIDROOT", "rootsecret", st, Options{Region: "us-east-1"})
	// A second node on the same store verifies what the first issued.
	k2 := New("AKIDROOT", "rootsecret", st, Options{Region: "us-east-1"})
	tampered := s.SessionToken[:len(s.SessionToken)-2] + "AA"
	if tampered == s.SessionToken {
		tampered = s.SessionToken[:len(s.SessionToken)-2] + "BB"
	}
	tests := []struct {
		name     string
		k        *Keyring
		req      *http.Request
		at       time.Time
		wantKind chime.ErrorKind
	}{
		{"header signed", k, signed(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, now), now, ""},
		{"header signed, other node", k2, signed(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, now), now, ""},
		{"presigned", k, presigned(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, now), now, ""},
		{"no token", k, signed(t, s.AccessKeyID, s.SecretAccessKey, "", now), now, chime.UnrecognizedClient},
		{"tampered token", k, signed(t, s.AccessKeyID, s.SecretAccessKey, tampered, now), now, chime.UnrecognizedClient},
		{"foreign token", k, signed(t, foreign.AccessKeyID, foreign.SecretAccessKey, foreign.SessionToken, now), now, chime.UnrecognizedClient},
		{"token of another key", k, signed(t, s.AccessKeyID, s.SecretAccessKey, other.SessionToken, now), now, chime.UnrecognizedClient},
		{"wrong secret", k, signed(t, s.AccessKeyID, other.SecretAccessKey, s.SessionToken, now), now, chime.InvalidSignature},
		{"expired, header", k, signed(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, now.Add(time.Hour)), now.Add(time.Hour), chime.ExpiredToken},
		{"expired, presigned", k, presigned(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, now.Add(time.Hour)), now.Add(time.Hour), chime.ExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			tt.k.now = func() time.Time { return at }
			var p chime.Principal
			var err error
			if tt.req.URL.Query().Get("X-Amz-Signature") != "" {
				p, err = tt.k.AuthenticatePresigned(tt.req)
			} else {
				p, err = tt.k.Authenticate(tt.req, nil)
			}
			if chime.KindOf(err) != tt.wantKind {
				t.Fatalf("got %v, want kind %q", err, tt.wantKind)
			}
			if err == nil && (p.UserArn != user || p.IsRoot()) {
				t.Errorf("principal = %+v", p)
			}
		})
	}

	// Deleting the user ends its temporary credentials.
	err = st.Update(ctx, func(tx store.Tx) error { return tx.DeleteAppInstanceUser(ctx, "a1", "alice") })
	if err != nil {
		t.Fatal(err)
	}
	k.now = time.Now
	if _, err := k.Authenticate(signed(t, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, time.Now()), nil); chime.KindOf(err) != chime.UnrecognizedClient {
		t.Errorf("after the user is deleted: %v", err)
	}
}

func TestIssueSessionRefuses(t *testing.T) {
	ctx := context.Background()
	st := openWithUser(t)
	for _, tt := range []struct {
		name, arn string
		ttl       time.Duration
		want      chime.ErrorKind
	}{
		{"too long", user, 13 * time.Hour, chime.BadRequest},
		{"zero", user, 0, chime.BadRequest},
		{"not a user", "arn:aws:chime:us-east-1:111122223333:app-instance/a1", time.Hour, chime.BadRequest},
		{"other region", strings.Replace(user, "us-east-1", "eu-west-1", 1), time.Hour, chime.BadRequest},
		{"no such user", strings.Replace(user, "alice", "bob", 1), time.Hour, chime.NotFound},
	} {
		if _, err := IssueSession(ctx, st, "us-east-1", "111122223333", tt.arn, tt.ttl, time.Now()); chime.KindOf(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}
