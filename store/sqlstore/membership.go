package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// The member's name is its user's or bot's current name, joined in.
const (
	membershipColumns = `m.seq, m.app_instance_id, m.channel_id, m.user_id, m.bot_id, COALESCE(u.name, b.name, ''), m.type,
	m.invited_by_kind, m.invited_by_id, m.invited_by_name, m.read_marker_at, m.preferences, m.sub_channel_id,
	m.created_at, m.updated_at`
	membershipFrom = ` FROM channel_memberships m
	LEFT JOIN app_instance_users u ON u.app_instance_id = m.app_instance_id AND u.user_id = m.user_id
	LEFT JOIN app_instance_bots b ON b.app_instance_id = m.app_instance_id AND b.bot_id = m.bot_id`
)

// membershipRow holds the scan destinations of membershipColumns.
type membershipRow struct {
	m                store.ChannelMembership
	userID, botID    sql.NullString
	subChannel       sql.NullString
	readMarker       sql.NullInt64
	created, updated int64
}

func (r *membershipRow) dest() []any {
	m := &r.m
	return []any{&m.Seq, &m.AppInstanceID, &m.ChannelID, &r.userID, &r.botID, &m.MemberName, &m.Type,
		&m.InvitedBy.Kind, &m.InvitedBy.ID, &m.InvitedByName, &r.readMarker, &m.Preferences, &r.subChannel,
		&r.created, &r.updated}
}

func (r *membershipRow) membership() store.ChannelMembership {
	m := r.m
	m.Member = memberActor(r.userID, r.botID)
	m.ReadMarkerAt = fromNullMS(r.readMarker)
	m.SubChannelID = r.subChannel.String
	m.CreatedAt, m.UpdatedAt = fromMS(r.created), fromMS(r.updated)
	return m
}

// memberActor is the member named by a row's user_id and bot_id columns,
// of which the schema sets exactly one.
func memberActor(userID, botID sql.NullString) store.Actor {
	if userID.Valid {
		return store.Actor{Kind: store.MemberUser, ID: userID.String}
	}
	return store.Actor{Kind: store.MemberBot, ID: botID.String}
}

func scanMembership(s scanner) (store.ChannelMembership, error) {
	var r membershipRow
	err := s.Scan(r.dest()...)
	return r.membership(), err
}

func scanMemberChannel(s scanner) (store.MemberChannel, error) {
	var (
		m membershipRow
		c channelRow
	)
	err := s.Scan(append(m.dest(), c.dest()...)...)
	return store.MemberChannel{Membership: m.membership(), Channel: c.channel()}, err
}

// GetChannelMembership implements store.ChannelMembershipReader.
func (t ReadTx) GetChannelMembership(ctx context.Context, appInstanceID, channelID string, m store.Actor) (store.ChannelMembership, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return store.ChannelMembership{}, err
	}
	return getOne(ctx, t, "membership of "+m.ID, scanMembership,
		`SELECT `+membershipColumns+membershipFrom+` WHERE m.app_instance_id = ? AND m.channel_id = ? AND m.`+col+` = ? ORDER BY m.seq LIMIT 1`,
		appInstanceID, channelID, m.ID)
}

// Queries of the membership lists, named for the query plan test.
const (
	listMembershipsQuery = `SELECT ` + membershipColumns + membershipFrom + `
		WHERE m.app_instance_id = ? AND m.channel_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`
	listMembershipsByTypeQuery = `SELECT ` + membershipColumns + membershipFrom + `
		WHERE m.app_instance_id = ? AND m.channel_id = ? AND m.type = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`
)

// listMembershipsOfQuery lists the memberships of a member held in col.
func listMembershipsOfQuery(col string) string {
	return `SELECT ` + membershipColumns + `, ` + channelColumns + membershipFrom + `
		JOIN channels c ON c.app_instance_id = m.app_instance_id AND c.channel_id = m.channel_id
		WHERE m.app_instance_id = ? AND m.` + col + ` = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`
}

// ListChannelMemberships implements store.ChannelMembershipReader.
func (t ReadTx) ListChannelMemberships(ctx context.Context, appInstanceID, channelID, typ string, p store.Page) ([]store.ChannelMembership, error) {
	if typ == "" {
		return list(ctx, t, "memberships", scanMembership, listMembershipsQuery, appInstanceID, channelID, p.After, t.d.limit(p))
	}
	return list(ctx, t, "memberships", scanMembership, listMembershipsByTypeQuery, appInstanceID, channelID, typ, p.After, t.d.limit(p))
}

// CountChannelMemberships implements store.ChannelMembershipReader.
func (t ReadTx) CountChannelMemberships(ctx context.Context, appInstanceID, channelID string) (int, error) {
	return t.count(ctx, "memberships",
		`SELECT COUNT(*) FROM channel_memberships WHERE app_instance_id = ? AND channel_id = ?`, appInstanceID, channelID)
}

// CountMembershipsOf implements store.ChannelMembershipReader.
func (t ReadTx) CountMembershipsOf(ctx context.Context, appInstanceID string, m store.Actor) (int, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return 0, err
	}
	return t.count(ctx, "memberships of "+m.ID,
		`SELECT COUNT(*) FROM channel_memberships WHERE app_instance_id = ? AND `+col+` = ?`, appInstanceID, m.ID)
}

// ListMembershipsOf implements store.ChannelMembershipReader.
func (t ReadTx) ListMembershipsOf(ctx context.Context, appInstanceID string, m store.Actor, p store.Page) ([]store.MemberChannel, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return nil, err
	}
	return list(ctx, t, "memberships of "+m.ID, scanMemberChannel, listMembershipsOfQuery(col), appInstanceID, m.ID, p.After, t.d.limit(p))
}

// CreateChannelMembership implements store.ChannelMembershipWriter.
func (t Tx) CreateChannelMembership(ctx context.Context, m store.ChannelMembership) (store.ChannelMembership, error) {
	col, err := memberColumn(m.Member.Kind)
	if err != nil {
		return m, err
	}
	_, err = t.exec(ctx, `INSERT INTO channel_memberships
		(app_instance_id, channel_id, `+col+`, type, invited_by_kind, invited_by_id, invited_by_name,
		 read_marker_at, preferences, sub_channel_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.AppInstanceID, m.ChannelID, m.Member.ID, m.Type, string(m.InvitedBy.Kind), m.InvitedBy.ID, m.InvitedByName,
		msOrNull(m.ReadMarkerAt), m.Preferences, nullString(m.SubChannelID), ms(m.CreatedAt), ms(m.UpdatedAt))
	if err != nil {
		return m, fmt.Errorf("%s: create membership of %s: %w", t.d.Name, m.Member.ID, t.d.Translate(err))
	}
	// Read back for Seq and the member's name.
	if m.SubChannelID != "" {
		return t.GetSubChannelMembership(ctx, m.AppInstanceID, m.ChannelID, m.SubChannelID, m.Member)
	}
	return t.GetChannelMembership(ctx, m.AppInstanceID, m.ChannelID, m.Member)
}

// UpdateChannelMembership implements store.ChannelMembershipWriter.
func (t Tx) UpdateChannelMembership(ctx context.Context, m store.ChannelMembership) error {
	col, err := memberColumn(m.Member.Kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "update membership of "+m.Member.ID, `UPDATE channel_memberships
		SET read_marker_at = ?, preferences = ?, sub_channel_id = ?, updated_at = ?
		WHERE app_instance_id = ? AND channel_id = ? AND `+col+` = ?`,
		msOrNull(m.ReadMarkerAt), m.Preferences, nullString(m.SubChannelID), ms(m.UpdatedAt), m.AppInstanceID, m.ChannelID, m.Member.ID)
}

// DeleteChannelMembership implements store.ChannelMembershipWriter.
func (t Tx) DeleteChannelMembership(ctx context.Context, appInstanceID, channelID string, m store.Actor) error {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "delete membership of "+m.ID,
		`DELETE FROM channel_memberships WHERE app_instance_id = ? AND channel_id = ? AND `+col+` = ?`, appInstanceID, channelID, m.ID)
}
