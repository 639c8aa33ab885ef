package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Credential is an API access key pair scoped to one AppInstanceUser: a
// caller signing with it may act only as that user. Created by
// `belfry credentials create --user ARN`; short-lived session credentials
// carry an ExpiresAt.
//
// SecretAccessKey is stored as given, not hashed, because SigV4 verification
// needs it to recompute the request's HMAC. It must never be logged: String,
// GoString and LogValue leave it out, so printing a Credential is safe.
type Credential struct {
	// AccessKeyID identifies the key pair; it is unique across the store.
	AccessKeyID string
	// SecretAccessKey is the shared secret used to sign requests.
	SecretAccessKey string
	// UserArn is the AppInstanceUser the key pair acts as.
	UserArn string
	// Description is free text for operators.
	Description string
	// CreatedAt is when the key pair was created, set by the caller.
	CreatedAt time.Time
	// ExpiresAt, if not nil, is when the key pair stops being valid. The
	// store keeps expired credentials; callers check expiry themselves.
	ExpiresAt *time.Time
}

// String describes c without its secret.
func (c Credential) String() string {
	exp := "never"
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("Credential{AccessKeyID:%s UserArn:%s Description:%q CreatedAt:%s ExpiresAt:%s SecretAccessKey:REDACTED}",
		c.AccessKeyID, c.UserArn, c.Description, c.CreatedAt.UTC().Format(time.RFC3339Nano), exp)
}

// GoString describes c without its secret, for the %#v verb.
func (c Credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer, leaving out the secret.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("user_arn", c.UserArn),
		slog.Time("created_at", c.CreatedAt),
	}
	if c.ExpiresAt != nil {
		attrs = append(attrs, slog.Time("expires_at", *c.ExpiresAt))
	}
	return slog.GroupValue(attrs...)
}

// CredentialFilter selects credentials in ListCredentials. The zero value
// selects all of them.
type CredentialFilter struct {
	// UserArn, if not empty, keeps only the credentials of that user.
	UserArn string
}

// CredentialReader reads credentials. Times come back in UTC, truncated to
// the millisecond (the precision of Chime's own timestamps, and one every
// engine can keep exactly).
type CredentialReader interface {
	// GetCredential returns the credential with the given access key ID, or
	// an error wrapping ErrNotFound.
	GetCredential(ctx context.Context, accessKeyID string) (Credential, error)

	// ListCredentials returns the credentials f selects, oldest first (ties
	// broken by access key ID); finding none is not an error.
	ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error)
}

// CredentialWriter creates and deletes credentials.
type CredentialWriter interface {
	// CreateCredential stores c. It returns an error wrapping ErrConflict if
	// a credential with the same AccessKeyID exists.
	CreateCredential(ctx context.Context, c Credential) error

	// DeleteCredential deletes the credential with the given access key ID,
	// or returns an error wrapping ErrNotFound.
	DeleteCredential(ctx context.Context, accessKeyID string) error

	// DeleteCredentialsByUser deletes every credential of userArn (for when
	// the user is deleted) and returns how many there were; none is not an
	// error.
	DeleteCredentialsByUser(ctx context.Context, userArn string) (int, error)

	// DeleteCredentialsByAppInstance deletes every credential of every user
	// of the app instance appInstanceArn (for when it is deleted) and
	// returns how many there were; none is not an error.
	DeleteCredentialsByAppInstance(ctx context.Context, appInstanceArn string) (int, error)
}
