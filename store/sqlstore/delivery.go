package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/belfryhq/belfry/store"
)

// ListStreamingConfigurations implements store.StreamingConfigurationReader.
func (t ReadTx) ListStreamingConfigurations(ctx context.Context, appInstanceID string) ([]store.StreamingConfiguration, error) {
	return list(ctx, t, "streaming configurations", func(r scanner) (store.StreamingConfiguration, error) {
		var c store.StreamingConfiguration
		var created int64
		err := r.Scan(&c.AppInstanceID, &c.DataType, &c.ResourceArn, &created)
		c.CreatedAt = fromMS(created)
		return c, err
	}, `SELECT app_instance_id, data_type, resource_arn, created_at FROM streaming_configurations
		WHERE app_instance_id = ? ORDER BY data_type`, appInstanceID)
}

// PutStreamingConfigurations implements store.StreamingConfigurationWriter.
func (t Tx) PutStreamingConfigurations(ctx context.Context, appInstanceID string, cs []store.StreamingConfiguration) error {
	if _, err := t.exec(ctx, `DELETE FROM streaming_configurations WHERE app_instance_id = ?`, appInstanceID); err != nil {
		return fmt.Errorf("%s: put streaming configurations: %w", t.d.Name, t.d.Translate(err))
	}
	for _, c := range cs {
		if _, err := t.exec(ctx, `INSERT INTO streaming_configurations (app_instance_id, data_type, resource_arn, created_at)
			VALUES (?, ?, ?, ?)`, appInstanceID, c.DataType, c.ResourceArn, ms(c.CreatedAt)); err != nil {
			return fmt.Errorf("%s: put streaming configuration %s: %w", t.d.Name, c.DataType, t.d.Translate(err))
		}
	}
	return nil
}

// DeleteStreamingConfigurations implements store.StreamingConfigurationWriter.
func (t Tx) DeleteStreamingConfigurations(ctx context.Context, appInstanceID string) (int, error) {
	return t.execCount(ctx, "delete streaming configurations", `DELETE FROM streaming_configurations WHERE app_instance_id = ?`, appInstanceID)
}

const deliveryColumns = `id, kind, app_instance_id, channel_arn, order_key, target, partition_key, body,
	state, attempts, next_attempt_at, last_error, lease_owner, created_at, updated_at`

func scanDelivery(r scanner) (store.Delivery, error) {
	var (
		d                      store.Delivery
		next, created, updated int64
	)
	err := r.Scan(&d.ID, &d.Kind, &d.AppInstanceID, &d.ChannelArn, &d.OrderKey, &d.Target, &d.PartitionKey, &d.Body,
		&d.State, &d.Attempts, &next, &d.LastError, &d.LeaseOwner, &created, &updated)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromMS(next), fromMS(created), fromMS(updated)
	return d, err
}

// Queries of the delivery queue, named for the query plan test.
const (
	listDueDeliveriesQuery = `SELECT ` + deliveryColumns + ` FROM deliveries AS d
		WHERE state = 'PENDING' AND next_attempt_at <= ?
		AND (order_key = '' OR NOT EXISTS (SELECT 1 FROM deliveries AS e
			WHERE e.state = 'PENDING' AND e.order_key = d.order_key AND e.order_key <> '' AND e.id < d.id))
		ORDER BY next_attempt_at, id LIMIT ?`
	// orderKeyPendingQuery: order_key <> '' lets the engine use the
	// partial index of the order keys; without it SQLite walks the
	// pending deliveries (a push backlog) looking for one of the key.
	orderKeyPendingQuery = `SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'PENDING' AND order_key = ? AND order_key <> '')`
	promoteNextQuery     = `UPDATE deliveries SET next_attempt_at = CASE WHEN created_at < ? THEN created_at ELSE ? END WHERE id = (
		SELECT id FROM deliveries WHERE state = 'PENDING' AND order_key = ? AND order_key <> ''
		ORDER BY id LIMIT 1) AND next_attempt_at = ?`
	pruneDeliveriesQuery = `DELETE FROM deliveries WHERE kind = ? AND state <> 'PENDING' AND id < COALESCE(
		(SELECT id FROM deliveries WHERE kind = ? AND state <> 'PENDING' ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`
)

// ListDueDeliveries implements store.DeliveryReader.
func (t ReadTx) ListDueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	return list(ctx, t, "due deliveries", scanDelivery, listDueDeliveriesQuery, ms(now), t.d.limit(store.Page{Limit: limit}))
}

// GetDelivery implements store.DeliveryReader.
func (t ReadTx) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	return getOne(ctx, t, fmt.Sprintf("delivery %d", id), scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id)
}

// ListDeliveries implements store.DeliveryReader.
func (t ReadTx) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE kind = ?`
	args := []any{string(f.Kind)}
	if f.AppInstanceID != "" {
		q += ` AND app_instance_id = ?`
		args = append(args, f.AppInstanceID)
	}
	if f.ChannelArn != "" {
		q += ` AND channel_arn = ?`
		args = append(args, f.ChannelArn)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, t.d.limit(store.Page{Limit: f.Limit}))
	return list(ctx, t, "deliveries", scanDelivery, q, args...)
}

// GetDeliveryStats implements store.DeliveryReader.
func (t ReadTx) GetDeliveryStats(ctx context.Context, kind store.DeliveryKind) (store.DeliveryStats, error) {
	var st store.DeliveryStats
	var oldest *int64
	err := t.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE state = 'PENDING' AND kind = ?`, string(kind)).Scan(&st.Pending, &oldest)
	if err != nil {
		return st, fmt.Errorf("%s: delivery stats: %w", t.d.Name, err)
	}
	if oldest != nil {
		st.OldestPending = fromMS(*oldest)
	}
	return st, nil
}

// waitingForTurn is the next_attempt_at of a delivery queued behind an
// older pending one of its order key: far beyond any due time, so that the
// due scan, which walks next_attempt_at up to now, never visits it however
// long the queue behind a failing head grows. The head's settling gives it
// a real time (promoteNext).
const waitingForTurn = int64(1) << 53

// CreateDelivery implements store.DeliveryWriter.
func (t Tx) CreateDelivery(ctx context.Context, d store.Delivery) (int64, error) {
	next := ms(d.NextAttemptAt)
	if d.OrderKey != "" && d.State == store.DeliveryPending {
		var waiting bool
		if err := t.queryRow(ctx, orderKeyPendingQuery, d.OrderKey).Scan(&waiting); err != nil {
			return 0, fmt.Errorf("%s: create delivery: %w", t.d.Name, err)
		}
		if waiting {
			next = waitingForTurn
		}
	}
	var id int64
	err := t.queryRow(ctx, `INSERT INTO deliveries
		(kind, app_instance_id, channel_arn, order_key, target, partition_key, body, state, attempts, next_attempt_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		string(d.Kind), d.AppInstanceID, d.ChannelArn, d.OrderKey, d.Target, d.PartitionKey, d.Body, string(d.State), d.Attempts,
		next, d.LastError, ms(d.CreatedAt), ms(d.UpdatedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("%s: create delivery: %w", t.d.Name, t.d.Translate(err))
	}
	return id, nil
}

// UpdateDelivery implements store.DeliveryWriter.
func (t Tx) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	// The row's own order key (not d's, which a caller may leave empty)
	// decides whether a delivery waits behind it; a push has none, and
	// its settling need not look for one.
	var orderKey string
	err := t.queryRow(ctx, `UPDATE deliveries
		SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, lease_owner = ?, updated_at = ? WHERE id = ? RETURNING order_key`,
		string(d.State), d.Attempts, ms(d.NextAttemptAt), d.LastError, d.LeaseOwner, ms(d.UpdatedAt), d.ID).Scan(&orderKey)
	if errors.Is(err, t.d.NoRows) {
		return fmt.Errorf("%s: update delivery %d: %w", t.d.Name, d.ID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: update delivery %d: %w", t.d.Name, d.ID, t.d.Translate(err))
	}
	if d.State != store.DeliveryPending && orderKey != "" {
		return t.promoteNext(ctx, d, orderKey)
	}
	return nil
}

// promoteNext makes the oldest delivery waiting behind settled d, of its
// order key, due: at its own creation, not at d's settling, so that it
// keeps its place in the due order (next_attempt_at, id) among the
// deliveries queued after it. Made due at the settling, each record of a
// channel would queue behind every push queued meanwhile, and a backlog
// of pushes would let one record through per pass over the whole backlog.
func (t Tx) promoteNext(ctx context.Context, d store.Delivery, orderKey string) error {
	settled := ms(d.UpdatedAt)
	_, err := t.exec(ctx, promoteNextQuery, settled, settled, orderKey, waitingForTurn)
	if err != nil {
		return fmt.Errorf("%s: update delivery %d: %w", t.d.Name, d.ID, t.d.Translate(err))
	}
	return nil
}

// PruneDeliveries implements store.DeliveryWriter.
func (t Tx) PruneDeliveries(ctx context.Context, kind store.DeliveryKind, keep int) (int, error) {
	return t.execCount(ctx, "prune deliveries", pruneDeliveriesQuery, string(kind), string(kind), keep-1)
}

// listPushTargetsQuery joins a channel's user memberships with their
// endpoints: one statement instead of one per member inside the sender's
// transaction.
const listPushTargetsQuery = `SELECT m.preferences, e.seq, e.app_instance_id, e.user_id, e.endpoint_id, e.name, e.type, e.resource_arn,
		e.device_token, e.voip_device_token, e.allow_messages, e.created_at, e.updated_at
	FROM channel_memberships AS m
	JOIN app_instance_user_endpoints AS e ON e.app_instance_id = m.app_instance_id AND e.user_id = m.user_id
	WHERE m.app_instance_id = ? AND m.channel_id = ? AND m.user_id IS NOT NULL AND e.allow_messages = 'ALL'
	ORDER BY m.seq, e.seq`

// ListChannelPushTargets implements store.PushTargetReader.
func (t ReadTx) ListChannelPushTargets(ctx context.Context, appInstanceID, channelID, subChannelID string, members []string) ([]store.PushTarget, error) {
	q, args := listPushTargetsQuery, []any{appInstanceID, channelID}
	if subChannelID != "" {
		q = strings.Replace(q, "AND e.allow_messages", "AND m.sub_channel_id = ? AND e.allow_messages", 1)
		args = append(args, subChannelID)
	}
	if members != nil {
		if len(members) == 0 {
			return []store.PushTarget{}, nil
		}
		q = strings.Replace(q, "AND e.allow_messages", "AND m.user_id IN (?"+strings.Repeat(", ?", len(members)-1)+") AND e.allow_messages", 1)
		for _, m := range members {
			args = append(args, m)
		}
	}
	return list(ctx, t, "push targets", func(r scanner) (store.PushTarget, error) {
		var pt store.PushTarget
		var created, updated int64
		e := &pt.Endpoint
		err := r.Scan(&pt.Preferences, &e.Seq, &e.AppInstanceID, &e.UserID, &e.EndpointID, &e.Name, &e.Type, &e.ResourceArn,
			&e.DeviceToken, &e.VoipDeviceToken, &e.AllowMessages, &created, &updated)
		e.CreatedAt, e.UpdatedAt = fromMS(created), fromMS(updated)
		return pt, err
	}, q, args...)
}
