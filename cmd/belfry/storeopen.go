package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/keyring"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/postgres"
	"github.com/belfryhq/belfry/store/sqlite"
)

// isPostgresURL reports whether --store names a PostgreSQL database.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openStore opens the store --store names: the embedded SQLite file under
// --data-dir by default.
func openStore(ctx context.Context, cfg config) (store.Store, error) {
	if isPostgresURL(cfg.Store) {
		st, err := postgres.Open(ctx, cfg.Store)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "belfry.db"))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// rootCredentialSecret is the server secret holding the root credential of
// nodes sharing a store, as JSON.
const rootCredentialSecret = "root-credential"

// sharedRootCredential returns the root key pair kept in the store, which
// every node sharing it reads: the first node to start generates it, and
// when two start at once the store's unique key lets one win and the
// other read the winner's.
func sharedRootCredential(ctx context.Context, st store.Store) (rootKey, error) {
	k := rootKey{file: `the store (server secret "` + rootCredentialSecret + `")`}
	var raw []byte
	err := st.View(ctx, func(tx store.ReadTx) (err error) {
		raw, err = tx.GetServerSecret(ctx, rootCredentialSecret)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		k.AccessKeyID, k.SecretAccessKey = keyring.NewKeyPair("BKRT")
		raw, _ = json.Marshal(k)
		err = st.Update(ctx, func(tx store.Tx) error { return tx.CreateServerSecret(ctx, rootCredentialSecret, raw) })
		if err == nil {
			k.generated = true
			return k, nil
		}
		if errors.Is(err, store.ErrConflict) {
			err = st.View(ctx, func(tx store.ReadTx) (err error) {
				raw, err = tx.GetServerSecret(ctx, rootCredentialSecret)
				return err
			})
		}
	}
	if err != nil {
		return k, fmt.Errorf("root credential: %w", err)
	}
	if err := json.Unmarshal(raw, &k); err != nil || k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return k, errors.New("the store's root credential is not valid")
	}
	return k, nil
}

// storeCollectors are the metrics of the store, for engines that have any.
func storeCollectors(st store.Store) []prometheus.Collector {
	db, ok := st.(*postgres.DB)
	if !ok {
		return nil
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_store_retries_total",
			Help: "Write transactions run again after losing a serialization conflict with another (PostgreSQL store).",
		}, func() float64 { return float64(db.Retries()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_store_connections_in_use",
			Help: "Connections of this node's PostgreSQL pool in use.",
		}, func() float64 { return float64(db.Stats().AcquiredConns()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_store_connections_max",
			Help: "Size of this node's PostgreSQL pool (pool_max_conns).",
		}, func() float64 { return float64(db.Stats().MaxConns()) }),
	}
}
