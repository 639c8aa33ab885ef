package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/belfryhq/belfry/store"
)

const messageColumns = `seq, app_instance_id, channel_id, message_id, content, metadata, content_type, type,
	sender_kind, sender_id, sender_name, redacted, status, status_detail, attributes, push_notification,
	target_kind, target_id, sub_channel_id, created_at, updated_at, edited_at, client_token, request_fingerprint`

func scanMessage(s scanner) (store.ChannelMessage, error) {
	var (
		m                    store.ChannelMessage
		targetKind, targetID sql.NullString
		subChannel           sql.NullString
		created, updated     int64
		edited               sql.NullInt64
		token, fp            sql.NullString
	)
	err := s.Scan(&m.Seq, &m.AppInstanceID, &m.ChannelID, &m.MessageID, &m.Content, &m.Metadata, &m.ContentType, &m.Type,
		&m.Sender.Kind, &m.Sender.ID, &m.SenderName, &m.Redacted, &m.Status, &m.StatusDetail, &m.Attributes, &m.PushNotification,
		&targetKind, &targetID, &subChannel, &created, &updated, &edited, &token, &fp)
	m.ClientToken, m.RequestFingerprint = token.String, fp.String
	if targetID.Valid {
		m.Target = &store.Actor{Kind: store.MemberKind(targetKind.String), ID: targetID.String}
	}
	m.SubChannelID = subChannel.String
	m.CreatedAt, m.UpdatedAt, m.EditedAt = fromMS(created), fromMS(updated), fromNullMS(edited)
	return m, err
}

// GetChannelMessage implements store.ChannelMessageReader.
func (t ReadTx) GetChannelMessage(ctx context.Context, appInstanceID, channelID, messageID string) (store.ChannelMessage, error) {
	return getOne(ctx, t, "message "+messageID, scanMessage,
		`SELECT `+messageColumns+` FROM channel_messages WHERE message_id = ? AND app_instance_id = ? AND channel_id = ?`,
		messageID, appInstanceID, channelID)
}

// ListChannelMessages implements store.ChannelMessageReader.
func (t ReadTx) ListChannelMessages(ctx context.Context, appInstanceID, channelID string, q store.MessageQuery) ([]store.ChannelMessage, error) {
	query, args := listMessagesQuery(t.d, appInstanceID, channelID, q)
	return list(ctx, t, "messages", scanMessage, query, args...)
}

// msgKey is a position in a channel's history, (created_at, seq).
type msgKey struct{ at, seq int64 }

func (k msgKey) less(o msgKey) bool { return k.at < o.at || k.at == o.at && k.seq < o.seq }

// listMessagesQuery builds ListChannelMessages' query.
//
// The cursor and the time bounds all become at most one exclusive lower
// and one exclusive upper bound on the row value (created_at, seq), which
// the planner turns into one range of the history index, walked in either
// direction: a page costs its own rows (plus the hidden ones skipped)
// however long the history. Times are whole milliseconds, so created_at >=
// t is (created_at, seq) > (t-1, MaxInt64), and created_at <= t is
// (created_at, seq) < (t+1, MinInt64).
func listMessagesQuery(d *Dialect, appInstanceID, channelID string, q store.MessageQuery) (string, []any) {
	var lo, hi *msgKey
	raise := func(k msgKey) {
		if lo == nil || lo.less(k) {
			lo = &k
		}
	}
	lower := func(k msgKey) {
		if hi == nil || k.less(*hi) {
			hi = &k
		}
	}
	if !q.NotBefore.IsZero() {
		raise(msgKey{ms(q.NotBefore) - 1, math.MaxInt64})
	}
	if !q.NotAfter.IsZero() {
		lower(msgKey{ms(q.NotAfter) + 1, math.MinInt64})
	}
	if q.After != nil {
		k := msgKey{ms(q.After.CreatedAt), q.After.Seq}
		if q.Descending {
			lower(k)
		} else {
			raise(k)
		}
	}

	var b strings.Builder
	args := []any{appInstanceID, channelID}
	b.WriteString(`SELECT ` + messageColumns + ` FROM channel_messages WHERE app_instance_id = ? AND channel_id = ?`)
	if q.SubChannelID != "" {
		b.WriteString(` AND sub_channel_id = ?`)
		args = append(args, q.SubChannelID)
	}
	if lo != nil {
		b.WriteString(` AND (created_at, seq) > (?, ?)`)
		args = append(args, lo.at, lo.seq)
	}
	if hi != nil {
		b.WriteString(` AND (created_at, seq) < (?, ?)`)
		args = append(args, hi.at, hi.seq)
	}
	b.WriteString(` AND ((status = 'SENT' AND (target_id IS NULL OR (target_kind = ? AND target_id = ?)))
		OR (sender_kind = ? AND sender_id = ?))`)
	args = append(args, string(q.Viewer.Kind), q.Viewer.ID, string(q.Viewer.Kind), q.Viewer.ID)
	if q.Descending {
		b.WriteString(` ORDER BY created_at DESC, seq DESC`)
	} else {
		b.WriteString(` ORDER BY created_at, seq`)
	}
	b.WriteString(` LIMIT ?`)
	args = append(args, d.limit(store.Page{Limit: q.Limit}))
	return b.String(), args
}

// insert runs an INSERT of at most one row where the Dialect says
// LastInsertID, returning how many rows it inserted and the key of the
// one: SQLite's RETURNING gathers its rows in a temporary table first, and
// database/sql's rows cost more than a Result.
func (t Tx) insert(ctx context.Context, q string, args ...any) (n, key int64, err error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, 0, err
	}
	if n, err = res.RowsAffected(); err != nil || n == 0 {
		return n, 0, err
	}
	key, err = res.LastInsertId()
	return n, key, err
}

// targetArgs returns the two target columns of m.
func targetArgs(m store.ChannelMessage) (kind, id any) {
	if m.Target == nil {
		return nil, nil
	}
	return string(m.Target.Kind), m.Target.ID
}

// tokenChannel is the value of channel_messages.token_channel, the
// ClientRequestToken index's key for the channel: its seq, which the
// insert reads itself so that no caller can store a token outside the
// index.
const tokenChannel = `(SELECT seq FROM channels WHERE app_instance_id = ? AND channel_id = ?)`

// CreateChannelMessage implements store.ChannelMessageWriter.
func (t Tx) CreateChannelMessage(ctx context.Context, m store.ChannelMessage) (store.ChannelMessage, error) {
	const values = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`
	q := `INSERT INTO channel_messages (` + insertMessageColumns + `) VALUES (` + values + `)`
	args := insertMessageArgs(m, 2)
	if m.ClientToken != "" {
		q = `INSERT INTO channel_messages (` + insertMessageColumns + `, token_channel) VALUES (` + values + `, ` + tokenChannel + `)`
		args = append(args, args[0], args[1]) // boxed once
	}
	var err error
	if t.d.LastInsertID {
		_, m.Seq, err = t.insert(ctx, q, args...)
	} else {
		err = t.queryRow(ctx, q+` RETURNING seq`, args...).Scan(&m.Seq)
	}
	if err != nil {
		return m, fmt.Errorf("%s: create message %s: %w", t.d.Name, m.MessageID, t.d.Translate(err))
	}
	return m, nil
}

const insertMessageColumns = `app_instance_id, channel_id, message_id, content, metadata, content_type, type,
	sender_kind, sender_id, sender_name, redacted, status, status_detail, attributes, push_notification,
	target_kind, target_id, sub_channel_id, created_at, updated_at, edited_at, client_token, request_fingerprint`

// insertMessageArgs are the values of insertMessageColumns, in a slice
// with room for extra more.
func insertMessageArgs(m store.ChannelMessage, extra int) []any {
	targetKind, targetID := targetArgs(m)
	return append(make([]any, 0, 23+extra), m.AppInstanceID, m.ChannelID, m.MessageID, m.Content, m.Metadata, m.ContentType, m.Type,
		string(m.Sender.Kind), m.Sender.ID, m.SenderName, m.Redacted, m.Status, m.StatusDetail, m.Attributes, m.PushNotification,
		targetKind, targetID, nullString(m.SubChannelID), ms(m.CreatedAt), ms(m.UpdatedAt), msOrNull(m.EditedAt),
		nullString(m.ClientToken), nullString(m.RequestFingerprint))
}

// createOnceQuery inserts a message unless its token is taken, by a
// message of the same sender in the channel (the unique index, ON
// CONFLICT DO NOTHING) or by a live idempotency record of the scope (a
// NON_PERSISTENT send or a flow's): one statement for the common case. The
// SELECT form needs the casts: PostgreSQL types a bare parameter in a
// select list as text.
const createOnceQuery = `INSERT INTO channel_messages (` + insertMessageColumns + `, token_channel)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS BOOLEAN), ?, ?, ?, ?, ?, ?, ?,
		CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, ` + tokenChannel + `
	WHERE NOT EXISTS (SELECT 1 FROM idempotency_records WHERE scope = ? AND token = ? AND created_at >= ?)
	ON CONFLICT DO NOTHING`

// CreateChannelMessageOnce implements store.ChannelMessageWriter.
func (t Tx) CreateChannelMessageOnce(ctx context.Context, m store.ChannelMessage, scope string, since time.Time) (store.ChannelMessage, bool, error) {
	// The subquery's app instance, channel and token are the values
	// already boxed for the columns (an interface value of a string costs
	// an allocation).
	args := insertMessageArgs(m, 5)
	token := args[21]
	if m.ClientToken == "" {
		token = ""
	}
	args = append(args, args[0], args[1], t.d.Bytes(scope), token, ms(since))
	var err error
	if t.d.LastInsertID {
		var n int64
		if n, m.Seq, err = t.insert(ctx, createOnceQuery, args...); err == nil && n == 0 {
			return m, false, nil
		}
	} else {
		err = t.queryRow(ctx, createOnceQuery+` RETURNING seq`, args...).Scan(&m.Seq)
	}
	if errors.Is(err, t.d.NoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("%s: create message %s: %w", t.d.Name, m.MessageID, t.d.Translate(err))
	}
	return m, true, nil
}

// getMessageByTokenQuery finds a message through the ClientRequestToken
// index (channel_messages_by_token).
const getMessageByTokenQuery = `SELECT ` + messageColumns + ` FROM channel_messages
	WHERE token_channel = ` + tokenChannel + ` AND sender_kind = ? AND sender_id = ? AND client_token = ?`

// GetChannelMessageByToken implements store.ChannelMessageReader.
func (t ReadTx) GetChannelMessageByToken(ctx context.Context, appInstanceID, channelID string, sender store.Actor, token string) (store.ChannelMessage, error) {
	return getOne(ctx, t, "message by token", scanMessage, getMessageByTokenQuery,
		appInstanceID, channelID, string(sender.Kind), sender.ID, token)
}

// ClearChannelMessageToken implements store.ChannelMessageWriter.
func (t Tx) ClearChannelMessageToken(ctx context.Context, appInstanceID, channelID, messageID string) error {
	return t.execOne(ctx, "clear token of message "+messageID,
		`UPDATE channel_messages SET client_token = NULL, request_fingerprint = NULL, token_channel = NULL
		WHERE message_id = ? AND app_instance_id = ? AND channel_id = ?`, messageID, appInstanceID, channelID)
}

// UpdateChannelMessage implements store.ChannelMessageWriter.
func (t Tx) UpdateChannelMessage(ctx context.Context, m store.ChannelMessage) error {
	return t.execOne(ctx, "update message "+m.MessageID, `UPDATE channel_messages
		SET content = ?, metadata = ?, content_type = ?, redacted = ?, status = ?, status_detail = ?,
			attributes = ?, push_notification = ?, updated_at = ?, edited_at = ?
		WHERE message_id = ? AND app_instance_id = ? AND channel_id = ?`,
		m.Content, m.Metadata, m.ContentType, m.Redacted, m.Status, m.StatusDetail,
		m.Attributes, m.PushNotification, ms(m.UpdatedAt), msOrNull(m.EditedAt),
		m.MessageID, m.AppInstanceID, m.ChannelID)
}

// DeleteChannelMessage implements store.ChannelMessageWriter.
func (t Tx) DeleteChannelMessage(ctx context.Context, appInstanceID, channelID, messageID string) error {
	return t.execOne(ctx, "delete message "+messageID,
		`DELETE FROM channel_messages WHERE message_id = ? AND app_instance_id = ? AND channel_id = ?`,
		messageID, appInstanceID, channelID)
}

// deleteMessagesBeforeQuery walks the app instance's channels in
// ChannelID order and, in each, the history index's range of messages
// before the cutoff: the index every send writes anyway, so no index of
// its own serves retention (migration 0011). The CROSS JOIN keeps SQLite's
// planner from walking the app instance's whole history instead, and the
// cursor (from) keeps a sweep of many batches from probing the channels
// it has already emptied again. PostgreSQL has no DELETE ... LIMIT, and
// in SQLite it needs a compile-time option builds rarely have.
const deleteMessagesBeforeQuery = `DELETE FROM channel_messages WHERE seq IN (
	SELECT m.seq FROM channels c CROSS JOIN channel_messages m
	WHERE c.app_instance_id = ? AND c.channel_id >= ?
		AND m.app_instance_id = c.app_instance_id AND m.channel_id = c.channel_id AND m.created_at < ?
	ORDER BY c.channel_id LIMIT ?)
	RETURNING channel_id`

// DeleteChannelMessagesBefore implements store.ChannelMessageWriter.
func (t Tx) DeleteChannelMessagesBefore(ctx context.Context, appInstanceID, from string, before time.Time, limit int) (int, string, error) {
	rows, err := t.query(ctx, deleteMessagesBeforeQuery, appInstanceID, from, ms(before), t.d.limit(store.Page{Limit: limit}))
	if err != nil {
		return 0, "", fmt.Errorf("%s: delete messages of %s: %w", t.d.Name, appInstanceID, t.d.Translate(err))
	}
	defer rows.Close()
	n, last := 0, ""
	for rows.Next() {
		var ch string
		if err := rows.Scan(&ch); err != nil {
			return 0, "", fmt.Errorf("%s: delete messages of %s: %w", t.d.Name, appInstanceID, err)
		}
		n, last = n+1, max(last, ch)
	}
	if err := rows.Err(); err != nil {
		return 0, "", fmt.Errorf("%s: delete messages of %s: %w", t.d.Name, appInstanceID, t.d.Translate(err))
	}
	return n, last, nil
}
