package store

import "context"

// ServerSecretReader reads server secrets: random keys every node of a
// deployment must share, such as the key that seals pagination tokens.
type ServerSecretReader interface {
	// GetServerSecret returns the secret called name, or an error wrapping
	// ErrNotFound.
	GetServerSecret(ctx context.Context, name string) ([]byte, error)
}

// ServerSecretWriter stores server secrets.
type ServerSecretWriter interface {
	// CreateServerSecret stores value as the secret called name. It returns
	// an error wrapping ErrConflict if the name is taken: secrets are never
	// replaced, since replacing one would invalidate what other nodes
	// sealed with it.
	CreateServerSecret(ctx context.Context, name string, value []byte) error
}
