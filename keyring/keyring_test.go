package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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

const user = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/user/alice"

func signed(t *testing.T, akid, secret, token string, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://127.0.0.1:8400/app-instances", nil)
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	req.RequestURI = req.URL.RequestURI()
	return req
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := New("AKIDROOT", "rootsecret", st, Options{Region: "us-east-1"})
	if _, err := CreateScoped(ctx, st, "us-east-1", "111122223333", user, "", nil); err == nil || !strings.Contains(err.Error(), "no AppInstanceUser") {
		t.Fatalf("a key for a user that does not exist: %v", err)
	}
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
	if _, err := CreateScoped(ctx, st, "eu-central-1", "111122223333", user, "", nil); err == nil {
		t.Error("a key for a user of another region was created")
	}
	scoped, err := CreateScoped(ctx, st, "us-east-1", "111122223333", user, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	expired, err := CreateScoped(ctx, st, "us-east-1", "111122223333", user, "", &past)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateScoped(ctx, st, "us-east-1", "111122223333", "arn:aws:chime:us-east-1:111122223333:app-instance/a1/channel/c", "", nil); err == nil {
		t.Error("a key bound to a channel was created")
	}
	if !strings.HasPrefix(scoped.AccessKeyID, "BKIA") || len(scoped.AccessKeyID) != 20 || len(scoped.SecretAccessKey) != 40 {
		t.Errorf("key shape: %q / %d-char secret", scoped.AccessKeyID, len(scoped.SecretAccessKey))
	}

	tests := []struct {
		name     string
		req      *http.Request
		wantUser string
		wantKind chime.ErrorKind
	}{
		{"root", signed(t, "AKIDROOT", "rootsecret", "", now), "", ""},
		{"scoped", signed(t, scoped.AccessKeyID, scoped.SecretAccessKey, "", now), user, ""},
		{"wrong secret", signed(t, scoped.AccessKeyID, "nope", "", now), "", chime.InvalidSignature},
		{"unknown key", signed(t, "AKIDNOBODY", "x", "", now), "", chime.UnrecognizedClient},
		{"expired scoped key", signed(t, expired.AccessKeyID, expired.SecretAccessKey, "", now), "", chime.UnrecognizedClient},
		{"session token on a long-term key", signed(t, "AKIDROOT", "rootsecret", "tok", now), "", chime.UnrecognizedClient},
		{"stale signature", signed(t, "AKIDROOT", "rootsecret", "", now.Add(-time.Hour)), "", chime.InvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := k.Authenticate(tt.req, nil)
			if chime.KindOf(err) != tt.wantKind {
				t.Fatalf("Authenticate: %v, want kind %q", err, tt.wantKind)
			}
			if err == nil && p.UserArn != tt.wantUser {
				t.Errorf("principal = %+v, want user %q", p, tt.wantUser)
			}
		})
	}
}
