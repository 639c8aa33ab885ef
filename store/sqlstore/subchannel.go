package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/store"
)

const subChannelColumns = `seq, app_instance_id, channel_id, sub_channel_id, membership_count, created_at`

func scanSubChannel(s scanner) (store.SubChannel, error) {
	var (
		sc      store.SubChannel
		created int64
	)
	err := s.Scan(&sc.Seq, &sc.AppInstanceID, &sc.ChannelID, &sc.SubChannelID, &sc.MembershipCount, &created)
	sc.CreatedAt = fromMS(created)
	return sc, err
}

// Queries of the sub-channel lists, named for the query plan test.
const (
	listSubChannelsQuery = `SELECT ` + subChannelColumns + ` FROM sub_channels
		WHERE app_instance_id = ? AND channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	listSubChannelMembershipsQuery = `SELECT ` + membershipColumns + membershipFrom + `
		WHERE m.app_instance_id = ? AND m.channel_id = ? AND m.sub_channel_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`
)

// GetSubChannel implements store.SubChannelReader.
func (t ReadTx) GetSubChannel(ctx context.Context, appInstanceID, channelID, subChannelID string) (store.SubChannel, error) {
	return getOne(ctx, t, "sub-channel "+subChannelID, scanSubChannel,
		`SELECT `+subChannelColumns+` FROM sub_channels WHERE app_instance_id = ? AND channel_id = ? AND sub_channel_id = ?`,
		appInstanceID, channelID, subChannelID)
}

// ListSubChannels implements store.SubChannelReader.
func (t ReadTx) ListSubChannels(ctx context.Context, appInstanceID, channelID string, p store.Page) ([]store.SubChannel, error) {
	return list(ctx, t, "sub-channels", scanSubChannel, listSubChannelsQuery, appInstanceID, channelID, p.After, t.d.limit(p))
}

// GetSubChannelMembership implements store.SubChannelReader.
func (t ReadTx) GetSubChannelMembership(ctx context.Context, appInstanceID, channelID, subChannelID string, m store.Actor) (store.ChannelMembership, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return store.ChannelMembership{}, err
	}
	return getOne(ctx, t, "membership of "+m.ID+" in sub-channel "+subChannelID, scanMembership,
		`SELECT `+membershipColumns+membershipFrom+`
		WHERE m.app_instance_id = ? AND m.`+col+` = ? AND m.channel_id = ? AND `+t.d.IfNull+`(m.sub_channel_id, '') = ?`,
		appInstanceID, m.ID, channelID, subChannelID)
}

// ListSubChannelMemberships implements store.SubChannelReader.
func (t ReadTx) ListSubChannelMemberships(ctx context.Context, appInstanceID, channelID, subChannelID string, p store.Page) ([]store.ChannelMembership, error) {
	return list(ctx, t, "memberships of sub-channel "+subChannelID, scanMembership, listSubChannelMembershipsQuery,
		appInstanceID, channelID, subChannelID, p.After, t.d.limit(p))
}

// ListMemberSubChannelMemberships implements store.SubChannelReader.
func (t ReadTx) ListMemberSubChannelMemberships(ctx context.Context, appInstanceID, channelID string, m store.Actor) ([]store.ChannelMembership, error) {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return nil, err
	}
	return list(ctx, t, "memberships of "+m.ID, scanMembership,
		`SELECT `+membershipColumns+membershipFrom+`
		WHERE m.app_instance_id = ? AND m.`+col+` = ? AND m.channel_id = ? ORDER BY m.seq`,
		appInstanceID, m.ID, channelID)
}

// CreateSubChannel implements store.SubChannelWriter.
func (t Tx) CreateSubChannel(ctx context.Context, sc store.SubChannel) (store.SubChannel, error) {
	sc.MembershipCount = 0
	err := t.queryRow(ctx, `INSERT INTO sub_channels (app_instance_id, channel_id, sub_channel_id, created_at)
		VALUES (?, ?, ?, ?) RETURNING seq`,
		sc.AppInstanceID, sc.ChannelID, sc.SubChannelID, ms(sc.CreatedAt)).Scan(&sc.Seq)
	if err != nil {
		return sc, fmt.Errorf("%s: create sub-channel %s: %w", t.d.Name, sc.SubChannelID, t.d.Translate(err))
	}
	return sc, nil
}

// DeleteSubChannel implements store.SubChannelWriter. Messages and
// memberships reference the sub-channel by id only (the column predates
// the table), so they are deleted here, before the sub-channel itself.
func (t Tx) DeleteSubChannel(ctx context.Context, appInstanceID, channelID, subChannelID string) error {
	if _, err := t.exec(ctx, `DELETE FROM channel_messages WHERE app_instance_id = ? AND channel_id = ? AND sub_channel_id = ?`,
		appInstanceID, channelID, subChannelID); err != nil {
		return fmt.Errorf("%s: delete messages of sub-channel %s: %w", t.d.Name, subChannelID, t.d.Translate(err))
	}
	if _, err := t.exec(ctx, `DELETE FROM channel_memberships WHERE app_instance_id = ? AND channel_id = ? AND sub_channel_id = ?`,
		appInstanceID, channelID, subChannelID); err != nil {
		return fmt.Errorf("%s: delete memberships of sub-channel %s: %w", t.d.Name, subChannelID, t.d.Translate(err))
	}
	return t.execOne(ctx, "delete sub-channel "+subChannelID,
		`DELETE FROM sub_channels WHERE app_instance_id = ? AND channel_id = ? AND sub_channel_id = ?`, appInstanceID, channelID, subChannelID)
}

// MoveSubChannelMembership implements store.SubChannelWriter.
func (t Tx) MoveSubChannelMembership(ctx context.Context, appInstanceID, channelID, from, to string, m store.Actor, at time.Time) error {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "move membership of "+m.ID+" to sub-channel "+to,
		`UPDATE channel_memberships SET sub_channel_id = ?, updated_at = ?
		WHERE app_instance_id = ? AND `+col+` = ? AND channel_id = ? AND `+t.d.IfNull+`(sub_channel_id, '') = ?`,
		to, ms(at), appInstanceID, m.ID, channelID, from)
}

// DeleteSubChannelMembership implements store.SubChannelWriter.
func (t Tx) DeleteSubChannelMembership(ctx context.Context, appInstanceID, channelID, subChannelID string, m store.Actor) error {
	col, err := memberColumn(m.Kind)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "delete membership of "+m.ID+" in sub-channel "+subChannelID,
		`DELETE FROM channel_memberships WHERE app_instance_id = ? AND `+col+` = ? AND channel_id = ? AND `+t.d.IfNull+`(sub_channel_id, '') = ?`,
		appInstanceID, m.ID, channelID, subChannelID)
}
