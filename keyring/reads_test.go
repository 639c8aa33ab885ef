package keyring

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

// countingStore counts the credential reads made through it.
type countingStore struct {
	store.Store
	reads atomic.Int32
}

func (s *countingStore) View(ctx context.Context, f func(store.ReadTx) error) error {
	return s.Store.View(ctx, func(tx store.ReadTx) error { return f(countingTx{tx, &s.reads}) })
}

type countingTx struct {
	store.ReadTx
	reads *atomic.Int32
}

func (t countingTx) GetCredential(ctx context.Context, id string) (store.Credential, error) {
	t.reads.Add(1)
	return t.ReadTx.GetCredential(ctx, id)
}

// TestOneCredentialReadPerRequest: authenticating a scoped key reads its
// credential once, for the signature and the principal together.
func TestOneCredentialReadPerRequest(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateAppInstance(ctx, store.AppInstance{ID: "a1", Name: "app", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		_, err := tx.CreateAppInstanceUser(ctx, store.AppInstanceUser{AppInstanceID: "a1", UserID: "alice", Name: "Alice", CreatedAt: now, UpdatedAt: now})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	scoped, err := CreateScoped(ctx, db, "us-east-1", "111122223333", user, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: db}
	k := New("AKIDROOT", "rootsecret", st, Options{Region: "us-east-1"})
	for i := range 3 { // the first derives the signing key, the others hit its cache
		p, err := k.Authenticate(signed(t, scoped.AccessKeyID, scoped.SecretAccessKey, "", time.Now()), nil)
		if err != nil || p.UserArn != user {
			t.Fatalf("request %d: %+v, %v", i, p, err)
		}
		if n := st.reads.Swap(0); n != 1 {
			t.Errorf("request %d read the credential %d times, want 1", i, n)
		}
	}
}
