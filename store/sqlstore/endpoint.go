package sqlstore

import (
	"context"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

const endpointColumns = `seq, app_instance_id, user_id, endpoint_id, name, type, resource_arn, device_token, voip_device_token, allow_messages, created_at, updated_at`

func scanEndpoint(r scanner) (store.AppInstanceUserEndpoint, error) {
	var e store.AppInstanceUserEndpoint
	var created, updated int64
	err := r.Scan(&e.Seq, &e.AppInstanceID, &e.UserID, &e.EndpointID, &e.Name, &e.Type, &e.ResourceArn,
		&e.DeviceToken, &e.VoipDeviceToken, &e.AllowMessages, &created, &updated)
	e.CreatedAt, e.UpdatedAt = fromMS(created), fromMS(updated)
	return e, err
}

// GetAppInstanceUserEndpoint implements store.AppInstanceUserEndpointReader.
func (t ReadTx) GetAppInstanceUserEndpoint(ctx context.Context, appInstanceID, userID, endpointID string) (store.AppInstanceUserEndpoint, error) {
	return getOne(ctx, t, "endpoint "+endpointID, scanEndpoint,
		`SELECT `+endpointColumns+` FROM app_instance_user_endpoints WHERE app_instance_id = ? AND user_id = ? AND endpoint_id = ?`,
		appInstanceID, userID, endpointID)
}

// ListAppInstanceUserEndpoints implements store.AppInstanceUserEndpointReader.
func (t ReadTx) ListAppInstanceUserEndpoints(ctx context.Context, appInstanceID, userID string, p store.Page) ([]store.AppInstanceUserEndpoint, error) {
	return list(ctx, t, "endpoints", scanEndpoint,
		`SELECT `+endpointColumns+` FROM app_instance_user_endpoints WHERE app_instance_id = ? AND user_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		appInstanceID, userID, p.After, t.d.limit(p))
}

// CountAppInstanceUserEndpoints implements store.AppInstanceUserEndpointReader.
func (t ReadTx) CountAppInstanceUserEndpoints(ctx context.Context, appInstanceID, userID string) (int, error) {
	return t.count(ctx, "endpoints", `SELECT COUNT(*) FROM app_instance_user_endpoints WHERE app_instance_id = ? AND user_id = ?`, appInstanceID, userID)
}

// CreateAppInstanceUserEndpoint implements store.AppInstanceUserEndpointWriter.
func (t Tx) CreateAppInstanceUserEndpoint(ctx context.Context, e store.AppInstanceUserEndpoint) (store.AppInstanceUserEndpoint, error) {
	err := t.queryRow(ctx, `INSERT INTO app_instance_user_endpoints
		(app_instance_id, user_id, endpoint_id, name, type, resource_arn, device_token, voip_device_token, allow_messages, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.AppInstanceID, e.UserID, e.EndpointID, e.Name, e.Type, e.ResourceArn, e.DeviceToken, e.VoipDeviceToken, e.AllowMessages,
		ms(e.CreatedAt), ms(e.UpdatedAt)).Scan(&e.Seq)
	if err != nil {
		return e, fmt.Errorf("%s: create endpoint %s: %w", t.d.Name, e.EndpointID, t.d.Translate(err))
	}
	return e, nil
}

// UpdateAppInstanceUserEndpoint implements store.AppInstanceUserEndpointWriter.
func (t Tx) UpdateAppInstanceUserEndpoint(ctx context.Context, e store.AppInstanceUserEndpoint) error {
	return t.execOne(ctx, "update endpoint "+e.EndpointID, `UPDATE app_instance_user_endpoints
		SET name = ?, allow_messages = ?, updated_at = ? WHERE app_instance_id = ? AND user_id = ? AND endpoint_id = ?`,
		e.Name, e.AllowMessages, ms(e.UpdatedAt), e.AppInstanceID, e.UserID, e.EndpointID)
}

// DeleteAppInstanceUserEndpoint implements store.AppInstanceUserEndpointWriter.
func (t Tx) DeleteAppInstanceUserEndpoint(ctx context.Context, appInstanceID, userID, endpointID string) error {
	return t.execOne(ctx, "delete endpoint "+endpointID,
		`DELETE FROM app_instance_user_endpoints WHERE app_instance_id = ? AND user_id = ? AND endpoint_id = ?`, appInstanceID, userID, endpointID)
}
