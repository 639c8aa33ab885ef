package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// channelColumns are read with the table aliased c, so that queries joining
// channels to memberships or grants can share them.
const channelColumns = `c.seq, c.app_instance_id, c.channel_id, c.name, c.mode, c.privacy, c.metadata,
	c.created_by_kind, c.created_by_id, c.created_by_name, c.flow_id,
	c.elastic_max_sub_channels, c.elastic_target_memberships, c.elastic_min_membership_pct,
	c.expiration_criterion, c.expiration_days, c.expires_at, c.last_message_at, c.created_at, c.updated_at`

// channelRow holds the scan destinations of channelColumns, so that a
// joined row can scan a channel and another record in one Scan.
type channelRow struct {
	c                       store.Channel
	flow, crit              sql.NullString
	elMax, elTarget, elMin  sql.NullInt64
	days, expiresAt, lastAt sql.NullInt64
	created, updated        int64
}

func (r *channelRow) dest() []any {
	c := &r.c
	return []any{&c.Seq, &c.AppInstanceID, &c.ChannelID, &c.Name, &c.Mode, &c.Privacy, &c.Metadata,
		&c.CreatedByKind, &c.CreatedByID, &c.CreatedByName, &r.flow,
		&r.elMax, &r.elTarget, &r.elMin,
		&r.crit, &r.days, &r.expiresAt, &r.lastAt, &r.created, &r.updated}
}

func (r *channelRow) channel() store.Channel {
	c := r.c
	c.FlowID = r.flow.String
	if r.elMax.Valid {
		c.Elastic = &store.ElasticConfig{
			MaximumSubChannels:             int32(r.elMax.Int64),
			TargetMembershipsPerSubChannel: int32(r.elTarget.Int64),
			MinimumMembershipPercentage:    int32(r.elMin.Int64),
		}
	}
	if r.crit.Valid {
		c.Expiration = &store.ChannelExpiration{Criterion: chime.ExpirationCriterion(r.crit.String), Days: int32(r.days.Int64), At: fromMS(r.expiresAt.Int64)}
	}
	c.LastMessageAt = fromNullMS(r.lastAt)
	c.CreatedAt, c.UpdatedAt = fromMS(r.created), fromMS(r.updated)
	return c
}

func scanChannel(s scanner) (store.Channel, error) {
	var r channelRow
	err := s.Scan(r.dest()...)
	return r.channel(), err
}

// channelExpirationArgs returns the three expiration columns of c.
func channelExpirationArgs(c store.Channel) (crit, days, at any) {
	if c.Expiration == nil {
		return nil, nil, nil
	}
	return c.Expiration.Criterion, c.Expiration.Days, ms(c.Expiration.At)
}

// GetChannel implements store.ChannelReader.
func (t ReadTx) GetChannel(ctx context.Context, appInstanceID, channelID string) (store.Channel, error) {
	return getOne(ctx, t, "channel "+channelID, scanChannel,
		`SELECT `+channelColumns+` FROM channels c WHERE c.app_instance_id = ? AND c.channel_id = ?`, appInstanceID, channelID)
}

// Queries of the channel lists, named for the query plan test.
const (
	listChannelsQuery = `SELECT ` + channelColumns + ` FROM channels c
		WHERE c.app_instance_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`
	listChannelsByPrivacyQuery = `SELECT ` + channelColumns + ` FROM channels c
		WHERE c.app_instance_id = ? AND c.privacy = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`
	listExpiredChannelsQuery = `SELECT ` + channelColumns + ` FROM channels c
		WHERE c.expires_at IS NOT NULL AND c.expires_at <= ? ORDER BY c.expires_at, c.seq LIMIT ?`
)

// ListChannels implements store.ChannelReader.
func (t ReadTx) ListChannels(ctx context.Context, appInstanceID, privacy string, p store.Page) ([]store.Channel, error) {
	if privacy == "" {
		return list(ctx, t, "channels", scanChannel, listChannelsQuery, appInstanceID, p.After, t.d.limit(p))
	}
	return list(ctx, t, "channels", scanChannel, listChannelsByPrivacyQuery, appInstanceID, privacy, p.After, t.d.limit(p))
}

// CountChannels implements store.ChannelReader.
func (t ReadTx) CountChannels(ctx context.Context, appInstanceID string) (int, error) {
	return t.count(ctx, "channels", `SELECT COUNT(*) FROM channels WHERE app_instance_id = ?`, appInstanceID)
}

// CountElasticChannels implements store.ChannelReader.
func (t ReadTx) CountElasticChannels(ctx context.Context, appInstanceID string) (int, error) {
	return t.count(ctx, "elastic channels",
		`SELECT COUNT(*) FROM channels WHERE app_instance_id = ? AND elastic_max_sub_channels IS NOT NULL`, appInstanceID)
}

// ListExpiredChannels implements store.ChannelReader.
func (t ReadTx) ListExpiredChannels(ctx context.Context, now time.Time, limit int) ([]store.Channel, error) {
	return list(ctx, t, "expired channels", scanChannel, listExpiredChannelsQuery, ms(now), t.d.limit(store.Page{Limit: limit}))
}

// SearchChannels implements store.ChannelReader.
func (t ReadTx) SearchChannels(ctx context.Context, appInstanceID string, clauses []store.MemberClause, memberOf *store.Actor, p store.Page) ([]store.Channel, error) {
	q, args, err := searchChannelsQuery(t.d, appInstanceID, clauses, memberOf, p)
	if err != nil {
		return nil, err
	}
	return list(ctx, t, "channels", scanChannel, q, args...)
}

// searchChannelsQuery builds SearchChannels' query. Every clause member
// must be a DEFAULT member, checked with an EXISTS on the membership's
// unique index, and an EQUALS clause also compares the count of DEFAULT
// members with its set's size.
//
// When some member is required, the query starts from that member's
// memberships rather than from all the app instance's channels: a member
// belongs to few of them, so sorting its channels by seq costs less than
// scanning every channel in seq order.
func searchChannelsQuery(d *Dialect, appInstanceID string, clauses []store.MemberClause, memberOf *store.Actor, p store.Page) (string, []any, error) {
	type required struct {
		a       store.Actor
		anyType bool // memberOf: a HIDDEN membership counts too
	}
	var (
		reqs   []required
		counts []int
		seen   = map[store.Actor]bool{}
	)
	for _, cl := range clauses {
		set := map[store.Actor]bool{}
		for _, m := range cl.Members {
			set[m] = true
			if !seen[m] {
				seen[m] = true
				reqs = append(reqs, required{a: m})
			}
		}
		if cl.Equals {
			counts = append(counts, len(set))
		}
	}
	if memberOf != nil {
		reqs = append(reqs, required{a: *memberOf, anyType: true})
	}

	var (
		b    strings.Builder
		args []any
	)
	if len(reqs) > 0 {
		col, err := memberColumn(reqs[0].a.Kind)
		if err != nil {
			return "", nil, err
		}
		// Led by the memberships of the first required member.
		b.WriteString(`SELECT ` + channelColumns + ` FROM channel_memberships d ` + d.MembershipJoin + ` channels c
			ON c.app_instance_id = d.app_instance_id AND c.channel_id = d.channel_id
			WHERE d.app_instance_id = ? AND d.` + col + ` = ?`)
		args = append(args, appInstanceID, reqs[0].a.ID)
		if !reqs[0].anyType {
			b.WriteString(` AND d.type = 'DEFAULT'`)
		}
		b.WriteString(` AND c.seq > ?`)
		args = append(args, p.After)
		reqs = reqs[1:]
	} else {
		b.WriteString(`SELECT ` + channelColumns + ` FROM channels c WHERE c.app_instance_id = ? AND c.seq > ?`)
		args = append(args, appInstanceID, p.After)
	}
	for _, r := range reqs {
		col, err := memberColumn(r.a.Kind)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(` AND EXISTS (SELECT 1 FROM channel_memberships m
			WHERE m.app_instance_id = c.app_instance_id AND m.channel_id = c.channel_id AND m.` + col + ` = ?`)
		if !r.anyType {
			b.WriteString(` AND m.type = 'DEFAULT'`)
		}
		b.WriteString(`)`)
		args = append(args, r.a.ID)
	}
	for _, n := range counts {
		b.WriteString(` AND (SELECT COUNT(*) FROM channel_memberships m
			WHERE m.app_instance_id = c.app_instance_id AND m.channel_id = c.channel_id AND m.type = 'DEFAULT') = ?`)
		args = append(args, n)
	}
	b.WriteString(` ORDER BY c.seq LIMIT ?`)
	args = append(args, d.limit(p))
	return b.String(), args, nil
}

// CreateChannel implements store.ChannelWriter. The channels' foreign key
// to their flow makes a FlowID naming no flow of the app instance
// ErrNotFound, here and in UpdateChannel.
func (t Tx) CreateChannel(ctx context.Context, c store.Channel) (store.Channel, error) {
	var elMax, elTarget, elMin any
	if e := c.Elastic; e != nil {
		elMax, elTarget, elMin = e.MaximumSubChannels, e.TargetMembershipsPerSubChannel, e.MinimumMembershipPercentage
	}
	crit, days, at := channelExpirationArgs(c)
	err := t.queryRow(ctx, `INSERT INTO channels
		(app_instance_id, channel_id, name, mode, privacy, metadata, created_by_kind, created_by_id, created_by_name, flow_id,
		 elastic_max_sub_channels, elastic_target_memberships, elastic_min_membership_pct,
		 expiration_criterion, expiration_days, expires_at, last_message_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		c.AppInstanceID, c.ChannelID, c.Name, c.Mode, c.Privacy, c.Metadata,
		string(c.CreatedByKind), c.CreatedByID, c.CreatedByName, nullString(c.FlowID),
		elMax, elTarget, elMin, crit, days, at, msOrNull(c.LastMessageAt), ms(c.CreatedAt), ms(c.UpdatedAt)).Scan(&c.Seq)
	if err != nil {
		return c, fmt.Errorf("%s: create channel %s: %w", t.d.Name, c.ChannelID, t.d.Translate(err))
	}
	return c, nil
}

// UpdateChannel implements store.ChannelWriter.
func (t Tx) UpdateChannel(ctx context.Context, c store.Channel) error {
	crit, days, at := channelExpirationArgs(c)
	return t.execOne(ctx, "update channel "+c.ChannelID, `UPDATE channels
		SET name = ?, mode = ?, metadata = ?, flow_id = ?, expiration_criterion = ?, expiration_days = ?, expires_at = ?,
			updated_at = ?, last_message_at = ?
		WHERE app_instance_id = ? AND channel_id = ?`,
		c.Name, c.Mode, c.Metadata, nullString(c.FlowID), crit, days, at, ms(c.UpdatedAt), msOrNull(c.LastMessageAt),
		c.AppInstanceID, c.ChannelID)
}

// DeleteChannel implements store.ChannelWriter. The schema's cascading
// foreign keys delete the memberships, grants, messages, flow jobs and
// idempotency records.
func (t Tx) DeleteChannel(ctx context.Context, appInstanceID, channelID string) error {
	if err := t.execOne(ctx, "delete channel "+channelID,
		`DELETE FROM channels WHERE app_instance_id = ? AND channel_id = ?`, appInstanceID, channelID); err != nil {
		return err
	}
	return t.deleteTagsOf(ctx, appInstanceID, "channel", channelID)
}
