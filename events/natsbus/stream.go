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

// The stream: the relays store events with an ID in it (on PREFIX_s.…
// subjects, one copy per live subject, keyed by ID and subject), and it
// sends each stored copy out on the live subject (republish), in its order.
// It drops a copy it holds already (within dedupWindow), so an event goes
// out once however many relays publish it; every relay stores in ID order,
// so IDs never decrease along the stream. A node that was away
// (reconnect, slow-consumer cut) or that has just subscribed to something
// reads what it missed back from it; a copy stored twice all the same
// (after the window) is dropped by the reader.

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
		Subjects:    []string{storedPrefix(p) + ".>"},
		// The stream sends out what it stored, in its order, on the live
		// subjects: PREFIX_s.a.HASH goes out as PREFIX.a.HASH.
		RePublish:  &jetstream.RePublish{Source: storedPrefix(p) + ".>", Destination: p + ".>"},
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxAge:     o.Retention,
		Storage:    jetstream.FileStorage,
		Replicas:   o.Replicas,
		Duplicates: dedupWindow,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("natsbus: stream %s (is JetStream enabled on the NATS server?): %w", streamName(p), err)
	}
	return js, st, nil
}

// storedPrefix starts the subjects events go into the stream on: the live
// subject with the first token changed, which the stream republishes as the
// live subject once stored. No node subscribes to them.
func storedPrefix(prefix string) string { return prefix + "_s" }

// publishStored stores data in the stream, once per live subject (its
// copies keyed by ID and subject), which republishes it.
func publishStored(js jetstream.JetStream, prefix string, id uint64, subjects []string, data []byte) ([]jetstream.PubAckFuture, error) {
	var acks []jetstream.PubAckFuture
	for _, subj := range subjects {
		stored := storedPrefix(prefix) + strings.TrimPrefix(subj, prefix)
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: stored, Data: data,
			Header: nats.Header{jetstream.MsgIDHeader: {strconv.FormatUint(id, 10) + " " + subj}}})
		if err != nil {
			return acks, err
		}
		acks = append(acks, f)
	}
	return acks, nil
}

// waitAck waits for the stream's acknowledgement and reports whether the
// stream held the ID already.
func waitAck(ctx context.Context, f jetstream.PubAckFuture) (duplicate bool, err error) {
	select {
	case ack := <-f.Ok():
		return ack.Duplicate, nil
	case err := <-f.Err():
		return false, err
	case <-ctx.Done():
		return false, ctx.Err()
	}
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
