package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// The admin's name is its user's or bot's current name, joined in.
const adminSelect = `SELECT a.seq, a.app_instance_id, a.user_id, a.bot_id, COALESCE(u.name, b.name, ''), a.created_at
	FROM app_instance_admins a
	LEFT JOIN app_instance_users u ON u.app_instance_id = a.app_instance_id AND u.user_id = a.user_id
	LEFT JOIN app_instance_bots b ON b.app_instance_id = a.app_instance_id AND b.bot_id = a.bot_id`

func scanAdmin(r scanner) (store.AppInstanceAdmin, error) {
	var (
		a             store.AppInstanceAdmin
		userID, botID sql.NullString
		created       int64
	)
	err := r.Scan(&a.Seq, &a.AppInstanceID, &userID, &botID, &a.Name, &created)
	a.CreatedAt = fromMS(created)
	if userID.Valid {
		a.Kind, a.MemberID = store.MemberUser, userID.String
	} else {
		a.Kind, a.MemberID = store.MemberBot, botID.String
	}
	return a, err
}

// memberColumn is the column that holds a member of kind, in every table
// where a user or a bot is referenced by user_id or bot_id.
func memberColumn(kind store.MemberKind) (string, error) {
	switch kind {
	case store.MemberUser:
		return "user_id", nil
	case store.MemberBot:
		return "bot_id", nil
	}
	return "", fmt.Errorf("sqlstore: unknown member kind %q", kind)
}

// GetAppInstanceAdmin implements store.AppInstanceAdminReader.
func (t ReadTx) GetAppInstanceAdmin(ctx context.Context, appInstanceID string, kind store.MemberKind, memberID string) (store.AppInstanceAdmin, error) {
	col, err := memberColumn(kind)
	if err != nil {
		return store.AppInstanceAdmin{}, err
	}
	return getOne(ctx, t, "admin "+memberID, scanAdmin,
		adminSelect+` WHERE a.app_instance_id = ? AND a.`+col+` = ?`, appInstanceID, memberID)
}

// ListAppInstanceAdmins implements store.AppInstanceAdminReader.
func (t ReadTx) ListAppInstanceAdmins(ctx context.Context, appInstanceID string, p store.Page) ([]store.AppInstanceAdmin, error) {
	return list(ctx, t, "admins", scanAdmin,
		adminSelect+` WHERE a.app_instance_id = ? AND a.seq > ? ORDER BY a.seq LIMIT ?`, appInstanceID, p.After, t.d.limit(p))
}

// CountAppInstanceAdmins implements store.AppInstanceAdminReader.
func (t ReadTx) CountAppInstanceAdmins(ctx context.Context, appInstanceID string) (int, error) {
	return t.count(ctx, "admins", `SELECT COUNT(*) FROM app_instance_admins WHERE app_instance_id = ?`, appInstanceID)
}

// CreateAppInstanceAdmin implements store.AppInstanceAdminWriter.
func (t Tx) CreateAppInstanceAdmin(ctx context.Context, a store.AppInstanceAdmin) (store.AppInstanceAdmin, error) {
	col, err := memberColumn(a.Kind)
	if err != nil {
		return a, err
	}
	err = t.queryRow(ctx, `INSERT INTO app_instance_admins (app_instance_id, `+col+`, created_at) VALUES (?, ?, ?) RETURNING seq`,
		a.AppInstanceID, a.MemberID, ms(a.CreatedAt)).Scan(&a.Seq)
	if err != nil {
		return a, fmt.Errorf("%s: create admin %s: %w", t.d.Name, a.MemberID, t.d.Translate(err))
	}
	return t.GetAppInstanceAdmin(ctx, a.AppInstanceID, a.Kind, a.MemberID)
}

// DeleteAppInstanceAdmin implements store.AppInstanceAdminWriter.
func (t Tx) DeleteAppInstanceAdmin(ctx context.Context, appInstanceID string, kind store.MemberKind, memberID string) error {
	col, err := memberColumn(kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "delete admin "+memberID,
		`DELETE FROM app_instance_admins WHERE app_instance_id = ? AND `+col+` = ?`, appInstanceID, memberID)
}
