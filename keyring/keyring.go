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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	failures           *prometheus.CounterVec

	mu         sync.Mutex
	sessionKey []byte // loaded on first use
}

// Options tune verification.
type Options struct {
	Region  string        // the only credential-scope region accepted
	MaxSkew time.Duration // clock skew allowed each way; 0 means 15 minutes
	// Registerer receives belfry_auth_failures_total; nil disables it.
	Registerer prometheus.Registerer
}

// New returns a Keyring for the root key pair, the scoped keys in st and
// the temporary credentials sealed with st's session key.
func New(rootID, rootSecret string, st store.Store, opts Options) *Keyring {
	k := &Keyring{rootID: rootID, rootSecret: rootSecret, store: st, now: time.Now}
	k.verifier = &sigv4.Verifier{Lookup: k.lookup, Service: "chime", MaxSkew: opts.MaxSkew, Now: func() time.Time { return k.now() }}
	if opts.Region != "" {
		k.verifier.Regions = []string{opts.Region}
	}
	k.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "belfry_auth_failures_total",
		Help: "Requests and websocket connections refused by authentication, by reason (the AWS exception name).",
	}, []string{"reason"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(k.failures)
	}
	return k
}

func (k *Keyring) loadSessionKey(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sessionKey == nil {
		key, err := sealingKey(ctx, k.store)
		if err != nil {
			return nil, err
		}
		k.sessionKey = key
	}
	return k.sessionKey, nil
}

// session opens the temporary credential accessKeyID presents with token.
func (k *Keyring) session(ctx context.Context, accessKeyID, token string) (sessionClaims, string, error) {
	key, err := k.loadSessionKey(ctx)
	if err != nil {
		return sessionClaims{}, "", err
	}
	return openSession(key, accessKeyID, token, k.now())
}

// lookup returns the secret of a key. Scoped keys that have expired are as
// unknown as keys that never existed. A session token must be one of
// Belfry's temporary credentials, bound to the access key it comes with.
func (k *Keyring) lookup(ctx context.Context, accessKeyID, sessionToken string) (string, error) {
	if sessionToken != "" {
		_, secret, err := k.session(ctx, accessKeyID, sessionToken)
		return secret, err
	}
	if subtle.ConstantTimeCompare([]byte(accessKeyID), []byte(k.rootID)) == 1 {
		return k.rootSecret, nil
	}
	c, err := k.credential(ctx, accessKeyID)
	if err != nil {
		return "", err
	}
	if seen, ok := ctx.Value(seenKey{}).(*store.Credential); ok {
		*seen = c
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

func (k *Keyring) principal(ctx context.Context, accessKeyID, sessionToken string) (chime.Principal, error) {
	if sessionToken != "" {
		c, _, err := k.session(ctx, accessKeyID, sessionToken)
		if err != nil {
			return chime.Principal{}, k.authError(err)
		}
		// A deleted user's scoped keys are deleted with it; its temporary
		// credentials, which live nowhere, stop here.
		a, err := chime.ParseARN(c.UserArn)
		if err == nil {
			err = k.store.View(ctx, func(tx store.ReadTx) error {
				_, err := tx.GetAppInstanceUser(ctx, a.AppInstanceID, a.ID)
				return err
			})
		}
		if errors.Is(err, store.ErrNotFound) || (err != nil && !isStoreFailure(err)) {
			return chime.Principal{}, k.authError(sigv4.ErrUnknownKey)
		} else if err != nil {
			return chime.Principal{}, err
		}
		return chime.Principal{AccessKeyID: accessKeyID, UserArn: c.UserArn}, nil
	}
	if accessKeyID == k.rootID {
		return chime.Principal{AccessKeyID: accessKeyID}, nil
	}
	// The signature check has usually read the credential already (unless
	// its signing key was cached): one read per request, not two.
	if seen, ok := ctx.Value(seenKey{}).(*store.Credential); ok && seen.AccessKeyID == accessKeyID {
		return chime.Principal{AccessKeyID: accessKeyID, UserArn: seen.UserArn}, nil
	}
	c, err := k.credential(ctx, accessKeyID)
	if err != nil {
		return chime.Principal{}, k.authError(err)
	}
	return chime.Principal{AccessKeyID: accessKeyID, UserArn: c.UserArn}, nil
}

// seenKey carries, through one authentication, the scoped credential the
// signature check read, so that the principal does not read it again.
type seenKey struct{}

func withSeen(ctx context.Context) context.Context {
	return context.WithValue(ctx, seenKey{}, &store.Credential{})
}

// isStoreFailure tells a storage error from a malformed ARN; the ARN was
// sealed by this server, so only the former is expected.
func isStoreFailure(err error) bool {
	var ce *chime.Error
	return !errors.As(err, &ce)
}

// Authenticate verifies a header-signed request and returns its principal.
func (k *Keyring) Authenticate(r *http.Request, body []byte) (chime.Principal, error) {
	finish, err := k.BeginAuthenticate(r)
	if err != nil {
		return chime.Principal{}, err
	}
	return finish(body)
}

// BeginAuthenticate checks what the headers of a header-signed request
// decide (presence and syntax of the signature, date, scope, access key,
// session token) before its body is read; the function it returns finishes
// with the body and yields the principal.
func (k *Keyring) BeginAuthenticate(r *http.Request) (func(body []byte) (chime.Principal, error), error) {
	ctx := withSeen(r.Context())
	p, err := k.verifier.BeginRequest(ctx, r)
	if err != nil {
		return nil, k.authError(err)
	}
	return func(body []byte) (chime.Principal, error) {
		id, err := p.Finish(body)
		if err != nil {
			return chime.Principal{}, k.authError(err)
		}
		return k.principal(ctx, id, p.SessionToken())
	}, nil
}

// AuthenticatePresigned verifies a presigned URL (the messaging-session
// websocket) and returns its principal.
func (k *Keyring) AuthenticatePresigned(r *http.Request) (chime.Principal, error) {
	ctx := withSeen(r.Context())
	id, err := k.verifier.VerifyPresigned(ctx, r)
	if err != nil {
		return chime.Principal{}, k.authError(err)
	}
	// VerifyPresigned has refused a repeated token, so Get sees the one
	// that was signed.
	return k.principal(ctx, id, r.URL.Query().Get("X-Amz-Security-Token"))
}

// authError maps a verification failure onto the chime error kinds and
// counts it; other failures (the store) stay internal errors.
func (k *Keyring) authError(err error) error {
	var se *sigv4.Error
	var out error = err
	switch {
	case errors.As(err, &se):
		out = &chime.Error{Kind: chime.ErrorKind(se.Kind), Message: se.Message}
	case errors.Is(err, sigv4.ErrExpiredToken):
		out = chime.Errorf(chime.ExpiredToken, "The security token included in the request is expired")
	case errors.Is(err, sigv4.ErrUnknownKey):
		out = chime.Errorf(chime.UnrecognizedClient, "The security token included in the request is invalid.")
	}
	if kind := chime.KindOf(out); kind != "" {
		k.failures.WithLabelValues(string(kind)).Inc()
	}
	return out
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
