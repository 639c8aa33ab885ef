package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

const userColumns = `seq, app_instance_id, user_id, name, metadata, expiration_criterion, expiration_days, expires_at, created_at, updated_at`

func scanUser(r scanner) (store.AppInstanceUser, error) {
	var (
		u                store.AppInstanceUser
		crit             sql.NullString
		days, expiresAt  sql.NullInt64
		created, updated int64
	)
	err := r.Scan(&u.Seq, &u.AppInstanceID, &u.UserID, &u.Name, &u.Metadata, &crit, &days, &expiresAt, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	if crit.Valid {
		u.Expiration = &store.UserExpiration{Criterion: chime.IdentityExpirationCriterion(crit.String), Days: int32(days.Int64), At: fromMS(expiresAt.Int64)}
	}
	return u, err
}

// expirationArgs returns the three expiration columns of u.
func expirationArgs(u store.AppInstanceUser) (crit, days, at any) {
	if u.Expiration == nil {
		return nil, nil, nil
	}
	return u.Expiration.Criterion, u.Expiration.Days, ms(u.Expiration.At)
}

// GetAppInstanceUser implements store.AppInstanceUserReader.
func (t ReadTx) GetAppInstanceUser(ctx context.Context, appInstanceID, userID string) (store.AppInstanceUser, error) {
	return getOne(ctx, t, "user "+userID, scanUser,
		`SELECT `+userColumns+` FROM app_instance_users WHERE app_instance_id = ? AND user_id = ?`, appInstanceID, userID)
}

// ListAppInstanceUsers implements store.AppInstanceUserReader.
func (t ReadTx) ListAppInstanceUsers(ctx context.Context, appInstanceID string, p store.Page) ([]store.AppInstanceUser, error) {
	return list(ctx, t, "users", scanUser,
		`SELECT `+userColumns+` FROM app_instance_users WHERE app_instance_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		appInstanceID, p.After, t.d.limit(p))
}

// CountAppInstanceUsers implements store.AppInstanceUserReader.
func (t ReadTx) CountAppInstanceUsers(ctx context.Context, appInstanceID string) (int, error) {
	return t.count(ctx, "users", `SELECT COUNT(*) FROM app_instance_users WHERE app_instance_id = ?`, appInstanceID)
}

// ListExpiredAppInstanceUsers implements store.AppInstanceUserReader.
func (t ReadTx) ListExpiredAppInstanceUsers(ctx context.Context, now time.Time, limit int) ([]store.AppInstanceUser, error) {
	return list(ctx, t, "expired users", scanUser,
		`SELECT `+userColumns+` FROM app_instance_users WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, seq LIMIT ?`,
		ms(now), t.d.limit(store.Page{Limit: limit}))
}

// CreateAppInstanceUser implements store.AppInstanceUserWriter.
func (t Tx) CreateAppInstanceUser(ctx context.Context, u store.AppInstanceUser) (store.AppInstanceUser, error) {
	crit, days, at := expirationArgs(u)
	err := t.queryRow(ctx, `INSERT INTO app_instance_users
		(app_instance_id, user_id, name, metadata, expiration_criterion, expiration_days, expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		u.AppInstanceID, u.UserID, u.Name, u.Metadata, crit, days, at, ms(u.CreatedAt), ms(u.UpdatedAt)).Scan(&u.Seq)
	if err != nil {
		return u, fmt.Errorf("%s: create user %s: %w", t.d.Name, u.UserID, t.d.Translate(err))
	}
	return u, nil
}

// UpdateAppInstanceUser implements store.AppInstanceUserWriter.
func (t Tx) UpdateAppInstanceUser(ctx context.Context, u store.AppInstanceUser) error {
	crit, days, at := expirationArgs(u)
	return t.execOne(ctx, "update user "+u.UserID, `UPDATE app_instance_users
		SET name = ?, metadata = ?, expiration_criterion = ?, expiration_days = ?, expires_at = ?, updated_at = ?
		WHERE app_instance_id = ? AND user_id = ?`,
		u.Name, u.Metadata, crit, days, at, ms(u.UpdatedAt), u.AppInstanceID, u.UserID)
}

// DeleteAppInstanceUser implements store.AppInstanceUserWriter.
func (t Tx) DeleteAppInstanceUser(ctx context.Context, appInstanceID, userID string) error {
	if err := t.execOne(ctx, "delete user "+userID,
		`DELETE FROM app_instance_users WHERE app_instance_id = ? AND user_id = ?`, appInstanceID, userID); err != nil {
		return err
	}
	if err := t.deleteTagsOf(ctx, appInstanceID, "user", userID); err != nil {
		return err
	}
	suffix := store.ResourceSuffix(appInstanceID, "user", userID)
	_, err := t.execCount(ctx, "delete credentials of user "+userID,
		t.d.DeleteCredentialsWithSuffix, suffix, suffix)
	return err
}
