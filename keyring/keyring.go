// Package keyring knows every credential that may sign a request to Belfry:
// the root key pair, which acts for the whole account, and the scoped keys in
// the store, each bound to one AppInstanceUser. It turns a verified SigV4
// signature into a chime.Principal.
package keyring

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/sigv4"
	"github.com/belfryhq/belfry/store"
)

// Keyring authenticates requests. It is safe for concurrent use.
type Keyring struct {
	rootID, rootSecret string
	store              store.Store
	verifier           *sigv4.Verifier
	now                func() time.Time
}

// Options tune verification.
type Options struct {
	Region  string        // the only credential-scope region accepted
	MaxSkew time.Duration // clock skew allowed each way; 0 means 5 minutes
}

// New returns a Keyring for the root key pair and the scoped keys in st.
func New(rootID, rootSecret string, st store.Store, opts Options) *Keyring {
	k := &Keyring{rootID: rootID, rootSecret: rootSecret, store: st, now: time.Now}
	k.verifier = &sigv4.Verifier{Lookup: k.lookup, Service: "chime", MaxSkew: opts.MaxSkew}
	if opts.Region != "" {
		k.verifier.Regions = []string{opts.Region}
	}
	return k
}

// lookup returns the secret of a key. Scoped keys that have expired are as
// unknown as keys that never existed. No credential carries a session token
// yet, so one presented is a token that does not match.
func (k *Keyring) lookup(ctx context.Context, accessKeyID, sessionToken string) (string, error) {
	if sessionToken != "" {
		return "", sigv4.ErrUnknownKey
	}
	if subtle.ConstantTimeCompare([]byte(accessKeyID), []byte(k.rootID)) == 1 {
		return k.rootSecret, nil
	}
	c, err := k.credential(ctx, accessKeyID)
	if err != nil {
		return "", err
	}
	return c.SecretAccessKey, nil
}

func (k *Keyring) credential(ctx context.Context, accessKeyID string) (store.Credential, error) {
	var c store.Credential
	err := k.store.View(ctx, func(tx store.ReadTx) (err error) {
		c, err = tx.GetCredential(ctx, accessKeyID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, sigv4.ErrUnknownKey
	case err != nil:
		return c, err
	case c.ExpiresAt != nil && !k.now().Before(*c.ExpiresAt):
		return c, sigv4.ErrUnknownKey
	}
	return c, nil
}

func (k *Keyring) principal(ctx context.Context, accessKeyID string) (chime.Principal, error) {
	if accessKeyID == k.rootID {
		return chime.Principal{AccessKeyID: accessKeyID}, nil
	}
	c, err := k.credential(ctx, accessKeyID)
	if err != nil {
		return chime.Principal{}, authError(err)
	}
	return chime.Principal{AccessKeyID: accessKeyID, UserArn: c.UserArn}, nil
}

// Authenticate verifies a header-signed request and returns its principal.
func (k *Keyring) Authenticate(r *http.Request, body []byte) (chime.Principal, error) {
	id, err := k.verifier.VerifyRequest(r.Context(), r, body)
	if err != nil {
		return chime.Principal{}, authError(err)
	}
	return k.principal(r.Context(), id)
}

// AuthenticatePresigned verifies a presigned URL (the messaging-session
// websocket) and returns its principal.
func (k *Keyring) AuthenticatePresigned(r *http.Request) (chime.Principal, error) {
	id, err := k.verifier.VerifyPresigned(r.Context(), r)
	if err != nil {
		return chime.Principal{}, authError(err)
	}
	return k.principal(r.Context(), id)
}

// authError maps a verification failure onto the chime error kinds; other
// failures (the store) stay internal errors.
func authError(err error) error {
	var se *sigv4.Error
	switch {
	case errors.As(err, &se):
		return &chime.Error{Kind: chime.ErrorKind(se.Kind), Message: se.Message}
	case errors.Is(err, sigv4.ErrUnknownKey):
		return chime.Errorf(chime.UnrecognizedClient, "The security token included in the request is invalid.")
	}
	return err
}

// NewKeyPair returns a fresh access key id (20 characters, like AWS's) and
// a 40-character secret. Scoped keys start with "BKIA" so they are easy to
// tell from AWS keys in logs and configuration.
func NewKeyPair(prefix string) (id, secret string) {
	b := make([]byte, 40)
	rand.Read(b)
	id = prefix + base32.StdEncoding.EncodeToString(b[:10])[:20-len(prefix)]
	secret = base64.RawStdEncoding.EncodeToString(b[10:])[:40]
	return id, secret
}

// CreateScoped stores a new key bound to userArn, an existing AppInstanceUser
// of this region and account, and returns it.
func CreateScoped(ctx context.Context, st store.Store, region, account, userArn, description string, expires *time.Time) (store.Credential, error) {
	a, err := chime.ParseARN(userArn)
	if err != nil || a.Type != chime.ResourceAppInstanceUser {
		return store.Credential{}, fmt.Errorf("--user must be an AppInstanceUser ARN (arn:aws:chime:REGION:ACCOUNT:app-instance/ID/user/ID): %q", userArn)
	}
	if a.Region != region || a.Account != account {
		return store.Credential{}, fmt.Errorf("--user %s is not in this server's region %s and account %s", userArn, region, account)
	}
	id, secret := NewKeyPair("BKIA")
	c := store.Credential{AccessKeyID: id, SecretAccessKey: secret, UserArn: userArn, Description: description, CreatedAt: time.Now().UTC(), ExpiresAt: expires}
	err = st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetAppInstanceUser(ctx, a.AppInstanceID, a.ID); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no AppInstanceUser %s: create it first (CreateAppInstanceUser)", userArn)
		} else if err != nil {
			return err
		}
		return tx.CreateCredential(ctx, c)
	})
	return c, err
}
