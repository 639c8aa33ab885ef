package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// GetServerSecret implements store.ServerSecretReader.
func (t ReadTx) GetServerSecret(ctx context.Context, name string) ([]byte, error) {
	return getOne(ctx, t, "server secret "+name, func(r scanner) ([]byte, error) {
		var v []byte
		err := r.Scan(&v)
		return v, err
	}, `SELECT value FROM server_secrets WHERE name = ?`, name)
}

// CreateServerSecret implements store.ServerSecretWriter.
func (t Tx) CreateServerSecret(ctx context.Context, name string, value []byte) error {
	// created_at is for operators only, so reading the clock here does not
	// make the store's behaviour depend on it.
	if _, err := t.exec(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)`,
		name, value, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("%s: create server secret %s: %w", t.d.Name, name, t.d.Translate(err))
	}
	return nil
}
