package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

// Times are stored as INTEGER Unix milliseconds (see store.CredentialReader).

const credentialColumns = `access_key_id, secret_access_key, user_arn, description, created_at, expires_at`

// GetCredential implements store.CredentialReader.
func (t ReadTx) GetCredential(ctx context.Context, accessKeyID string) (store.Credential, error) {
	row := t.queryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE access_key_id = ?`, accessKeyID)
	c, err := scanCredential(row)
	if errors.Is(err, t.d.NoRows) {
		return store.Credential{}, fmt.Errorf("%s: get credential %s: %w", t.d.Name, accessKeyID, store.ErrNotFound)
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("%s: get credential %s: %w", t.d.Name, accessKeyID, err)
	}
	return c, nil
}

// ListCredentials implements store.CredentialReader.
func (t ReadTx) ListCredentials(ctx context.Context, f store.CredentialFilter) ([]store.Credential, error) {
	// Two statements rather than "? = '' OR user_arn = ?", which would keep
	// the planner from using the user_arn index.
	q, args := `SELECT `+credentialColumns+` FROM credentials ORDER BY created_at, access_key_id`, []any(nil)
	if f.UserArn != "" {
		q, args = `SELECT `+credentialColumns+` FROM credentials WHERE user_arn = ? ORDER BY created_at, access_key_id`, []any{f.UserArn}
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list credentials: %w", t.d.Name, err)
	}
	defer rows.Close()
	cs := []store.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list credentials: %w", t.d.Name, err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: list credentials: %w", t.d.Name, err)
	}
	return cs, nil
}

// CreateCredential implements store.CredentialWriter.
func (t Tx) CreateCredential(ctx context.Context, c store.Credential) error {
	var expires *int64
	if c.ExpiresAt != nil {
		ms := c.ExpiresAt.UnixMilli()
		expires = &ms
	}
	_, err := t.exec(ctx, `INSERT INTO credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.AccessKeyID, c.SecretAccessKey, c.UserArn, c.Description, c.CreatedAt.UnixMilli(), expires)
	if err != nil {
		// Never c itself in the message: the error may be logged.
		return fmt.Errorf("%s: create credential %s: %w", t.d.Name, c.AccessKeyID, t.d.Translate(err))
	}
	return nil
}

// DeleteCredential implements store.CredentialWriter.
func (t Tx) DeleteCredential(ctx context.Context, accessKeyID string) error {
	res, err := t.exec(ctx, `DELETE FROM credentials WHERE access_key_id = ?`, accessKeyID)
	if err != nil {
		return fmt.Errorf("%s: delete credential %s: %w", t.d.Name, accessKeyID, t.d.Translate(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: delete credential %s: %w", t.d.Name, accessKeyID, err)
	} else if n == 0 {
		return fmt.Errorf("%s: delete credential %s: %w", t.d.Name, accessKeyID, store.ErrNotFound)
	}
	return nil
}

// DeleteCredentialsByUser implements store.CredentialWriter.
func (t Tx) DeleteCredentialsByUser(ctx context.Context, userArn string) (int, error) {
	return t.execCount(ctx, "delete credentials of "+userArn, `DELETE FROM credentials WHERE user_arn = ?`, userArn)
}

// DeleteCredentialsByAppInstance implements store.CredentialWriter.
func (t Tx) DeleteCredentialsByAppInstance(ctx context.Context, appInstanceArn string) (int, error) {
	// A prefix compare rather than LIKE, whose wildcards '_' and '%' could
	// appear in ids.
	prefix := appInstanceArn + "/user/"
	return t.execCount(ctx, "delete credentials of "+appInstanceArn, t.d.DeleteCredentialsWithPrefix, len(prefix), prefix)
}

// scanCredential reads one row selected with credentialColumns.
func scanCredential(row interface{ Scan(...any) error }) (store.Credential, error) {
	var (
		c         store.Credential
		createdAt int64
		expiresAt sql.NullInt64
	)
	if err := row.Scan(&c.AccessKeyID, &c.SecretAccessKey, &c.UserArn, &c.Description, &createdAt, &expiresAt); err != nil {
		return store.Credential{}, err
	}
	c.CreatedAt = time.UnixMilli(createdAt).UTC()
	if expiresAt.Valid {
		t := time.UnixMilli(expiresAt.Int64).UTC()
		c.ExpiresAt = &t
	}
	return c, nil
}
