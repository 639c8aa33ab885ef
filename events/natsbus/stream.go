package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The stream: JetStream keeps the events published with an ID for a while,
// so that a node that was away (reconnect, slow-consumer cut) or that has
// just subscribed to something reads what it missed. Live delivery stays
// on plain subscriptions; the stream is only read back.
//
// Each event is stored once, whatever the number of subjects it went to:
// its copies carry the same Nats-Msg-Id (the ID), which the stream
// de-duplicates. Stream order is publish order, and the relay publishes in
// ID order, so IDs increase along the stream; a relay that publishes again
// after a crash does so within the de-duplication window, and a copy
// stored twice all the same is dropped by the reader.

// Defaults of the stream.
const (
	DefaultRetention = 15 * time.Minute
	dedupWindow      = 2 * time.Minute
)

func streamName(prefix string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(prefix)) + "_EVENTS"
}

// openStream creates or updates the stream every node shares.
func openStream(ctx context.Context, nc *nats.Conn, o Options) (jetstream.JetStream, jetstream.Stream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	p := o.Prefix
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        streamName(p),
		Description: "Belfry committed events, kept for nodes that reconnect",
		Subjects:    []string{p + ".a.*", p + ".u.*", deletedSubject(p)},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      o.Retention,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  dedupWindow,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("natsbus: stream %s (is JetStream enabled on the NATS server?): %w", streamName(p), err)
	}
	return js, st, nil
}

// publishStored publishes data on subjects through JetStream with the
// event's ID as message ID, and returns the acknowledgements to wait for.
func publishStored(js jetstream.JetStream, id uint64, subjects []string, data []byte) ([]jetstream.PubAckFuture, error) {
	var acks []jetstream.PubAckFuture
	msgID := strconv.FormatUint(id, 10)
	for _, subj := range subjects {
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data, Header: nats.Header{jetstream.MsgIDHeader: {msgID}}})
		if err != nil {
			return acks, err
		}
		acks = append(acks, f)
	}
	return acks, nil
}

func waitAcks(ctx context.Context, acks []jetstream.PubAckFuture) error {
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// streamReplayer reads the stream back: the Replayer of a Bus on
// JetStream.
type streamReplayer struct{ st jetstream.Stream }

// idAt is the event ID stored at seq; ok is false when the stream no
// longer has it (aged out).
func (r streamReplayer) idAt(ctx context.Context, seq uint64) (uint64, bool, error) {
	m, err := r.st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var env envelope
	if err := json.Unmarshal(m.Data, &env); err != nil {
		return 0, false, fmt.Errorf("natsbus: stream message %d: %w", seq, err)
	}
	return env.ID, true, nil
}

// LastID implements Replayer.
func (r streamReplayer) LastID(ctx context.Context) (uint64, error) {
	info, err := r.st.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return 0, err
	}
	id, _, err := r.idAt(ctx, info.State.LastSeq)
	return id, err
}

// EventsAfter implements Replayer. It finds the first stored event with a
// greater ID by searching back from the end, where catch-ups start (the
// hub's position is usually the last event or close to it), then reads on
// with an ordered consumer.
func (r streamReplayer) EventsAfter(ctx context.Context, after uint64, limit int) ([]Record, error) {
	info, err := r.st.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return nil, err
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	// Narrow to lo < hi with id(lo) <= after < id(hi), where first-1 and
	// last+1 stand for before and after the stream; an aged-out sequence
	// counts as old.
	lo, hi := first-1, last+1
	for probe, step := last, uint64(1); ; step *= 2 {
		id, ok, err := r.idAt(ctx, probe)
		if err != nil {
			return nil, err
		}
		if !ok || id <= after {
			lo = probe
			break
		}
		hi = probe
		if probe == first {
			break
		}
		if probe-first <= step {
			probe = first
		} else {
			probe -= step
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		id, ok, err := r.idAt(ctx, mid)
		if err != nil {
			return nil, err
		}
		if ok && id > after {
			hi = mid
		} else {
			lo = mid
		}
	}
	if hi > last {
		return nil, nil
	}
	c, err := r.st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   hi,
	})
	if err != nil {
		return nil, err
	}
	var out []Record
	for len(out) < limit {
		batch, err := c.FetchNoWait(limit - len(out))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var env envelope
			if err := json.Unmarshal(m.Data(), &env); err != nil {
				continue
			}
			if env.ID > after {
				out = append(out, Record{ID: env.ID, Event: env.Event})
				after = env.ID
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
