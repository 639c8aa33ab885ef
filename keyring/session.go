package keyring

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/sigv4"
	"github.com/belfryhq/belfry/store"
)

// Temporary credentials (what Cognito or STS give a browser or mobile app)
// are stateless: the session token is a sealed statement "access key K acts
// as user U until T", and the secret access key is derived from the token
// with the sealing key. Every node sharing the store shares that key, so any
// node verifies a token another one issued, and issuing writes nothing.
// A token stops working at its expiry, or earlier when its user is deleted.

// sessionKeySecret names the sealing key in the store.
const sessionKeySecret = "session-token-hmac-sha256"

// Session lifetimes. AWS STS allows 15 minutes to 12 hours; Belfry allows
// down to one second so that apps (and tests) can exercise expiry quickly.
const (
	MinSessionDuration = time.Second
	MaxSessionDuration = 12 * time.Hour
)

const (
	sessionTokenPrefix = "BST1."
	sessionKeyPrefix   = "BSIA"
)

// Session is a temporary credential.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	UserArn         string
}

// String leaves the secret and the token out of logs.
func (s Session) String() string {
	return fmt.Sprintf("Session{AccessKeyID:%s UserArn:%s Expiration:%s}", s.AccessKeyID, s.UserArn, s.Expiration.Format(time.RFC3339))
}

// sessionClaims is the sealed part of a token.
type sessionClaims struct {
	AccessKeyID string `json:"k"`
	UserArn     string `json:"u"`
	Expires     int64  `json:"e"` // Unix milliseconds
}

// IssueSession creates temporary credentials acting as userArn, an existing
// AppInstanceUser of region and account, valid for ttl from now.
func IssueSession(ctx context.Context, st store.Store, region, account, userArn string, ttl time.Duration, now time.Time) (Session, error) {
	if ttl < MinSessionDuration || ttl > MaxSessionDuration {
		return Session{}, chime.Errorf(chime.BadRequest, "DurationSeconds must be between %d and %d, got %d.",
			int(MinSessionDuration/time.Second), int(MaxSessionDuration/time.Second), int64(ttl/time.Second))
	}
	a, err := chime.ParseARN(userArn)
	if err != nil || a.Type != chime.ResourceAppInstanceUser {
		return Session{}, chime.Errorf(chime.BadRequest, "AppInstanceUserArn must be an AppInstanceUser ARN (arn:aws:chime:REGION:ACCOUNT:app-instance/ID/user/ID), got %q.", userArn)
	}
	if a.Region != region || a.Account != account {
		return Session{}, chime.Errorf(chime.BadRequest, "AppInstanceUserArn %s is not in this server's region %s and account %s.", userArn, region, account)
	}
	err = st.View(ctx, func(tx store.ReadTx) error {
		_, err := tx.GetAppInstanceUser(ctx, a.AppInstanceID, a.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, chime.Errorf(chime.NotFound, "The AppInstanceUser %s does not exist.", userArn)
	} else if err != nil {
		return Session{}, err
	}
	key, err := sealingKey(ctx, st)
	if err != nil {
		return Session{}, err
	}
	id, _ := NewKeyPair(sessionKeyPrefix)
	exp := now.Add(ttl).UTC().Truncate(time.Second)
	claims, _ := json.Marshal(sessionClaims{AccessKeyID: id, UserArn: userArn, Expires: exp.UnixMilli()})
	body := base64.RawURLEncoding.EncodeToString(claims)
	token := sessionTokenPrefix + body + "." + base64.RawURLEncoding.EncodeToString(mac(key, "token", body))
	return Session{AccessKeyID: id, SecretAccessKey: sessionSecret(key, body), SessionToken: token, Expiration: exp, UserArn: userArn}, nil
}

func mac(key []byte, purpose, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose + "\n" + body))
	return m.Sum(nil)
}

// sessionSecret derives the secret access key from the sealed claims, with
// a different purpose than the token's MAC so neither reveals the other.
func sessionSecret(key []byte, body string) string {
	return base64.RawStdEncoding.EncodeToString(mac(key, "secret", body))[:40]
}

// openSession checks a token presented with accessKeyID and returns its
// claims and derived secret. A token that is malformed, sealed with another
// key or bound to another access key is unknown; a genuine one past its
// expiry is expired.
func openSession(key []byte, accessKeyID, token string, now time.Time) (sessionClaims, string, error) {
	var c sessionClaims
	rest, ok := strings.CutPrefix(token, sessionTokenPrefix)
	if !ok || len(token) > 4096 {
		return c, "", sigv4.ErrUnknownKey
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return c, "", sigv4.ErrUnknownKey
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, "token", body)) {
		return c, "", sigv4.ErrUnknownKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return c, "", sigv4.ErrUnknownKey
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.AccessKeyID != accessKeyID || c.UserArn == "" {
		return c, "", sigv4.ErrUnknownKey
	}
	if !now.Before(time.UnixMilli(c.Expires)) {
		return c, "", sigv4.ErrExpiredToken
	}
	return c, sessionSecret(key, body), nil
}

// sealingKey returns the deployment's session key, creating it on first
// use. Two nodes creating it at once: the loser's insert conflicts and it
// reads the winner's.
func sealingKey(ctx context.Context, st store.Store) ([]byte, error) {
	var key []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		k, err := tx.GetServerSecret(ctx, sessionKeySecret)
		if err == nil {
			key = k
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		return tx.CreateServerSecret(ctx, sessionKeySecret, key)
	})
	if errors.Is(err, store.ErrConflict) {
		err = st.View(ctx, func(tx store.ReadTx) error {
			key, err = tx.GetServerSecret(ctx, sessionKeySecret)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: session key: %w", err)
	}
	return key, nil
}
