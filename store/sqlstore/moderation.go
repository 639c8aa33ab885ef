package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/belfryhq/belfry/store"
)

// Moderators and bans share the channel_grants table; its kind column holds
// the GrantKind. The member's name is joined in, as for memberships.
const (
	grantColumns = `g.seq, g.app_instance_id, g.channel_id, g.user_id, g.bot_id, COALESCE(u.name, b.name, ''),
	g.created_by_kind, g.created_by_id, g.created_by_name, g.created_at`
	grantFrom = ` FROM channel_grants g
	LEFT JOIN app_instance_users u ON u.app_instance_id = g.app_instance_id AND u.user_id = g.user_id
	LEFT JOIN app_instance_bots b ON b.app_instance_id = g.app_instance_id AND b.bot_id = g.bot_id`
)

// grantRow holds the scan destinations of grantColumns.
type grantRow struct {
	g             store.ChannelGrant
	userID, botID sql.NullString
	created       int64
}

func (r *grantRow) dest() []any {
	g := &r.g
	return []any{&g.Seq, &g.AppInstanceID, &g.ChannelID, &r.userID, &r.botID, &g.MemberName,
		&g.CreatedBy.Kind, &g.CreatedBy.ID, &g.CreatedByName, &r.created}
}

func (r *grantRow) grant() store.ChannelGrant {
	g := r.g
	g.Member = memberActor(r.userID, r.botID)
	g.CreatedAt = fromMS(r.created)
	return g
}

func scanGrant(s scanner) (store.ChannelGrant, error) {
	var r grantRow
	err := s.Scan(r.dest()...)
	return r.grant(), err
}

func scanModeratedChannel(s scanner) (store.ModeratedChannel, error) {
	var (
		g grantRow
		c channelRow
	)
	err := s.Scan(append(g.dest(), c.dest()...)...)
	return store.ModeratedChannel{Grant: g.grant(), Channel: c.channel()}, err
}

// grantKind returns the kind column's value for kind. An unknown kind is
// refused here: the CHECK constraint would report it as an internal error
// on a write and a read would just find nothing.
func grantKind(kind store.GrantKind) (string, error) {
	switch kind {
	case store.Moderator, store.Ban:
		return string(kind), nil
	}
	return "", fmt.Errorf("sqlstore: unknown grant kind %q", kind)
}

// GetChannelGrant implements store.ChannelGrantReader.
func (t ReadTx) GetChannelGrant(ctx context.Context, kind store.GrantKind, appInstanceID, channelID string, m store.Actor) (store.ChannelGrant, error) {
	k, err := grantKind(kind)
	if err != nil {
		return store.ChannelGrant{}, err
	}
	col, err := memberColumn(m.Kind)
	if err != nil {
		return store.ChannelGrant{}, err
	}
	return getOne(ctx, t, k+" "+m.ID, scanGrant,
		`SELECT `+grantColumns+grantFrom+` WHERE g.app_instance_id = ? AND g.channel_id = ? AND g.kind = ? AND g.`+col+` = ?`,
		appInstanceID, channelID, k, m.ID)
}

// Queries of the grant lists, named for the query plan test.
const listGrantsQuery = `SELECT ` + grantColumns + grantFrom + `
	WHERE g.app_instance_id = ? AND g.channel_id = ? AND g.kind = ? AND g.seq > ? ORDER BY g.seq LIMIT ?`

// listModeratedQuery lists the moderator grants of a member held in col.
func listModeratedQuery(col string) string {
	return `SELECT ` + grantColumns + `, ` + channelColumns + grantFrom + `
		JOIN channels c ON c.app_instance_id = g.app_instance_id AND c.channel_id = g.channel_id
		WHERE g.app_instance_id = ? AND g.` + col + ` = ? AND g.kind = 'moderator' AND g.seq > ? ORDER BY g.seq LIMIT ?`
}

// ListChannelGrants implements store.ChannelGrantReader.
func (t ReadTx) ListChannelGrants(ctx context.Context, kind store.GrantKind, appInstanceID, channelID string, p store.Page) ([]store.ChannelGrant, error) {
	k, err := grantKind(kind)
	if err != nil {
		return nil, err
	}
	return list(ctx, t, k+"s", scanGrant, listGrantsQuery, appInstanceID, channelID, k, p.After, t.d.limit(p))
}

// CountChannelGrants implements store.ChannelGrantReader.
func (t ReadTx) CountChannelGrants(ctx context.Context, kind store.GrantKind, appInstanceID, channelID string) (int, error) {
	k, err := grantKind(kind)
	if err != nil {
		return 0, err
	}
	return t.count(ctx, k+"s",
		`SELECT COUNT(*) FROM channel_grants WHERE app_instance_id = ? AND channel_id = ? AND kind = ?`, appInstanceID, channelID, k)
}

// ListChannelsModeratedBy implements store.ChannelGrantReader.
func (t ReadTx) ListChannelsModeratedBy(ctx context.Context, appInstanceID string, m store.Actor, p store.Page) ([]store.ModeratedChannel, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return nil, err
	}
	return list(ctx, t, "channels moderated by "+m.ID, scanModeratedChannel, listModeratedQuery(col), appInstanceID, m.ID, p.After, t.d.limit(p))
}

// CreateChannelGrant implements store.ChannelGrantWriter.
func (t Tx) CreateChannelGrant(ctx context.Context, kind store.GrantKind, g store.ChannelGrant) (store.ChannelGrant, error) {
	k, err := grantKind(kind)
	if err != nil {
		return g, err
	}
	col, err := memberColumn(g.Member.Kind)
	if err != nil {
		return g, err
	}
	_, err = t.exec(ctx, `INSERT INTO channel_grants
		(app_instance_id, channel_id, kind, `+col+`, created_by_kind, created_by_id, created_by_name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		g.AppInstanceID, g.ChannelID, k, g.Member.ID, string(g.CreatedBy.Kind), g.CreatedBy.ID, g.CreatedByName, ms(g.CreatedAt))
	if err != nil {
		return g, fmt.Errorf("%s: create %s %s: %w", t.d.Name, k, g.Member.ID, t.d.Translate(err))
	}
	// Read back for Seq and the member's name.
	return t.GetChannelGrant(ctx, kind, g.AppInstanceID, g.ChannelID, g.Member)
}

// DeleteChannelGrant implements store.ChannelGrantWriter.
func (t Tx) DeleteChannelGrant(ctx context.Context, kind store.GrantKind, appInstanceID, channelID string, m store.Actor) error {
	k, err := grantKind(kind)
	if err != nil {
		return err
	}
	col, err := memberColumn(m.Kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "delete "+k+" "+m.ID,
		`DELETE FROM channel_grants WHERE app_instance_id = ? AND channel_id = ? AND kind = ? AND `+col+` = ?`,
		appInstanceID, channelID, k, m.ID)
}
