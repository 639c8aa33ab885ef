package service

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/store"
)

// newID returns a fresh 64-lowercase-hex id, the form AWS gives channel and
// message ids (semantics.md §1.2).
func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// lastMessageNanos is the time prefix of the newest message id minted by
// this process, so that ids stay increasing when the wall clock steps back.
var lastMessageNanos atomic.Int64

// newMessageID returns a fresh message id: still 64 lowercase hex chars
// (semantics.md §1.2), but the first 8 bytes are the send's instant in
// Unix nanoseconds, big-endian, and the other 24 random. The ids a process
// mints increase, so the store's unique index on message ids takes them
// at its right edge instead of on a random page per send (one random leaf
// page written and checkpointed per send otherwise); 24 random bytes keep
// them unguessable and unique across nodes.
func newMessageID(now time.Time) string {
	t := now.UnixNano()
	for {
		last := lastMessageNanos.Load()
		if t <= last {
			t = last + 1
		}
		if lastMessageNanos.CompareAndSwap(last, t) {
			break
		}
	}
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t))
	if _, err := rand.Read(b[8:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// channelExpiration turns the model's settings into the store's, computing
// the instant of expiry from the channel's timestamps.
func channelExpiration(in *chime.ExpirationSettings, ch store.Channel) *store.ChannelExpiration {
	if in == nil || in.ExpirationDays == nil {
		return nil
	}
	e := &store.ChannelExpiration{Criterion: in.ExpirationCriterion, Days: *in.ExpirationDays}
	e.At = expiresAt(e, ch)
	return e
}

// expiresAt is when a channel with expiration e expires: Days after its
// creation, or after its last message (its creation while it has none).
func expiresAt(e *store.ChannelExpiration, ch store.Channel) time.Time {
	from := ch.CreatedAt
	if e.Criterion == chime.ExpirationCriterionLastMessageTimestamp && ch.LastMessageAt.After(from) {
		from = ch.LastMessageAt
	}
	return from.Add(time.Duration(e.Days) * 24 * time.Hour)
}

// distinctMembers resolves the ARNs of the list field (MemberArns,
// ModeratorArns) in order, each once, after first; the creator is never
// repeated, whether or not it is in first.
func (s *Service) distinctMembers(ctx context.Context, tx store.ReadTx, field string, arns []string, appInstanceID string, creator actor, first []actor) ([]actor, error) {
	out := first
	seen := map[store.Actor]bool{creator.Actor: true}
	for i, m := range arns {
		a, err := s.resolveMember(ctx, tx, fieldIndex(field, i), m, appInstanceID)
		if err != nil {
			return nil, err
		}
		if !seen[a.Actor] {
			seen[a.Actor] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// CreateChannel creates a channel; the bearer becomes its first member and
// moderator, MemberArns members and ModeratorArns moderators. It is
// idempotent by ClientRequestToken (per bearer and app instance); a
// ChannelId already in use is a ConflictException.
func (s *Service) CreateChannel(ctx context.Context, in *chime.CreateChannelRequest) (*chime.CreateChannelResponse, error) {
	if err := s.permit(ctx, chime.OpCreateChannel, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	el, err := checkElasticCreate(in)
	if err != nil {
		return nil, err
	}
	token := deref(in.ClientRequestToken)
	fp := fingerprint(struct {
		AI, Name, Metadata, ChannelID *string
		Mode                          chime.ChannelMode
		Privacy                       chime.ChannelPrivacy
		Members, Moderators           []string
		Expiration                    *chime.ExpirationSettings
		Tags                          []chime.Tag
		Elastic                       *chime.ElasticChannelConfiguration
	}{in.AppInstanceArn, in.Name, in.Metadata, in.ChannelId, in.Mode, in.Privacy, in.MemberArns, in.ModeratorArns, in.ExpirationSettings, in.Tags, in.ElasticChannelConfiguration})
	sc := scope("CreateChannel", ai.String(), deref(in.ChimeBearer))
	var arn string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		b, err := s.resolveBearer(ctx, tx, deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		if b.ARN.AppInstanceID != ai.AppInstanceID {
			return chime.Errorf(chime.Forbidden, "The bearer %s cannot create channels in AppInstance %s, which it does not belong to.", b, ai)
		}
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		prev, ok, err := s.replay(ctx, tx, sc, token, fp, "CreateChannel")
		if err != nil || ok {
			arn = prev
			return err
		}
		id := deref(in.ChannelId)
		if id == "" {
			id = newID()
		}
		arn = s.channelArn(ai.AppInstanceID, id)
		if _, err := tx.GetChannel(ctx, ai.AppInstanceID, id); err == nil {
			return conflict("Channel %s already exists.", arn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := tx.CountChannels(ctx, ai.AppInstanceID)
		if err != nil {
			return err
		}
		if n >= MaxChannels {
			return limitExceeded("AppInstance %s already has the maximum of %d channels.", ai, MaxChannels)
		}
		if el != nil {
			n, err := tx.CountElasticChannels(ctx, ai.AppInstanceID)
			if err != nil {
				return err
			}
			if max := s.maxElasticChannels(); n >= max {
				return limitExceeded("AppInstance %s already has the maximum of %d elastic channels.", ai, max)
			}
		}
		now := s.now()
		ch := store.Channel{
			AppInstanceID: ai.AppInstanceID, ChannelID: id, Name: deref(in.Name), Metadata: deref(in.Metadata),
			Mode: in.Mode, Privacy: in.Privacy,
			CreatedByKind: b.Actor.Kind, CreatedByID: b.Actor.ID, CreatedByName: b.Name,
			CreatedAt: now, UpdatedAt: now, Elastic: el,
		}
		if ch.Mode == "" {
			ch.Mode = chime.ChannelModeUnrestricted
			if el != nil {
				ch.Mode = chime.ChannelModeRestricted
			}
		}
		if ch.Privacy == "" {
			ch.Privacy = chime.ChannelPrivacyPublic
		}
		ch.Expiration = channelExpiration(in.ExpirationSettings, ch)
		if ch, err = tx.CreateChannel(ctx, ch); err != nil {
			return storeErr(err, "Channel "+arn)
		}
		// The creator first, then MemberArns in order, each once. The
		// creator of an elastic channel is only its moderator: members
		// are placed in sub-channels as they join.
		var first []actor
		if el == nil {
			first = []actor{b}
		}
		members, err := s.distinctMembers(ctx, tx, "MemberArns", in.MemberArns, ai.AppInstanceID, b, first)
		if err != nil {
			return err
		}
		var evs []events.Event
		for _, m := range members {
			if err := checkMembershipQuota(ctx, tx, ai.AppInstanceID, m); err != nil {
				return err
			}
			mem, err := tx.CreateChannelMembership(ctx, store.ChannelMembership{
				AppInstanceID: ai.AppInstanceID, ChannelID: id, Member: m.Actor, Type: chime.ChannelMembershipTypeDefault,
				InvitedBy: b.Actor, InvitedByName: b.Name, CreatedAt: now, UpdatedAt: now,
			})
			if err != nil {
				return storeErr(err, "ChannelMembership of "+m.String())
			}
			evs = append(evs, s.membershipEvent(evCreateMembership, mem))
		}
		moderators, err := s.distinctMembers(ctx, tx, "ModeratorArns", in.ModeratorArns, ai.AppInstanceID, b, []actor{b})
		if err != nil {
			return err
		}
		for _, m := range moderators {
			if _, err := tx.CreateChannelGrant(ctx, store.Moderator, store.ChannelGrant{
				AppInstanceID: ai.AppInstanceID, ChannelID: id, Member: m.Actor, CreatedBy: b.Actor, CreatedByName: b.Name, CreatedAt: now,
			}); err != nil {
				return storeErr(err, "ChannelModerator "+m.String())
			}
		}
		if err := tx.PutTags(ctx, ai.AppInstanceID, arn, storeTags(in.Tags)); err != nil {
			return err
		}
		s.streamOnly(tx, s.channelEvent(evCreateChannel, ch))
		s.emit(tx, evs...)
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: arn,
			AppInstanceID: ai.AppInstanceID, ChannelID: id})
	})
	if err != nil {
		return nil, storeErr(err, "Channel "+arn)
	}
	return &chime.CreateChannelResponse{ChannelArn: &arn}, nil
}

// checkElasticCreate checks the elastic part of a CreateChannel and
// returns the configuration to store; nil for a standard channel. All
// three values are required (the generated validation), within AWS's
// ranges and quotas; the channel must be RESTRICTED and may not name
// members, who are placed in sub-channels as they join.
func checkElasticCreate(in *chime.CreateChannelRequest) (*store.ElasticConfig, error) {
	e := in.ElasticChannelConfiguration
	if e == nil {
		return nil, nil
	}
	if e.MaximumSubChannels == nil || e.TargetMembershipsPerSubChannel == nil || e.MinimumMembershipPercentage == nil {
		return nil, badRequest("ElasticChannelConfiguration requires MaximumSubChannels, TargetMembershipsPerSubChannel and MinimumMembershipPercentage.")
	}
	cfg := store.ElasticConfig{MaximumSubChannels: *e.MaximumSubChannels, TargetMembershipsPerSubChannel: *e.TargetMembershipsPerSubChannel,
		MinimumMembershipPercentage: *e.MinimumMembershipPercentage}
	if err := elasticOf(store.Channel{Elastic: &cfg}).Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	if in.Mode == chime.ChannelModeUnrestricted {
		return nil, badRequest("Mode UNRESTRICTED is not allowed for elastic channels; they are RESTRICTED.")
	}
	if len(in.MemberArns) > 0 {
		return nil, badRequest("MemberArns is not allowed when creating an elastic channel; add members with CreateChannelMembership or BatchCreateChannelMembership.")
	}
	return &cfg, nil
}

// maxElasticChannels is the elastic-channel quota per app instance.
func (s *Service) maxElasticChannels() int {
	if s.cfg.MaxElasticChannels > 0 {
		return s.cfg.MaxElasticChannels
	}
	return MaxElasticChannels
}

// fieldIndex names an element of a list member, e.g. MemberArns[2].
func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// DescribeChannel returns a channel.
func (s *Service) DescribeChannel(ctx context.Context, in *chime.DescribeChannelRequest) (*chime.DescribeChannelResponse, error) {
	if err := s.permit(ctx, chime.OpDescribeChannel, in); err != nil {
		return nil, err
	}
	var out *chime.Channel
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enterAs(ctx, tx, chime.OpDescribeChannel, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		out = s.channelOut(c.ch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.DescribeChannelResponse{Channel: out}, nil
}

// UpdateChannel sets a channel's name, mode and metadata; members are told
// with UPDATE_CHANNEL. Omitted members keep their values (Privacy cannot be
// changed at all).
func (s *Service) UpdateChannel(ctx context.Context, in *chime.UpdateChannelRequest) (*chime.UpdateChannelResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateChannel, in); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpUpdateChannel, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		ch := c.ch
		if in.Name != nil {
			ch.Name = *in.Name
		}
		if in.Mode != "" {
			ch.Mode = in.Mode
		}
		if in.Metadata != nil {
			ch.Metadata = *in.Metadata
		}
		ch.UpdatedAt = s.now()
		if err := tx.UpdateChannel(ctx, ch); err != nil {
			return err
		}
		e, err := s.channelEventIn(ctx, tx, evUpdateChannel, ch)
		if err != nil {
			return err
		}
		s.emit(tx, e)
		return nil
	})
	if err != nil {
		return nil, storeErr(err, "Channel "+deref(in.ChannelArn))
	}
	return &chime.UpdateChannelResponse{ChannelArn: in.ChannelArn}, nil
}

// DeleteChannel deletes a channel and everything in it; members are told
// with DELETE_CHANNEL.
func (s *Service) DeleteChannel(ctx context.Context, in *chime.DeleteChannelRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannel, in); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpDeleteChannel, in.ChannelArn, in.ChimeBearer, nil)
		if err != nil {
			return err
		}
		return s.deleteChannel(ctx, tx, c.ch)
	})
	return storeErr(err, "Channel "+deref(in.ChannelArn))
}

// deleteChannel deletes a channel, its tags, and tells its members. The
// API and the expiry sweeper both delete through here.
func (s *Service) deleteChannel(ctx context.Context, tx store.Tx, ch store.Channel) error {
	e, err := s.channelEventIn(ctx, tx, evDeleteChannel, ch) // the audience, before it goes
	if err != nil {
		return err
	}
	if err := tx.DeleteChannel(ctx, ch.AppInstanceID, ch.ChannelID); err != nil { // and its tags
		return err
	}
	s.emit(tx, e)
	return nil
}

// ListChannels lists an app instance's channels in creation order: PUBLIC
// ones by default; PRIVATE ones only for AppInstanceAdmins.
func (s *Service) ListChannels(ctx context.Context, in *chime.ListChannelsRequest) (*chime.ListChannelsResponse, error) {
	if err := s.permit(ctx, chime.OpListChannels, in); err != nil {
		return nil, err
	}
	ai, err := s.parseAppInstance("AppInstanceArn", deref(in.AppInstanceArn))
	if err != nil {
		return nil, err
	}
	privacy := string(in.Privacy)
	if privacy == "" {
		privacy = string(chime.ChannelPrivacyPublic)
	}
	sc := scope("ListChannels", ai.String(), privacy, deref(in.ChimeBearer))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var chs []store.Channel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		b, err := s.resolveBearer(ctx, tx, deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		if b.ARN.AppInstanceID != ai.AppInstanceID {
			return chime.Errorf(chime.Forbidden, "The bearer %s does not belong to AppInstance %s.", b, ai)
		}
		if err := requireAppInstance(ctx, tx, ai); err != nil {
			return err
		}
		if privacy == string(chime.ChannelPrivacyPrivate) {
			admin, err := isAdmin(ctx, tx, b)
			if err != nil {
				return err
			}
			if !admin {
				return chime.Errorf(chime.Forbidden, "Only an AppInstanceAdmin can list PRIVATE channels; %s is not one.", b)
			}
		}
		chs, err = tx.ListChannels(ctx, ai.AppInstanceID, privacy, p)
		return err
	})
	if err != nil {
		return nil, storeErr(err, "AppInstance "+ai.String())
	}
	chs, next := trim(s, sc, chs, n, func(c store.Channel) int64 { return c.Seq })
	out := &chime.ListChannelsResponse{Channels: make([]chime.ChannelSummary, 0, len(chs)), NextToken: next}
	for _, c := range chs {
		out.Channels = append(out.Channels, *s.channelSummary(c))
	}
	return out, nil
}

// SearchChannels finds channels by their members. With a bearer, it
// searches the channels the bearer belongs to, or every channel of its app
// instance for an AppInstanceAdmin; without one (a developer call) it
// needs the app instance, which it takes from the member ARNs.
func (s *Service) SearchChannels(ctx context.Context, in *chime.SearchChannelsRequest) (*chime.SearchChannelsResponse, error) {
	if err := s.permit(ctx, chime.OpSearchChannels, in); err != nil {
		return nil, err
	}
	bearerArn := deref(in.ChimeBearer)
	appInstanceID := ""
	if bearerArn != "" {
		if a, err := chime.ParseARN(bearerArn); err == nil {
			appInstanceID = a.AppInstanceID
		}
	}
	clauses := make([]store.MemberClause, 0, len(in.Fields))
	for i, f := range in.Fields {
		cl := store.MemberClause{Equals: f.Operator == chime.SearchFieldOperatorEquals}
		for j, v := range f.Values {
			field := fieldIndex(fieldIndex("Fields", i)+".Values", j)
			a, err := s.parse(field, v, "AppInstanceUser or AppInstanceBot", chime.ResourceAppInstanceUser, chime.ResourceAppInstanceBot)
			if err != nil {
				return nil, err
			}
			if appInstanceID == "" {
				appInstanceID = a.AppInstanceID
			}
			if a.AppInstanceID != appInstanceID {
				return nil, badRequest("%s %s belongs to another AppInstance than the search.", field, v)
			}
			cl.Members = append(cl.Members, store.Actor{Kind: kindOf(a), ID: a.ID})
		}
		clauses = append(clauses, cl)
	}
	sc := scope("SearchChannels", bearerArn, fingerprint(in.Fields))
	p, n, err := s.page(sc, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	var chs []store.Channel
	err = s.store.View(ctx, func(tx store.ReadTx) error {
		var memberOf *store.Actor
		if bearerArn != "" {
			b, err := s.resolveBearer(ctx, tx, bearerArn)
			if err != nil {
				return err
			}
			admin, err := isAdmin(ctx, tx, b)
			if err != nil {
				return err
			}
			if !admin {
				memberOf = &b.Actor
			}
		}
		var err error
		chs, err = tx.SearchChannels(ctx, appInstanceID, clauses, memberOf, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	chs, next := trim(s, sc, chs, n, func(c store.Channel) int64 { return c.Seq })
	out := &chime.SearchChannelsResponse{Channels: make([]chime.ChannelSummary, 0, len(chs)), NextToken: next}
	for _, c := range chs {
		out.Channels = append(out.Channels, *s.channelSummary(c))
	}
	return out, nil
}

// PutChannelExpirationSettings sets or (without ExpirationSettings)
// removes a channel's expiration. Without a bearer it is a developer call.
func (s *Service) PutChannelExpirationSettings(ctx context.Context, in *chime.PutChannelExpirationSettingsRequest) (*chime.PutChannelExpirationSettingsResponse, error) {
	if err := s.permit(ctx, chime.OpPutChannelExpirationSettings, in); err != nil {
		return nil, err
	}
	var ch store.Channel
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		ch, err = s.channelFor(ctx, tx, chime.OpPutChannelExpirationSettings, in.ChannelArn, in.ChimeBearer)
		if err != nil {
			return err
		}
		ch.Expiration = channelExpiration(in.ExpirationSettings, ch)
		ch.UpdatedAt = s.now()
		s.streamOnly(tx, s.channelEvent(evUpdateExpiration, ch))
		return tx.UpdateChannel(ctx, ch)
	})
	if err != nil {
		return nil, storeErr(err, "Channel "+deref(in.ChannelArn))
	}
	out := &chime.PutChannelExpirationSettingsResponse{ChannelArn: in.ChannelArn}
	if e := ch.Expiration; e != nil {
		out.ExpirationSettings = &chime.ExpirationSettings{ExpirationCriterion: chime.ExpirationCriterion(e.Criterion), ExpirationDays: ptr(e.Days)}
	}
	return out, nil
}

// channelFor is enter + require for the operations whose bearer is
// optional: without one, the call is the developer's and may do anything.
func (s *Service) channelFor(ctx context.Context, tx store.ReadTx, op *chime.Operation, channelArn, bearerArn *string) (store.Channel, error) {
	if deref(bearerArn) != "" {
		c, err := s.enter(ctx, tx, deref(channelArn), deref(bearerArn))
		if err != nil {
			return c.ch, err
		}
		return c.ch, c.require(op, false)
	}
	a, err := s.parse("ChannelArn", deref(channelArn), "Channel", chime.ResourceChannel)
	if err != nil {
		return store.Channel{}, err
	}
	ch, err := tx.GetChannel(ctx, a.AppInstanceID, a.ID)
	return ch, storeErr(err, "Channel "+a.String())
}
