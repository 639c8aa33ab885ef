package service

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/pagetoken"
	"github.com/belfryhq/belfry/store"
)

// Message limits AWS documents in bytes (semantics.md §3.2); the model can
// only say characters, so the service checks them.
const (
	MaxStandardContentBytes = 4096
	MaxControlContentBytes  = 30
	MaxMetadataBytes        = 1024
	MaxAttributesBytes      = 1024
)

// checkContent enforces the per-type limits of a message's content and
// metadata.
func checkContent(typ chime.ChannelMessageType, content string, metadata *string) error {
	if typ == chime.ChannelMessageTypeControl {
		if len(content) > MaxControlContentBytes {
			return badRequest("Content of a CONTROL message is %d bytes; at most %d are allowed.", len(content), MaxControlContentBytes)
		}
		if deref(metadata) != "" {
			return badRequest("Metadata is not allowed on CONTROL messages.")
		}
		return nil
	}
	if len(content) > MaxStandardContentBytes {
		return badRequest("Content is %d bytes; at most %d are allowed for a STANDARD message.", len(content), MaxStandardContentBytes)
	}
	if n := len(deref(metadata)); n > MaxMetadataBytes {
		return badRequest("Metadata is %d bytes; at most %d are allowed.", n, MaxMetadataBytes)
	}
	return nil
}

// encodeAttributes checks the documented 1 KB total of MessageAttributes
// (keys plus values) and encodes them for the store.
func encodeAttributes(attrs map[string]chime.MessageAttributeValue) (string, error) {
	if len(attrs) == 0 {
		return "", nil
	}
	n := 0
	for k, v := range attrs {
		n += len(k)
		for _, s := range v.StringValues {
			n += len(s)
		}
	}
	if n > MaxAttributesBytes {
		return "", badRequest("MessageAttributes total %d bytes (keys and values); at most %d are allowed.", n, MaxAttributesBytes)
	}
	b, err := json.Marshal(attrs)
	return string(b), err
}

// SendChannelMessage sends a message to a channel's members. PERSISTENT
// messages are stored; NON_PERSISTENT ones only reach the members
// connected now. A retry with the same ClientRequestToken returns the
// first call's MessageId and sends nothing again.
//
// The common case, a persistent message to every member by a bearer this
// node has seen send there before, costs three statements: the channel
// touch, which also checks the cached authorization (sendcache.go), the
// message insert, which also claims the ClientRequestToken, and the
// outbox append.
func (s *Service) SendChannelMessage(ctx context.Context, in *chime.SendChannelMessageRequest) (*chime.SendChannelMessageResponse, error) {
	if err := s.permit(ctx, chime.OpSendChannelMessage, in); err != nil {
		return nil, err
	}
	typ := in.Type
	if err := checkContent(typ, deref(in.Content), in.Metadata); err != nil {
		return nil, err
	}
	attrs, err := encodeAttributes(in.MessageAttributes)
	if err != nil {
		return nil, err
	}
	var push string
	if in.PushNotification != nil {
		b, err := json.Marshal(in.PushNotification)
		if err != nil {
			return nil, err
		}
		push = string(b)
	}
	persistence := string(in.Persistence)
	persistent := in.Persistence == chime.ChannelMessagePersistenceTypePersistent
	token := deref(in.ClientRequestToken)
	var fp string
	if token != "" {
		fp = sendFingerprint(in)
	}
	sc := scope("SendChannelMessage", deref(in.ChannelArn), deref(in.ChimeBearer))
	// Only persistent messages to every member of a standard channel take
	// the cached path: they are the ones that touch the channel.
	key := sendKey{deref(in.ChannelArn), deref(in.ChimeBearer)}
	cacheable := persistent && len(in.Target) == 0 && in.SubChannelId == nil
	var cached sendGrant
	hit := false
	if cacheable {
		cached, hit = s.sends.grant(key)
	}
	var id string
	var status chime.ChannelMessageStatus
	// Persistent sends to every member of a channel all write its row: an
	// engine with concurrent writers queues them rather than letting them
	// collide.
	uctx := ctx
	if persistent && len(in.Target) == 0 {
		uctx = store.SerializeOn(ctx, key.channelArn)
	}
	err = s.store.Update(uctx, func(tx store.Tx) error {
		// The results are set here, at the top, so that a transaction
		// the store runs again never returns a previous run's values.
		id, status = "", chime.ChannelMessageStatusSent
		now := s.now()
		var c inChannel
		var gen store.Generation
		touched := false
		if hit && !flowed(cached.ch, typ) {
			c = inChannel{arn: cached.arn, ch: cached.ch, bearer: cached.bearer}
			ok, err := s.touchChannelAt(ctx, tx, c.ch, now, cached.gen)
			switch {
			case err != nil:
				return err
			case ok:
				gen, touched = cached.gen, true
			default:
				// Something changed (the touch changed nothing): check
				// everything again below, in this transaction, which
				// touches the fresh channel or refuses.
				s.sends.dropGrant(key)
			}
		}
		if !touched {
			var err error
			if c, err = s.enterAs(ctx, tx, chime.OpSendChannelMessage, in.ChannelArn, in.ChimeBearer, in.SubChannelId); err != nil {
				return err
			}
		}
		var target *store.Actor
		if len(in.Target) > 0 {
			t, err := s.memberRef("Target[0].MemberArn", deref(in.Target[0].MemberArn), c.ch.AppInstanceID)
			if err != nil {
				return err
			}
			target = &t
		}
		id = newMessageID(now)
		m := store.ChannelMessage{
			AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID, MessageID: id,
			Content: deref(in.Content), Metadata: deref(in.Metadata), ContentType: deref(in.ContentType), Type: typ,
			Sender: c.bearer.Actor, SenderName: c.bearer.Name, Status: chime.ChannelMessageStatusSent,
			Attributes: attrs, PushNotification: push, Target: target, SubChannelID: c.sub, CreatedAt: now, UpdatedAt: now,
			ClientToken: token, RequestFingerprint: fp,
		}
		isFlowed := flowed(c.ch, m.Type)
		if isFlowed {
			status, m.Status = chime.ChannelMessageStatusPending, chime.ChannelMessageStatusPending
		}
		if persistent {
			prev, prevStatus, replayed, err := s.storeOnce(ctx, tx, c, &m, sc)
			if err != nil {
				return err
			}
			if replayed {
				id, status = prev, prevStatus
				if touched {
					return errReplayed // undo the touch
				}
				return nil
			}
		} else if token != "" {
			prev, ok, err := s.replayNonPersistent(ctx, tx, c, sc, token, fp)
			if err != nil || ok {
				if ok {
					id, status = prev, chime.ChannelMessageStatusSent
				}
				return err
			}
		}
		if target != nil {
			var err error
			if c.sub != "" {
				_, err = tx.GetSubChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, c.sub, *target)
			} else {
				_, err = tx.GetChannelMembership(ctx, c.ch.AppInstanceID, c.ch.ChannelID, *target)
			}
			if errors.Is(err, store.ErrNotFound) {
				return badRequest("Target[0].MemberArn %s is not a member of channel %s%s.", deref(in.Target[0].MemberArn), c.arn, subChannelNoun(c.sub))
			} else if err != nil {
				return err
			}
		}
		if isFlowed {
			if err := s.startFlowJob(ctx, tx, c.ch, m, persistence, false); err != nil {
				return err
			}
		} else {
			h := &outboxHint{msg: &m}
			if persistent && target == nil {
				if !touched {
					var err error
					if gen, err = s.touchChannel(ctx, tx, c.ch, now); err != nil {
						return err
					}
					if cacheable && c.sub == "" {
						g := sendGrant{gen: gen, arn: c.arn, ch: c.ch, bearer: c.bearer}
						tx.AfterCommit(func() { s.sends.putGrant(key, g) })
					}
				}
				cs, err := s.streamConfigs(ctx, tx, c.ch.AppInstanceID, gen.AppInstance)
				if err != nil {
					return err
				}
				h.appInstanceID, h.configs = c.ch.AppInstanceID, cs
			}
			s.emitHinted(tx, h, s.messageEvent(evCreateMessage, m, persistence))
		}
		if persistent && !isFlowed {
			return nil // the message holds the token
		}
		// A flowed message may be denied and deleted: the record keeps
		// its token.
		return s.remember(ctx, tx, store.IdempotencyRecord{Scope: sc, Token: token, Fingerprint: fp, Result: id,
			AppInstanceID: c.ch.AppInstanceID, ChannelID: c.ch.ChannelID})
	})
	if errors.Is(err, errReplayed) {
		err = nil
	}
	if err != nil {
		return nil, storeErr(err, "Channel "+deref(in.ChannelArn))
	}
	return &chime.SendChannelMessageResponse{ChannelArn: in.ChannelArn, MessageId: &id, Status: &chime.ChannelMessageStatusStructure{Value: status}, SubChannelId: in.SubChannelId}, nil
}

// errReplayed rolls back a send that turned out to be a retry after it
// had touched the channel; SendChannelMessage answers the retry.
var errReplayed = errors.New("service: send replayed")

// storeOnce stores the persistent message m, claiming its ClientToken.
// If an earlier send of the same bearer holds the token (its message, or
// for a NON_PERSISTENT or flowed send an idempotency record) within
// IdempotencyWindow, it stores nothing and returns the earlier send's id
// and status and true, or ConflictException if its parameters differed.
func (s *Service) storeOnce(ctx context.Context, tx store.Tx, c inChannel, m *store.ChannelMessage, sc string) (string, chime.ChannelMessageStatus, bool, error) {
	if m.ClientToken == "" {
		stored, err := tx.CreateChannelMessage(ctx, *m)
		*m = stored
		return "", "", false, err
	}
	// Twice at most: a token whose window has passed is cleared, then
	// claimed.
	for range 2 {
		stored, ok, err := tx.CreateChannelMessageOnce(ctx, *m, sc, s.now().Add(-IdempotencyWindow))
		if err != nil || ok {
			*m = stored
			return "", "", false, err
		}
		prev, err := tx.GetChannelMessageByToken(ctx, m.AppInstanceID, m.ChannelID, m.Sender, m.ClientToken)
		switch {
		case err == nil:
			if s.now().Sub(prev.CreatedAt) > IdempotencyWindow {
				if err := tx.ClearChannelMessageToken(ctx, prev.AppInstanceID, prev.ChannelID, prev.MessageID); err != nil {
					return "", "", false, err
				}
				continue
			}
			if prev.RequestFingerprint != m.RequestFingerprint {
				return "", "", false, conflict("ClientRequestToken %s was already used for a %s call with different parameters.", m.ClientToken, "SendChannelMessage")
			}
			st, err := s.replayStatus(ctx, tx, c, prev.MessageID)
			return prev.MessageID, st, true, err
		case !errors.Is(err, store.ErrNotFound):
			return "", "", false, err
		}
		id, ok, err := s.replay(ctx, tx, sc, m.ClientToken, m.RequestFingerprint, "SendChannelMessage")
		if err != nil || ok {
			var st chime.ChannelMessageStatus
			if ok {
				st, err = s.replayStatus(ctx, tx, c, id)
			}
			return id, st, ok, err
		}
	}
	return "", "", false, fmt.Errorf("service: ClientRequestToken %s of message %s: still taken after clearing it", m.ClientToken, m.MessageID)
}

// replayNonPersistent is replay for a NON_PERSISTENT send, whose token may
// also be held by a persistent message of the same bearer.
func (s *Service) replayNonPersistent(ctx context.Context, tx store.Tx, c inChannel, sc, token, fp string) (string, bool, error) {
	prev, ok, err := s.replay(ctx, tx, sc, token, fp, "SendChannelMessage")
	if err != nil || ok {
		return prev, ok, err
	}
	m, err := tx.GetChannelMessageByToken(ctx, c.ch.AppInstanceID, c.ch.ChannelID, c.bearer.Actor, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.now().Sub(m.CreatedAt) > IdempotencyWindow) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	// The message is persistent and this send is not: different parameters.
	return "", false, conflict("ClientRequestToken %s was already used for a %s call with different parameters.", token, "SendChannelMessage")
}

// streamConfigs returns the app instance's streaming configurations as
// of generation gen, which the caller's transaction read: from memory if
// this node knows them at gen, else from the store (remembered once the
// transaction commits).
func (s *Service) streamConfigs(ctx context.Context, tx store.Tx, appInstanceID string, gen int64) ([]store.StreamingConfiguration, error) {
	if cs, ok := s.sends.streamConfigs(appInstanceID, gen); ok {
		return cs, nil
	}
	cs, err := tx.ListStreamingConfigurations(ctx, appInstanceID)
	if err != nil {
		return nil, err
	}
	tx.AfterCommit(func() { s.sends.putStreamConfigs(appInstanceID, gen, cs) })
	return cs, nil
}

// replayStatus is the status a retried send reports: the message's own
// if stored, PENDING while a processor has it, SENT otherwise (a
// non-persistent message that was delivered).
func (s *Service) replayStatus(ctx context.Context, tx store.ReadTx, c inChannel, id string) (chime.ChannelMessageStatus, error) {
	if _, err := tx.GetOpenFlowJobForMessage(ctx, c.ch.AppInstanceID, c.ch.ChannelID, id); err == nil {
		return chime.ChannelMessageStatusPending, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	m, err := tx.GetChannelMessage(ctx, c.ch.AppInstanceID, c.ch.ChannelID, id)
	if errors.Is(err, store.ErrNotFound) {
		return chime.ChannelMessageStatusSent, nil
	}
	return chime.ChannelMessageStatus(m.Status), err
}

// touchChannel moves the channel's LastMessageAt (and a
// LAST_MESSAGE_TIMESTAMP expiry) to a new persistent message sent at, and
// returns the channel's generation. Targeted messages do not move it: it
// is "the last message visible to the caller", and one timestamp serves
// every member.
func (s *Service) touchChannel(ctx context.Context, tx store.Tx, ch store.Channel, at time.Time) (store.Generation, error) {
	return tx.TouchChannel(ctx, ch.AppInstanceID, ch.ChannelID, at, touchExpiry(ch, at))
}

// touchChannelAt is touchChannel for a cached authorization: it touches
// the channel only if its generation is still gen, and reports whether it
// did.
func (s *Service) touchChannelAt(ctx context.Context, tx store.Tx, ch store.Channel, at time.Time, gen store.Generation) (bool, error) {
	return tx.TouchChannelAt(ctx, ch.AppInstanceID, ch.ChannelID, at, touchExpiry(ch, at), gen)
}

// touchExpiry is the channel's expiry instant once a message is sent at
// at, or nil if it has none.
func touchExpiry(ch store.Channel, at time.Time) *time.Time {
	if ch.Expiration == nil {
		return nil
	}
	ch.LastMessageAt = at
	t := expiresAt(ch.Expiration, ch)
	return &t
}

// visibleTo reports whether the bearer of c can see m: others' messages
// once SENT and not targeted at someone else; its own always.
func visibleTo(c inChannel, m store.ChannelMessage) bool {
	if m.Sender == c.bearer.Actor {
		return true
	}
	if m.Status != chime.ChannelMessageStatusSent {
		return false
	}
	return m.Target == nil || *m.Target == c.bearer.Actor
}

// retentionCutoff is the creation time before which messages are hidden
// by the app instance's retention settings (zero: nothing is hidden).
// Hidden messages are deleted by the sweeper once the grace period ends;
// until then, lengthening or removing retention shows them again.
func (s *Service) retentionCutoff(ctx context.Context, tx store.ReadTx, appInstanceID string) (time.Time, error) {
	r, err := tx.GetRetentionSettings(ctx, appInstanceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.ChannelRetentionDays == nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return s.now().Add(-time.Duration(*r.ChannelRetentionDays) * 24 * time.Hour), nil
}

// message loads the message a call addresses, as the bearer of c may see
// it: one it cannot see (targeted at someone else, another's PENDING
// message, hidden by retention) does not exist for it.
func (s *Service) message(ctx context.Context, tx store.ReadTx, c inChannel, messageID string) (store.ChannelMessage, error) {
	m, err := tx.GetChannelMessage(ctx, c.ch.AppInstanceID, c.ch.ChannelID, messageID)
	if err == nil && (!visibleTo(c, m) || c.sub != "" && m.SubChannelID != c.sub) {
		// A message of another sub-channel does not exist in this one.
		err = store.ErrNotFound
	}
	if err == nil {
		cutoff, cerr := s.retentionCutoff(ctx, tx, c.ch.AppInstanceID)
		if cerr != nil {
			return m, cerr
		}
		if m.CreatedAt.Before(cutoff) {
			err = store.ErrNotFound
		}
	}
	return m, storeErr(err, "ChannelMessage "+messageID+" of channel "+c.channelArn())
}

// GetChannelMessage returns one message.
func (s *Service) GetChannelMessage(ctx context.Context, in *chime.GetChannelMessageRequest) (*chime.GetChannelMessageResponse, error) {
	if err := s.permit(ctx, chime.OpGetChannelMessage, in); err != nil {
		return nil, err
	}
	var out *chime.ChannelMessage
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enterAs(ctx, tx, chime.OpGetChannelMessage, in.ChannelArn, in.ChimeBearer, in.SubChannelId)
		if err != nil {
			return err
		}
		m, err := s.message(ctx, tx, c, deref(in.MessageId))
		if err != nil {
			return err
		}
		out = s.messageOut(m, string(chime.ChannelMessagePersistenceTypePersistent))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.GetChannelMessageResponse{ChannelMessage: out}, nil
}

// messageCursor packs a history position into a NextToken's cursor.
func messageCursor(m store.ChannelMessage) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(m.CreatedAt.UnixMilli()))
	binary.BigEndian.PutUint64(b[8:], uint64(m.Seq))
	return b
}

// ListChannelMessages returns a page of a channel's history, newest first
// unless SortOrder is ASCENDING, bounded by NotBefore and NotAfter
// (inclusive). Redacted messages appear with Redacted and no content;
// deleted ones do not appear; targeted messages appear only to their
// sender and target. Pages are keyset-based, so messages sent while a
// client pages never cause duplicates or gaps.
func (s *Service) ListChannelMessages(ctx context.Context, in *chime.ListChannelMessagesRequest) (*chime.ListChannelMessagesResponse, error) {
	if err := s.permit(ctx, chime.OpListChannelMessages, in); err != nil {
		return nil, err
	}
	q := store.MessageQuery{Descending: in.SortOrder != chime.SortOrderAscending}
	var bounds [2]string
	if in.NotBefore != nil {
		q.NotBefore = in.NotBefore.Time
		bounds[0] = q.NotBefore.UTC().Format(time.RFC3339Nano)
	}
	if in.NotAfter != nil {
		q.NotAfter = in.NotAfter.Time
		bounds[1] = q.NotAfter.UTC().Format(time.RFC3339Nano)
	}
	if !q.NotBefore.IsZero() && !q.NotAfter.IsZero() && q.NotAfter.Before(q.NotBefore) {
		return nil, badRequest("NotAfter (%s) is before NotBefore (%s).", bounds[1], bounds[0])
	}
	n := DefaultMaxResults
	if in.MaxResults != nil {
		n = int(*in.MaxResults)
	}
	q.Limit = n + 1
	sc := scope("ListChannelMessages", deref(in.ChannelArn), deref(in.ChimeBearer), string(in.SortOrder), bounds[0], bounds[1], deref(in.SubChannelId))
	if tok := deref(in.NextToken); tok != "" {
		cur, err := pagetoken.Open(s.pageKey, sc, tok)
		if err != nil || len(cur) != 16 {
			return nil, badRequest("Invalid NextToken: it was not issued by this operation for these parameters, or it was altered.")
		}
		q.After = &store.MessageCursor{
			CreatedAt: time.UnixMilli(int64(binary.BigEndian.Uint64(cur))).UTC(),
			Seq:       int64(binary.BigEndian.Uint64(cur[8:])),
		}
	}
	var msgs []store.ChannelMessage
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enterAs(ctx, tx, chime.OpListChannelMessages, in.ChannelArn, in.ChimeBearer, in.SubChannelId)
		if err != nil {
			return err
		}
		cutoff, err := s.retentionCutoff(ctx, tx, c.ch.AppInstanceID)
		if err != nil {
			return err
		}
		if cutoff.After(q.NotBefore) {
			q.NotBefore = cutoff
		}
		q.Viewer, q.SubChannelID = c.bearer.Actor, c.sub
		msgs, err = tx.ListChannelMessages(ctx, c.ch.AppInstanceID, c.ch.ChannelID, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &chime.ListChannelMessagesResponse{ChannelArn: in.ChannelArn, SubChannelId: in.SubChannelId}
	if len(msgs) > n {
		msgs = msgs[:n]
		out.NextToken = ptr(pagetoken.Seal(s.pageKey, sc, messageCursor(msgs[n-1])))
	}
	out.ChannelMessages = make([]chime.ChannelMessageSummary, 0, len(msgs))
	for _, m := range msgs {
		out.ChannelMessages = append(out.ChannelMessages, s.messageSummary(m))
	}
	return out, nil
}

// changeMessage is the common part of UpdateChannelMessage and
// RedactChannelMessage: the bearer must see the message, the matrix must
// allow op (own = the bearer sent it), and the message must be SENT.
func (s *Service) changeMessage(ctx context.Context, tx store.Tx, op *chime.Operation, channelArn, bearerArn, messageID, subChannelID *string) (inChannel, store.ChannelMessage, error) {
	c, err := s.enter(ctx, tx, deref(channelArn), deref(bearerArn))
	if err != nil {
		return c, store.ChannelMessage{}, err
	}
	if err := s.scopeSubChannel(ctx, tx, &c, op, subChannelID); err != nil {
		return c, store.ChannelMessage{}, err
	}
	m, err := s.message(ctx, tx, c, deref(messageID))
	if err != nil {
		// Tell a bearer that may not act at all so, rather than NotFound.
		if rerr := c.require(op, true); rerr != nil {
			return c, m, rerr
		}
		if rerr := c.requireSubChannel(); rerr != nil {
			return c, m, rerr
		}
		return c, m, err
	}
	if err := c.require(op, m.Sender == c.bearer.Actor); err != nil {
		return c, m, err
	}
	if err := c.requireSubChannel(); err != nil {
		return c, m, err
	}
	if m.Status != chime.ChannelMessageStatusSent {
		return c, m, conflict("ChannelMessage %s is %s; only SENT messages can be changed.", m.MessageID, m.Status)
	}
	if _, err := tx.GetOpenFlowJobForMessage(ctx, m.AppInstanceID, m.ChannelID, m.MessageID); err == nil {
		return c, m, conflict("ChannelMessage %s has an edit pending with the channel flow's processor.", m.MessageID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return c, m, err
	}
	return c, m, nil
}

// UpdateChannelMessage edits the bearer's own message: new Content, and
// Metadata and ContentType when given. Members see the latest version.
func (s *Service) UpdateChannelMessage(ctx context.Context, in *chime.UpdateChannelMessageRequest) (*chime.UpdateChannelMessageResponse, error) {
	if err := s.permit(ctx, chime.OpUpdateChannelMessage, in); err != nil {
		return nil, err
	}
	status := chime.ChannelMessageStatusSent
	err := s.store.Update(ctx, func(tx store.Tx) error {
		c, m, err := s.changeMessage(ctx, tx, chime.OpUpdateChannelMessage, in.ChannelArn, in.ChimeBearer, in.MessageId, in.SubChannelId)
		if err != nil {
			return err
		}
		if m.Redacted {
			return conflict("ChannelMessage %s is redacted and can no longer be edited.", m.MessageID)
		}
		if err := checkContent(chime.ChannelMessageType(m.Type), deref(in.Content), in.Metadata); err != nil {
			return err
		}
		m.Content = deref(in.Content)
		if in.Metadata != nil {
			m.Metadata = *in.Metadata
		}
		if in.ContentType != nil {
			m.ContentType = *in.ContentType
		}
		now := s.now()
		m.EditedAt, m.UpdatedAt = now, now
		if flowed(c.ch, m.Type) {
			status = chime.ChannelMessageStatusPending
			return s.startFlowJob(ctx, tx, c.ch, m, string(chime.ChannelMessagePersistenceTypePersistent), true)
		}
		if err := tx.UpdateChannelMessage(ctx, m); err != nil {
			return err
		}
		s.emit(tx, s.messageEvent(evUpdateMessage, m, string(chime.ChannelMessagePersistenceTypePersistent)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.UpdateChannelMessageResponse{ChannelArn: in.ChannelArn, MessageId: in.MessageId, Status: &chime.ChannelMessageStatusStructure{Value: status}, SubChannelId: in.SubChannelId}, nil
}

// RedactChannelMessage removes a message's content and metadata for good;
// the message stays in the history, marked Redacted. Redacting it again
// succeeds and changes nothing.
func (s *Service) RedactChannelMessage(ctx context.Context, in *chime.RedactChannelMessageRequest) (*chime.RedactChannelMessageResponse, error) {
	if err := s.permit(ctx, chime.OpRedactChannelMessage, in); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		_, m, err := s.changeMessage(ctx, tx, chime.OpRedactChannelMessage, in.ChannelArn, in.ChimeBearer, in.MessageId, in.SubChannelId)
		if err != nil || m.Redacted {
			return err
		}
		m.Redacted, m.Content, m.Metadata, m.UpdatedAt = true, "", "", s.now()
		if err := tx.UpdateChannelMessage(ctx, m); err != nil {
			return err
		}
		s.emit(tx, s.messageEvent(evRedactMessage, m, string(chime.ChannelMessagePersistenceTypePersistent)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.RedactChannelMessageResponse{ChannelArn: in.ChannelArn, MessageId: in.MessageId, SubChannelId: in.SubChannelId}, nil
}

// DeleteChannelMessage deletes a message for good (AppInstanceAdmins only,
// who may delete even targeted messages they cannot see).
func (s *Service) DeleteChannelMessage(ctx context.Context, in *chime.DeleteChannelMessageRequest) error {
	if err := s.permit(ctx, chime.OpDeleteChannelMessage, in); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		c, err := s.enterAs(ctx, tx, chime.OpDeleteChannelMessage, in.ChannelArn, in.ChimeBearer, in.SubChannelId)
		if err != nil {
			return err
		}
		m, err := tx.GetChannelMessage(ctx, c.ch.AppInstanceID, c.ch.ChannelID, deref(in.MessageId))
		if err == nil && c.sub != "" && m.SubChannelID != c.sub {
			err = store.ErrNotFound
		}
		if err != nil {
			return storeErr(err, "ChannelMessage "+deref(in.MessageId)+" of channel "+c.channelArn()+subChannelNoun(c.sub))
		}
		if err := tx.DeleteChannelMessage(ctx, m.AppInstanceID, m.ChannelID, m.MessageID); err != nil {
			return err
		}
		m.UpdatedAt = s.now()
		s.emit(tx, s.messageEvent(evDeleteMessage, m, string(chime.ChannelMessagePersistenceTypePersistent)))
		return nil
	})
}

// GetChannelMessageStatus returns the status of the bearer's own message.
func (s *Service) GetChannelMessageStatus(ctx context.Context, in *chime.GetChannelMessageStatusRequest) (*chime.GetChannelMessageStatusResponse, error) {
	if err := s.permit(ctx, chime.OpGetChannelMessageStatus, in); err != nil {
		return nil, err
	}
	var out *chime.ChannelMessageStatusStructure
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		c, err := s.enter(ctx, tx, deref(in.ChannelArn), deref(in.ChimeBearer))
		if err != nil {
			return err
		}
		if err := s.scopeSubChannel(ctx, tx, &c, chime.OpGetChannelMessageStatus, in.SubChannelId); err != nil {
			return err
		}
		m, err := s.message(ctx, tx, c, deref(in.MessageId))
		if err != nil {
			return err
		}
		if err := c.require(chime.OpGetChannelMessageStatus, m.Sender == c.bearer.Actor); err != nil {
			return err
		}
		out = &chime.ChannelMessageStatusStructure{Value: chime.ChannelMessageStatus(m.Status), Detail: optional(m.StatusDetail)}
		if m.Status != chime.ChannelMessageStatusSent {
			return nil
		}
		if _, err := tx.GetOpenFlowJobForMessage(ctx, m.AppInstanceID, m.ChannelID, m.MessageID); err == nil {
			out = &chime.ChannelMessageStatusStructure{Value: chime.ChannelMessageStatusPending, Detail: ptr("An edit is being processed by the channel flow.")}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chime.GetChannelMessageStatusResponse{Status: out}, nil
}

// subChannelNoun names a sub-channel in messages: " (sub-channel X)", or
// nothing outside elastic channels.
func subChannelNoun(sub string) string {
	if sub == "" {
		return ""
	}
	return " (sub-channel " + sub + ")"
}
