package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// The push and streaming measurement: sends with a PushNotification into
// a channel whose members each have a push endpoint, in an app instance
// that streams channel messages, with both sinks a local webhook receiver
// (`bench __sink`, its own process): belfry's --push-webhook and
// --stream-webhook. Beside it, plain sends into the same channel by the
// same clients, before push and streaming are configured.

// PushResult is the push and streaming measurement on one store.
type PushResult struct {
	Members  int        `json:"members"` // each with one APNS endpoint
	Clients  int        `json:"clients"`
	Duration string     `json:"duration"`
	Store    string     `json:"store,omitempty"`
	Plain    LoadResult `json:"plain_sends"`
	WithPush LoadResult `json:"sends_with_push_and_stream"`
	// Sends is every send of the push phase (warm-up included) that was
	// answered 201; each owes one push per member with an endpoint but
	// the sender, and one streaming record.
	Sends       int64 `json:"sends"`
	Pushes      int64 `json:"pushes_received"`
	Records     int64 `json:"stream_records_received"`
	WantPushes  int64 `json:"pushes_expected"`
	WantRecords int64 `json:"stream_records_expected"`
	// DeliveriesPerS is pushes + records received ÷ the time from the
	// phase's first send to the last delivery received: end to end.
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	// DrainS is how long after the last send the last delivery came.
	DrainS float64 `json:"drain_s"`
	// Latency is from a send's start to its push reaching the receiver.
	Latency Latency `json:"send_to_push"`
	Error   string  `json:"error,omitempty"`
}

const (
	pushMembers = 10
	pushClients = 16
)

// sinkStats is what `bench __sink` answers on GET /stats.
type sinkStats struct {
	Push, Stream int64
	First, Last  int64 // Unix ns of the first and last request received
	Latency      Latency
}

func runPush(ctx context.Context, s *suite, pg bool) (res PushResult) {
	cfg := s.cfg
	res.Members, res.Clients, res.Duration = pushMembers, pushClients, cfg.sendDur.String()
	name, dir := "push", filepath.Join(s.work, "push")
	var extra []string
	if pg {
		name, dir, res.Store = "push-pg", filepath.Join(s.work, "push-pg"), "postgres"
		u, err := s.pg.database(ctx, "bench_push")
		if err != nil {
			res.Error = err.Error()
			return res
		}
		extra = []string{"--store", u}
	}
	sink, err := startHelper("__sink")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer sink.Kill()
	extra = append(extra, "--push-webhook", "http://"+sink.addr+"/push", "--stream-webhook", "http://"+sink.addr+"/stream",
		"--delivery-webhook-secret", "bench-delivery-secret")
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: dir, extra: extra})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer p.Kill()
	fail := func(what string, err error) PushResult {
		res.Error = what + ": " + err.Error()
		return res
	}
	a := newAPI(p.base(), 16)
	app, err := a.createAppInstance(ctx, "bench-push")
	if err != nil {
		return fail("setup", err)
	}
	account := "000000000000"
	if parts := strings.Split(app, ":"); len(parts) > 4 {
		account = parts[4]
	}
	// The first pushMembers users have an endpoint each; the senders are
	// the next pushClients, without one: every send owes pushMembers pushes.
	users, err := a.createUsers(ctx, app, "pushee", pushMembers+pushClients, 8)
	if err != nil {
		return fail("setup", err)
	}
	for i, u := range users[:pushMembers] {
		id := fmt.Sprintf("device%02d", i)
		if err := a.call(ctx, "POST", "/app-instance-users/"+url.PathEscape(u)+"/endpoints", map[string]any{
			"Name": id, "Type": "APNS", "ResourceArn": "arn:aws:mobiletargeting:us-east-1:" + account + ":apps/bench",
			"EndpointAttributes": map[string]string{"DeviceToken": "token-" + id}, "AllowMessages": "ALL", "ClientRequestToken": token("ep"),
		}, "", 201, nil); err != nil {
			return fail("RegisterAppInstanceUserEndpoint", err)
		}
	}
	channel, err := a.createChannel(ctx, app, "push", users[0])
	if err == nil {
		err = a.addMembers(ctx, channel, users[0], users[1:])
	}
	if err != nil {
		return fail("setup", err)
	}
	sendURL := p.base() + channelPath(channel, "/messages")
	pid := []int{p.cmd.Process.Pid}

	var seq atomic.Int64
	s.logf("%s: %d clients, plain sends (%s)", name, pushClients, cfg.sendDur)
	res.Plain = closedLoop(ctx, pid, p.base(), pushClients, cfg.sendWarm, cfg.sendDur, 201, func(ctx context.Context, c int) (*http.Request, error) {
		i := seq.Add(1)
		return signedRequest(ctx, "POST", sendURL, sendBody(messageContent, fmt.Sprintf("p%d-%d", c, i)), users[pushMembers+c])
	})
	s.logf("%s: plain: %.0f msg/s p99 %.2f ms", name, res.Plain.MsgPerS, res.Plain.Latency.P99ms)

	if err := a.call(ctx, "PUT", "/app-instances/"+url.PathEscape(app)+"/streaming-configurations", map[string]any{
		"StreamingConfigurations": []map[string]string{{"DataType": "ChannelMessage", "ResourceArn": "arn:aws:kinesis:us-east-1:" + account + ":stream/chime-messaging-bench"}},
	}, "", 200, nil); err != nil {
		return fail("PutMessagingStreamingConfigurations", err)
	}
	before, err := getSinkStats(sink.addr)
	if err != nil {
		return fail("sink", err)
	}
	start := time.Now()
	s.logf("%s: %d clients, sends with a push notification to %d endpoints and a streaming record each (%s)", name, pushClients, pushMembers, cfg.sendDur)
	res.WithPush = closedLoop(ctx, pid, p.base(), pushClients, cfg.sendWarm, cfg.sendDur, 201, func(ctx context.Context, c int) (*http.Request, error) {
		i := seq.Add(1)
		mark := markerContent(1, i%1e8, time.Now())
		b, _ := json.Marshal(map[string]any{"Content": mark, "Type": "STANDARD", "Persistence": "PERSISTENT", "ClientRequestToken": fmt.Sprintf("q%d-%d", c, i),
			"PushNotification": map[string]string{"Title": "bench", "Body": mark[:markerLen], "Type": "DEFAULT"}})
		return signedRequest(ctx, "POST", sendURL, b, users[pushMembers+c])
	})
	lastSend := time.Now()
	res.Sends = res.WithPush.Answered
	res.WantRecords = res.Sends
	// Wait for the queue to drain: the receiver's counts stop growing and
	// belfry's queue depth is 0, or a minute.
	var st sinkStats
	deadline := time.Now().Add(time.Minute)
	for prev := int64(-1); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(250 * time.Millisecond) {
		if st, err = getSinkStats(sink.addr); err != nil {
			return fail("sink", err)
		}
		m := scrapeMetrics(p.base()+"/metrics", `belfry_delivery_queue_depth{kind="push"}`, `belfry_delivery_queue_depth{kind="stream"}`)
		n := st.Push + st.Stream
		if n == prev && len(m) == 2 && m[`belfry_delivery_queue_depth{kind="push"}`] == 0 && m[`belfry_delivery_queue_depth{kind="stream"}`] == 0 {
			break
		}
		prev = n
	}
	res.Pushes, res.Records = st.Push-before.Push, st.Stream-before.Stream
	res.WantPushes = res.Sends * pushMembers
	res.Latency = st.Latency
	if st.Last > 0 {
		last := time.Unix(0, st.Last)
		res.DrainS = round3(max(0, last.Sub(lastSend).Seconds()))
		if el := last.Sub(start).Seconds(); el > 0 {
			res.DeliveriesPerS = round1(float64(res.Pushes+res.Records) / el)
		}
	}
	s.logf("%s: with push: %.0f msg/s p99 %.2f ms; %d sends → %d pushes (of %d), %d records (of %d); %.0f deliveries/s end to end, drained %.1f s after the last send; send→push p50 %.1f ms p99 %.1f ms",
		name, res.WithPush.MsgPerS, res.WithPush.Latency.P99ms, res.Sends, res.Pushes, res.WantPushes, res.Records, res.WantRecords, res.DeliveriesPerS, res.DrainS, res.Latency.P50ms, res.Latency.P99ms)
	return res
}

func getSinkStats(addr string) (sinkStats, error) {
	var st sinkStats
	res, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	return st, json.NewDecoder(res.Body).Decode(&st)
}

// runSink is the `bench __sink` child: the push and stream webhook
// receiver. It answers every POST 204 at once, counts them, and takes
// the send→receive latency of pushes from the marker in their Body. It
// does not check the signature (belfry computes it all the same).
func runSink() {
	var push, stream atomic.Int64
	var first, last atomic.Int64
	var h hist
	seen := func() {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		last.Store(now)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /push", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if _, _, sent, ok := parseMarker(b); ok {
			h.Record(time.Duration(time.Now().UnixNano() - sent))
		}
		push.Add(1)
		seen()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		stream.Add(1)
		seen()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(sinkStats{Push: push.Load(), Stream: stream.Load(), First: first.Load(), Last: last.Load(), Latency: h.Summary()})
	})
	serveHelper(mux)
}
