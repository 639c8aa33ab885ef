package sqlstore

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

const appInstanceColumns = `seq, id, name, metadata, created_at, updated_at`

func scanAppInstance(r scanner) (store.AppInstance, error) {
	var a store.AppInstance
	var created, updated int64
	err := r.Scan(&a.Seq, &a.ID, &a.Name, &a.Metadata, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	return a, err
}

// GetAppInstance implements store.AppInstanceReader.
func (t ReadTx) GetAppInstance(ctx context.Context, id string) (store.AppInstance, error) {
	return getOne(ctx, t, "app instance "+id, scanAppInstance,
		`SELECT `+appInstanceColumns+` FROM app_instances WHERE id = ?`, id)
}

// ListAppInstances implements store.AppInstanceReader.
func (t ReadTx) ListAppInstances(ctx context.Context, p store.Page) ([]store.AppInstance, error) {
	return list(ctx, t, "app instances", scanAppInstance,
		`SELECT `+appInstanceColumns+` FROM app_instances WHERE seq > ? ORDER BY seq LIMIT ?`, p.After, t.d.limit(p))
}

// CountAppInstances implements store.AppInstanceReader.
func (t ReadTx) CountAppInstances(ctx context.Context) (int, error) {
	return t.count(ctx, "app instances", `SELECT COUNT(*) FROM app_instances`)
}

// CreateAppInstance implements store.AppInstanceWriter.
func (t Tx) CreateAppInstance(ctx context.Context, a store.AppInstance) (store.AppInstance, error) {
	err := t.queryRow(ctx, `INSERT INTO app_instances (id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING seq`,
		a.ID, a.Name, a.Metadata, ms(a.CreatedAt), ms(a.UpdatedAt)).Scan(&a.Seq)
	if err != nil {
		return a, fmt.Errorf("%s: create app instance %s: %w", t.d.Name, a.ID, t.d.Translate(err))
	}
	return a, nil
}

// UpdateAppInstance implements store.AppInstanceWriter.
func (t Tx) UpdateAppInstance(ctx context.Context, a store.AppInstance) error {
	return t.execOne(ctx, "update app instance "+a.ID,
		`UPDATE app_instances SET name = ?, metadata = ?, updated_at = ? WHERE id = ?`, a.Name, a.Metadata, ms(a.UpdatedAt), a.ID)
}

// DeleteAppInstance implements store.AppInstanceWriter. The schema's
// cascading foreign keys delete everything that belongs to it.
// Its users' credentials, keyed by ARN rather than by foreign key, go too.
func (t Tx) DeleteAppInstance(ctx context.Context, id string) error {
	if err := t.execOne(ctx, "delete app instance "+id, `DELETE FROM app_instances WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := t.execCount(ctx, "delete credentials of app instance "+id,
		t.d.DeleteCredentialsContaining, store.UserArnInfix(id))
	return err
}
