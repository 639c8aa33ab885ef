package postgres

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
func (t readTx) GetAppInstance(ctx context.Context, id string) (store.AppInstance, error) {
	return getOne(ctx, t, "app instance "+id, scanAppInstance,
		`SELECT `+appInstanceColumns+` FROM app_instances WHERE id = ?`, id)
}

// ListAppInstances implements store.AppInstanceReader.
func (t readTx) ListAppInstances(ctx context.Context, p store.Page) ([]store.AppInstance, error) {
	return list(ctx, t, "app instances", scanAppInstance,
		`SELECT `+appInstanceColumns+` FROM app_instances WHERE seq > ? ORDER BY seq LIMIT ?`, p.After, sqlLimit(p))
}

// CountAppInstances implements store.AppInstanceReader.
func (t readTx) CountAppInstances(ctx context.Context) (int, error) {
	return t.count(ctx, "app instances", `SELECT COUNT(*) FROM app_instances`)
}

// CreateAppInstance implements store.AppInstanceWriter.
func (t writeTx) CreateAppInstance(ctx context.Context, a store.AppInstance) (store.AppInstance, error) {
	err := t.queryRow(ctx, `INSERT INTO app_instances (id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING seq`,
		a.ID, a.Name, a.Metadata, ms(a.CreatedAt), ms(a.UpdatedAt)).Scan(&a.Seq)
	if err != nil {
		return a, fmt.Errorf("postgres: create app instance %s: %w", a.ID, translate(err))
	}
	return a, nil
}

// UpdateAppInstance implements store.AppInstanceWriter.
func (t writeTx) UpdateAppInstance(ctx context.Context, a store.AppInstance) error {
	return t.execOne(ctx, "update app instance "+a.ID,
		`UPDATE app_instances SET name = ?, metadata = ?, updated_at = ? WHERE id = ?`, a.Name, a.Metadata, ms(a.UpdatedAt), a.ID)
}

// DeleteAppInstance implements store.AppInstanceWriter. The schema's
// cascading foreign keys delete everything that belongs to it.
// Its users' credentials, keyed by ARN rather than by foreign key, go too.
func (t writeTx) DeleteAppInstance(ctx context.Context, id string) error {
	if err := t.execOne(ctx, "delete app instance "+id, `DELETE FROM app_instances WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := t.execCount(ctx, "delete credentials of app instance "+id,
		`DELETE FROM credentials WHERE strpos(user_arn, ?) > 0`, store.UserArnInfix(id))
	return err
}
