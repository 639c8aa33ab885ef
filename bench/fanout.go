package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Every fan-out message carries a fixed-width marker in its Content:
//
//	bench|PP|SSSSSSSS|TTTTTTTTTTTTTTTTTTT|
//
// phase, sequence number and the sender's clock (Unix ns) when it issued
// the send. Receivers find it with one bytes.Index, so the client costs
// the same per frame whichever server it reads, and the raw broadcast can
// send byte-for-byte the frame Belfry sent, marker rewritten in place.
var marker = []byte("bench|")

const markerLen = 6 + 3 + 9 + 20 // "bench|" "PP|" "SSSSSSSS|" "TTTT…T|"

func markerContent(phase int, seq int64, t time.Time) string {
	return fmt.Sprintf("bench|%02d|%08d|%019d|", phase, seq, t.UnixNano()) + " " + messageContent
}

func parseMarker(b []byte) (phase int, seq int64, sent int64, ok bool) {
	i := bytes.Index(b, marker)
	if i < 0 || len(b) < i+markerLen {
		return 0, 0, 0, false
	}
	m := b[i : i+markerLen]
	p, ok1 := digits(m[6:8])
	s, ok2 := digits(m[9:17])
	t, ok3 := digits(m[18:37])
	return int(p), s, t, ok1 && ok2 && ok3
}

// digits parses a run of decimal digits without allocating.
func digits(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, len(b) > 0
}

// phase is one measured run of messages; receivers look it up per frame.
type phase struct {
	id       int
	members  int // only receivers 0..members-1 are recipients
	counts   []atomic.Int32
	notify   chan struct{}
	h        hist
	winStart int64 // Unix ns: deliveries received in [winStart, winEnd] count
	winEnd   int64
	inWindow atomic.Int64
	total    atomic.Int64
	// With groups (runGroups), message seq belongs to group seq/perGroup,
	// and its completion is signalled on gnotify[group].
	perGroup int64
	gnotify  []chan struct{}
}

func newPhase(id, members, maxMessages int, winStart, winEnd time.Time) *phase {
	return &phase{id: id, members: members, counts: make([]atomic.Int32, maxMessages), notify: make(chan struct{}, 1),
		winStart: winStart.UnixNano(), winEnd: winEnd.UnixNano()}
}

// fanClients are the connected receivers of one server.
type fanClients struct {
	pids    []int // the server processes (two nodes and NATS in the cluster run)
	conns   []*websocket.Conn
	alive   atomic.Int32
	cur     atomic.Pointer[phase]
	capture atomic.Pointer[[]byte] // the first marked frame receiver 0 saw
	wg      sync.WaitGroup
}

func (f *fanClients) start() {
	for i, c := range f.conns {
		if c == nil {
			continue
		}
		f.alive.Add(1)
		f.wg.Add(1)
		go f.receive(i, c)
	}
}

func (f *fanClients) receive(idx int, c *websocket.Conn) {
	defer f.wg.Done()
	defer f.alive.Add(-1)
	buf := make([]byte, 0, 2048)
	var err error
	for {
		if buf, err = readFrame(c, buf); err != nil {
			return
		}
		now := time.Now().UnixNano()
		ph := f.cur.Load()
		p, seq, sent, ok := parseMarker(buf)
		if !ok || ph == nil || p != ph.id || seq >= int64(len(ph.counts)) {
			continue
		}
		if idx == 0 && f.capture.Load() == nil {
			b := append([]byte(nil), buf...)
			f.capture.Store(&b)
		}
		ph.total.Add(1)
		if now >= ph.winStart && now <= ph.winEnd {
			ph.inWindow.Add(1)
		}
		if sent >= ph.winStart && sent <= ph.winEnd {
			ph.h.Record(time.Duration(now - sent))
		}
		if int(ph.counts[seq].Add(1)) >= ph.members {
			n := ph.notify
			if ph.gnotify != nil {
				n = ph.gnotify[seq/ph.perGroup]
			}
			select {
			case n <- struct{}{}:
			default:
			}
		}
	}
}

func (f *fanClients) stop() {
	closeAll(f.conns)
	f.wg.Wait()
}

// complete reports whether every live recipient has message seq.
func (ph *phase) complete(seq int64, alive int) bool {
	return int(ph.counts[seq].Load()) >= min(ph.members, alive)
}

// waitComplete waits until message seq reached every live recipient, or
// the timeout.
func (f *fanClients) waitComplete(ctx context.Context, ph *phase, seq int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	notify := ph.notify
	if ph.gnotify != nil {
		notify = ph.gnotify[seq/ph.perGroup]
	}
	for !ph.complete(seq, int(f.alive.Load())) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-notify:
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// sendFunc sends one message whose Content is content to the phase's
// recipients.
type sendFunc func(ctx context.Context, members int, content string) error

// PhaseResult is one fan-out phase against one server.
type PhaseResult struct {
	Members       int     `json:"members"`
	Groups        int     `json:"channels,omitempty"` // runGroups: channels of Members each
	Mode          string  `json:"mode"`               // "window N" or "R msg/s"
	Sent          int64   `json:"messages_sent"`
	MsgPerS       float64 `json:"messages_per_s"`
	DeliveriesPS  float64 `json:"deliveries_per_s"`
	Latency       Latency `json:"send_to_receive"`
	Incomplete    int64   `json:"messages_not_delivered_to_all"`
	SendErrors    int64   `json:"send_errors"`
	FirstErr      string  `json:"first_error,omitempty"`
	AliveAtEnd    int     `json:"sessions_alive_at_end"`
	DurationS     float64 `json:"duration_s"`
	OfferedPerS   float64 `json:"offered_messages_per_s,omitempty"`
	DeliveryRatio float64 `json:"delivered_fraction"`
	CPU           CPUUse  `json:"cpu"`
}

const maxPhaseMessages = 200_000

// runWindowed sends as fast as the window allows: message i goes out once
// message i-window reached every recipient. This finds the deliveries/s
// the server (and the receivers, on the same cores) sustain without
// unbounded queues.
func (f *fanClients) runWindowed(ctx context.Context, id, members, window int, warm, dur time.Duration, send sendFunc) PhaseResult {
	start := time.Now()
	ph := newPhase(id, members, maxPhaseMessages, start.Add(warm), start.Add(warm+dur))
	f.cur.Store(ph)
	cpu := sampleCPU(f.pids, start.Add(warm), start.Add(warm+dur))
	r := PhaseResult{Members: members, Mode: fmt.Sprintf("window %d", window), DurationS: dur.Seconds()}
	end := time.Unix(0, ph.winEnd)
	var seq int64
	var errs int64
	for time.Now().Before(end) && ctx.Err() == nil && seq < maxPhaseMessages {
		if seq >= int64(window) {
			f.waitComplete(ctx, ph, seq-int64(window), 10*time.Second)
		}
		if err := send(ctx, members, markerContent(id, seq, time.Now())); err != nil {
			errs++
			if r.FirstErr == "" {
				r.FirstErr = err.Error()
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		seq++
	}
	f.finish(ctx, ph, seq, &r)
	r.SendErrors = errs
	r.CPU = <-cpu
	return r
}

// runSteady sends at a fixed rate, whatever the deliveries do (open loop).
func (f *fanClients) runSteady(ctx context.Context, id, members int, rate float64, warm, dur time.Duration, send sendFunc) PhaseResult {
	start := time.Now()
	ph := newPhase(id, members, maxPhaseMessages, start.Add(warm), start.Add(warm+dur))
	f.cur.Store(ph)
	cpu := sampleCPU(f.pids, start.Add(warm), start.Add(warm+dur))
	r := PhaseResult{Members: members, Mode: fmt.Sprintf("%g msg/s", rate), DurationS: dur.Seconds(), OfferedPerS: rate}
	end := time.Unix(0, ph.winEnd)
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var errs atomic.Int64
	var firstErr atomic.Value
	var seq int64
	for next := start; next.Before(end) && ctx.Err() == nil && seq < maxPhaseMessages; next = next.Add(interval) {
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		wg.Add(1)
		go func(seq int64) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := send(ctx, members, markerContent(id, seq, time.Now())); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}(seq)
		seq++
	}
	wg.Wait()
	f.finish(ctx, ph, seq, &r)
	r.CPU = <-cpu
	r.SendErrors = errs.Load()
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	return r
}

// groupSendFunc sends one message whose Content is content to the members
// of group g (receivers g×size … g×size+size−1).
type groupSendFunc func(ctx context.Context, g int, content string) error

// runGroups is the many-channels shape: groups channels of size members
// each (disjoint), one sender per channel, each sending as fast as its own
// window allows, all at once.
func (f *fanClients) runGroups(ctx context.Context, id, groups, size, window int, warm, dur time.Duration, send groupSendFunc) PhaseResult {
	start := time.Now()
	per := maxPhaseMessages / groups
	ph := newPhase(id, size, per*groups, start.Add(warm), start.Add(warm+dur))
	ph.perGroup = int64(per)
	ph.gnotify = make([]chan struct{}, groups)
	for g := range ph.gnotify {
		ph.gnotify[g] = make(chan struct{}, 1)
	}
	f.cur.Store(ph)
	cpu := sampleCPU(f.pids, start.Add(warm), start.Add(warm+dur))
	r := PhaseResult{Members: size, Groups: groups, Mode: fmt.Sprintf("window %d each", window), DurationS: dur.Seconds()}
	end := time.Unix(0, ph.winEnd)
	sent := make([]int64, groups)
	var errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := int64(g * per)
			var k int64
			for time.Now().Before(end) && ctx.Err() == nil && k < int64(per) {
				if k >= int64(window) {
					f.waitComplete(ctx, ph, base+k-int64(window), 10*time.Second)
				}
				if err := send(ctx, g, markerContent(id, base+k, time.Now())); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				k++
			}
			sent[g] = k
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	var total int64
	for g, n := range sent {
		for k := range n {
			if !f.waitComplete(ctx, ph, int64(g*per)+k, time.Until(deadline)) {
				r.Incomplete++
			}
		}
		total += n
	}
	f.fill(ph, total, &r)
	r.CPU = <-cpu
	r.SendErrors = errs.Load()
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	return r
}

// finish waits (up to 10 s) for the messages in flight and fills r.
func (f *fanClients) finish(ctx context.Context, ph *phase, sent int64, r *PhaseResult) {
	deadline := time.Now().Add(10 * time.Second)
	for i := int64(0); i < sent; i++ {
		if !f.waitComplete(ctx, ph, i, time.Until(deadline)) {
			r.Incomplete++
		}
	}
	f.fill(ph, sent, r)
}

// fill computes r's figures from the phase's counters.
func (f *fanClients) fill(ph *phase, sent int64, r *PhaseResult) {
	dur := float64(ph.winEnd-ph.winStart) / 1e9
	r.Sent = sent
	r.DeliveriesPS = round1(float64(ph.inWindow.Load()) / dur)
	r.MsgPerS = round1(r.DeliveriesPS / float64(ph.members))
	r.Latency = ph.h.Summary()
	r.AliveAtEnd = int(f.alive.Load())
	if sent > 0 {
		r.DeliveryRatio = round3(float64(ph.total.Load()) / float64(sent*int64(ph.members)))
	}
}

// FanoutServer is every phase against one server.
type FanoutServer struct {
	Sessions       int          `json:"sessions"`
	ConnectFailed  int          `json:"connect_failed"`
	ConnectS       float64      `json:"connect_seconds"`
	ConnectPerS    float64      `json:"connects_per_s"`
	Saturated      *PhaseResult `json:"saturated,omitempty"`
	Steady         *PhaseResult `json:"steady,omitempty"`
	SmallLatency   *PhaseResult `json:"small_channel_latency,omitempty"`
	Groups         *PhaseResult `json:"many_channels,omitempty"`
	ServerDropped  int64        `json:"server_dropped,omitempty"`
	Error          string       `json:"error,omitempty"`
	FrameBytes     int          `json:"frame_bytes,omitempty"`
	TemplateSource string       `json:"frame_source,omitempty"`

	profile, profileTop string
}

// FanoutResult is measurement 2.
type FanoutResult struct {
	Members      int          `json:"members"`
	SmallMembers int          `json:"small_channel_members"`
	Window       int          `json:"window"`
	SmallRate    float64      `json:"small_channel_rate"`
	Groups       int          `json:"many_channels"`
	GroupSize    int          `json:"many_channels_members"`
	GroupWindow  int          `json:"many_channels_window"`
	SteadyRate   float64      `json:"steady_rate"`
	Duration     string       `json:"duration"`
	SetupS       float64      `json:"setup_seconds"`
	Belfry       FanoutServer `json:"belfry"`
	Raw          FanoutServer `json:"raw_broadcast"`
	ProfileTop   string       `json:"profile_top,omitempty"`
	Profile      string       `json:"profile,omitempty"`
	Error        string       `json:"error,omitempty"`
	// Store is "postgres" for the PostgreSQL run, whose limit is the
	// SQLite run's raw broadcast (not repeated) and which adds TwoNodes.
	Store string `json:"store,omitempty"`
	// TwoNodes is two belfry nodes on the same PostgreSQL database and one
	// NATS (--bus): every member's websocket on node 2, the sends through
	// node 1. Its CPU is the two nodes' and NATS's together.
	TwoNodes *FanoutServer `json:"two_nodes,omitempty"`
}

// fanoutEnv is what the sessions measurement reuses: the data dir with
// its users, and the store flags.
type fanoutEnv struct {
	dir   string
	users []string
	extra []string
}

// fanSetup is the fan-out's users and channels.
type fanSetup struct {
	users      []string
	big, small string
	groupChans []string
	groups     int
	setupS     float64
}

// setupFanout creates the members and channels through belfry at base.
func (s *suite) setupFanout(ctx context.Context, base, name string) (fanSetup, error) {
	cfg := s.cfg
	var st fanSetup
	start := time.Now()
	a := newAPI(base, 16)
	app, err := a.createAppInstance(ctx, "bench-fanout")
	if err != nil {
		return st, err
	}
	s.logf("%s: creating %d users", name, cfg.fanMembers)
	if st.users, err = a.createUsers(ctx, app, "member", cfg.fanMembers, 8); err != nil {
		return st, err
	}
	users := st.users
	s.logf("%s: %d users in %.1fs; memberships", name, cfg.fanMembers, time.Since(start).Seconds())
	st.big, err = a.createChannel(ctx, app, "fanout", users[0])
	if err == nil {
		err = a.addMembers(ctx, st.big, users[0], users[1:])
	}
	if err == nil {
		st.small, err = a.createChannel(ctx, app, "latency", users[0])
	}
	if err == nil {
		err = a.addMembers(ctx, st.small, users[0], users[1:cfg.latMembers])
	}
	st.groups = min(cfg.groups, cfg.fanMembers/cfg.groupSize)
	st.groupChans = make([]string, st.groups)
	if err != nil {
		return st, err
	}
	// The group channels are independent of each other: 8 at a time.
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && firstErr.Load() == nil {
				g := int(next.Add(1) - 1)
				if g >= st.groups {
					return
				}
				members := users[g*cfg.groupSize : (g+1)*cfg.groupSize]
				ch, err := a.createChannel(ctx, app, "group-"+strconv.Itoa(g), members[0])
				if err == nil {
					err = a.addMembers(ctx, ch, members[0], members[1:])
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				st.groupChans[g] = ch
			}
		}()
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		err = e
	}
	st.setupS = round1(time.Since(start).Seconds())
	return st, err
}

// senders are the fan-out's sends through belfry at base.
func (s *suite) senders(base string, st fanSetup) (sendFunc, groupSendFunc) {
	sender := newAPI(base, 64)
	send := func(ctx context.Context, members int, content string) error {
		ch := st.big
		if members < s.cfg.fanMembers {
			ch = st.small
		}
		return sender.call(ctx, "POST", channelPath(ch, "/messages"), map[string]string{
			"Content": content, "Type": "STANDARD", "Persistence": "PERSISTENT", "ClientRequestToken": token("f"),
		}, st.users[0], 201, nil)
	}
	gsend := func(ctx context.Context, g int, content string) error {
		return sender.call(ctx, "POST", channelPath(st.groupChans[g], "/messages"), map[string]string{
			"Content": content, "Type": "STANDARD", "Persistence": "PERSISTENT", "ClientRequestToken": token("g"),
		}, st.users[g*s.cfg.groupSize], 201, nil)
	}
	return send, gsend
}

// runFanout is measurement 2: one channel of M members, all connected,
// Belfry against a bare gorilla broadcast of the same frames to the same
// number of connections.
func runFanout(ctx context.Context, s *suite) (res FanoutResult, env fanoutEnv) {
	cfg := s.cfg
	res.Members, res.SmallMembers, res.Window, res.SmallRate, res.Duration = cfg.fanMembers, cfg.latMembers, cfg.fanWindow, cfg.latRate, cfg.fanDur.String()
	env.dir = filepath.Join(s.work, "fanout")
	bin := s.belfry
	if s.belfryProf != "" {
		bin = s.belfryProf
	}
	p, _, err := startBelfry(ctx, serveOpts{bin: bin, dataDir: env.dir, pprof: s.belfryProf != ""})
	if err != nil {
		res.Error = err.Error()
		return res, env
	}
	defer p.Kill()
	st, err := s.setupFanout(ctx, p.base(), "fanout")
	res.Groups, res.GroupSize, res.GroupWindow, res.SetupS = st.groups, cfg.groupSize, cfg.groupWindow, st.setupS
	if err != nil {
		res.Error = "setup: " + err.Error()
		return res, env
	}
	env.users = st.users
	s.logf("fanout: setup done in %.1fs; connecting %d sessions to belfry", res.SetupS, cfg.fanMembers)

	belfrySend, belfryGroupSend := s.senders(p.base(), st)
	var template []byte
	res.Belfry, template, res.SteadyRate = s.fanoutPhases(ctx, cfg, res.Groups, belfrySend, belfryGroupSend, func(i int) (string, error) {
		return presignConnect(p.httpAddr, st.users[i], "fan"+strconv.Itoa(i))
	}, 0, p, []int{p.cmd.Process.Pid}, "belfry", 0)
	if err := p.Stop(20 * time.Second); err != nil {
		s.logf("fanout: %v", err)
	}
	if template == nil {
		res.Raw.Error = "no frame captured from belfry to replay"
		return res, env
	}
	res.Belfry.FrameBytes = len(template)
	res.Belfry.TemplateSource = "belfry"

	raw, err := startHelper("__broadcast")
	if err != nil {
		res.Raw.Error = err.Error()
		return res, env
	}
	defer raw.Kill()
	rawHC := &http.Client{Transport: newTransport(64), Timeout: time.Minute}
	at := bytes.Index(template, marker)
	rawBroadcast := func(ctx context.Context, from, members int, content string) error {
		frame := append([]byte(nil), template...)
		copy(frame[at:at+markerLen], content[:markerLen])
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+raw.addr+"/broadcast?from="+strconv.Itoa(from)+"&n="+strconv.Itoa(members), bytes.NewReader(frame))
		if err != nil {
			return err
		}
		res, err := rawHC.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			return fmt.Errorf("broadcast: HTTP %d", res.StatusCode)
		}
		return nil
	}
	rawSend := func(ctx context.Context, members int, content string) error {
		return rawBroadcast(ctx, 0, members, content)
	}
	rawGroupSend := func(ctx context.Context, g int, content string) error {
		return rawBroadcast(ctx, g*cfg.groupSize, cfg.groupSize, content)
	}
	s.logf("fanout: connecting %d sessions to the raw broadcast server", cfg.fanMembers)
	res.Raw, _, _ = s.fanoutPhases(ctx, cfg, res.Groups, rawSend, rawGroupSend, func(i int) (string, error) {
		return "ws://" + raw.addr + "/connect?i=" + strconv.Itoa(i), nil
	}, res.SteadyRate, nil, []int{raw.cmd.Process.Pid}, "raw", 10)
	res.Raw.FrameBytes = len(template)
	res.Raw.TemplateSource = "belfry's frame, marker rewritten"
	res.Raw.ServerDropped = rawStats(raw.addr)
	raw.Kill()
	if res.Belfry.Saturated != nil {
		res.ProfileTop, res.Profile = res.Belfry.profileTop, res.Belfry.profile
	}
	return res, env
}

// runFanoutPG is measurement 2 on PostgreSQL: one belfry on a PostgreSQL
// database (no steady phase: the raw broadcast it would be compared with
// is the SQLite run's), then two nodes on the same database and one NATS,
// the sessions on node 2 and the sends through node 1.
func runFanoutPG(ctx context.Context, s *suite) (res FanoutResult, env fanoutEnv) {
	cfg := s.cfg
	res.Store = "postgres"
	res.Members, res.SmallMembers, res.Window, res.SmallRate, res.Duration = cfg.fanMembers, cfg.latMembers, cfg.fanWindow, cfg.latRate, cfg.fanDur.String()
	dbURL, err := s.pg.database(ctx, "bench_fanout")
	if err != nil {
		res.Error = err.Error()
		return res, env
	}
	env.dir, env.extra = filepath.Join(s.work, "fanout-pg"), []string{"--store", dbURL}
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: env.dir, extra: env.extra})
	if err != nil {
		res.Error = err.Error()
		return res, env
	}
	defer p.Kill()
	st, err := s.setupFanout(ctx, p.base(), "fanout-pg")
	res.Groups, res.GroupSize, res.GroupWindow, res.SetupS = st.groups, cfg.groupSize, cfg.groupWindow, st.setupS
	if err != nil {
		res.Error = "setup: " + err.Error()
		return res, env
	}
	env.users = st.users
	s.logf("fanout-pg: setup done in %.1fs; connecting %d sessions to belfry", res.SetupS, cfg.fanMembers)
	send, gsend := s.senders(p.base(), st)
	var template []byte
	res.Belfry, template, _ = s.fanoutPhases(ctx, cfg, res.Groups, send, gsend, func(i int) (string, error) {
		return presignConnect(p.httpAddr, st.users[i], "fan"+strconv.Itoa(i))
	}, -1, p, []int{p.cmd.Process.Pid}, "belfry on PostgreSQL", 20)
	res.Belfry.FrameBytes = len(template)
	if err := p.Stop(20 * time.Second); err != nil {
		s.logf("fanout-pg: %v", err)
	}
	if ctx.Err() != nil {
		return res, env
	}

	two := s.twoNodes(ctx, env, st)
	res.TwoNodes = &two
	return res, env
}

// twoNodes runs the fan-out phases against two belfry nodes sharing the
// PostgreSQL database of env and a NATS server (a child of the harness):
// sessions on node 2, sends through node 1.
func (s *suite) twoNodes(ctx context.Context, env fanoutEnv, st fanSetup) (out FanoutServer) {
	nats, err := startHelper("__nats")
	if err != nil {
		out.Error = "nats: " + err.Error()
		return out
	}
	defer nats.Kill()
	// The single node's last minute of events is still in the outbox
	// (relays trim a minute behind on a shared store). Nodes that start on
	// that store publish whatever it holds, and a NATS server that has never
	// seen those events cannot tell them apart from new ones: node 2 would
	// spend the measurement delivering the earlier phases' messages again.
	// A cluster whose NATS keeps its stream drops them as duplicates.
	if err := clearOutbox(ctx, env.extra); err != nil {
		out.Error = "clearing the outbox: " + err.Error()
		return out
	}
	extra := append(append([]string(nil), env.extra...), "--bus", "nats://"+nats.addr)
	n1, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: filepath.Join(s.work, "node1"), extra: extra})
	if err != nil {
		out.Error = "node 1: " + err.Error()
		return out
	}
	defer n1.Kill()
	n2, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: filepath.Join(s.work, "node2"), extra: extra})
	if err != nil {
		out.Error = "node 2: " + err.Error()
		return out
	}
	defer n2.Kill()
	s.logf("fanout-2nodes: NATS on %s; sends through node 1 (%s), %d sessions on node 2 (%s)", nats.addr, n1.httpAddr, s.cfg.fanMembers, n2.httpAddr)
	send, gsend := s.senders(n1.base(), st)
	var frame []byte
	out, frame, _ = s.fanoutPhases(ctx, s.cfg, st.groups, send, gsend, func(i int) (string, error) {
		return presignConnect(n2.httpAddr, st.users[i], "fan2-"+strconv.Itoa(i))
	}, -1, nil, []int{n1.cmd.Process.Pid, n2.cmd.Process.Pid, nats.cmd.Process.Pid}, "two nodes", 30)
	out.FrameBytes = len(frame)
	_ = n2.Stop(20 * time.Second)
	_ = n1.Stop(20 * time.Second)
	return out
}

// clearOutbox empties the outbox of the --store database in extra.
func clearOutbox(ctx context.Context, extra []string) error {
	var url string
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--store" {
			url = extra[i+1]
		}
	}
	if url == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "DELETE FROM outbox_pending; DELETE FROM outbox")
	return err
}

// runNATS is the `bench __nats` child: an embedded NATS server with
// JetStream (what --bus needs), from the nats-server module belfry's
// tests use, on a free loopback port, keeping its stream in a temporary
// directory it removes on SIGTERM or when the harness dies.
func runNATS() {
	dir, err := os.MkdirTemp("", "belfry-bench-nats-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		os.Exit(1)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		fmt.Fprintln(os.Stderr, "nats: not ready")
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ns.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ns.Shutdown()
}

// fanoutPhases connects the sessions to one server and runs the phases.
// With steadyRate 0 (Belfry) the steady rate is half the saturated message
// rate; the raw server is then offered the same rate. It returns the frame
// receiver 0 captured and the steady rate used.
func (s *suite) fanoutPhases(ctx context.Context, cfg config, groups int, send sendFunc, gsend groupSendFunc, urlFor func(int) (string, error), steadyRate float64, p *belfryProc, pids []int, name string, idBase int) (FanoutServer, []byte, float64) {
	var out FanoutServer
	conns, took, failed, err := connectAll(ctx, cfg.fanMembers, 32, urlFor)
	out.Sessions = cfg.fanMembers - failed
	out.ConnectFailed = failed
	out.ConnectS = round1(took.Seconds())
	out.ConnectPerS = round1(float64(out.Sessions) / took.Seconds())
	s.logf("fanout: %s: %d sessions in %.1fs (%d failed)", name, out.Sessions, took.Seconds(), failed)
	if err != nil && failed > cfg.fanMembers/100 {
		out.Error = "connect: " + err.Error()
		closeAll(conns)
		return out, nil, steadyRate
	}
	f := &fanClients{conns: conns, pids: pids}
	f.start()
	defer f.stop()

	// Warm-up: a few messages, and receiver 0 captures a frame.
	w := f.runWindowed(ctx, idBase+1, cfg.fanMembers, 1, 0, 2*time.Second, send)
	if w.Sent == 0 {
		out.Error = "warm-up: nothing sent: " + w.FirstErr
		return out, nil, steadyRate
	}
	var template []byte
	if b := f.capture.Load(); b != nil {
		template = *b
	}

	var profDone chan profileResult
	if p != nil && p.pprofAddr != "" {
		profDone = captureProfile(ctx, p.pprofAddr, cfg.fanDur/4, cfg.fanDur/2)
	}
	s.logf("fanout: %s: %d members, window %d, %s", name, cfg.fanMembers, cfg.fanWindow, cfg.fanDur)
	sat := f.runWindowed(ctx, idBase+2, cfg.fanMembers, cfg.fanWindow, time.Second, cfg.fanDur, send)
	out.Saturated = &sat
	s.logf("fanout: %s: saturated %.0f deliveries/s (%.1f msg/s), p50 %.1f ms p99 %.1f ms", name, sat.DeliveriesPS, sat.MsgPerS, sat.Latency.P50ms, sat.Latency.P99ms)
	if profDone != nil {
		pr := <-profDone
		if pr.err != nil {
			s.logf("fanout: profile: %v", pr.err)
		} else {
			out.profile, out.profileTop = s.saveProfile("fanout-"+strconv.Itoa(cfg.fanMembers), p.cmd.Path, pr.data)
		}
	}

	// A negative steadyRate skips the steady phase.
	rate := steadyRate
	if rate == 0 {
		rate = max(1, float64(int(sat.MsgPerS/2)))
	}
	if rate > 0 {
		s.logf("fanout: %s: %d members at a steady %g msg/s, %s", name, cfg.fanMembers, rate, cfg.fanDur)
		st := f.runSteady(ctx, idBase+3, cfg.fanMembers, rate, time.Second, cfg.fanDur, send)
		out.Steady = &st
		s.logf("fanout: %s: steady %.0f deliveries/s, p50 %.1f ms p99 %.1f ms", name, st.DeliveriesPS, st.Latency.P50ms, st.Latency.P99ms)
	}

	s.logf("fanout: %s: %d members at %g msg/s, %s", name, cfg.latMembers, cfg.latRate, cfg.latDur)
	lat := f.runSteady(ctx, idBase+4, cfg.latMembers, cfg.latRate, time.Second, cfg.latDur, send)
	out.SmallLatency = &lat
	s.logf("fanout: %s: %d members: p50 %.1f ms p99 %.1f ms", name, cfg.latMembers, lat.Latency.P50ms, lat.Latency.P99ms)

	if groups > 0 {
		s.logf("fanout: %s: %d channels × %d members, window %d each, %s", name, groups, cfg.groupSize, cfg.groupWindow, cfg.fanDur)
		gr := f.runGroups(ctx, idBase+5, groups, cfg.groupSize, cfg.groupWindow, time.Second, cfg.fanDur, gsend)
		out.Groups = &gr
		s.logf("fanout: %s: %d channels: %.0f deliveries/s, p50 %.1f ms p99 %.1f ms", name, groups, gr.DeliveriesPS, gr.Latency.P50ms, gr.Latency.P99ms)
	}
	if p != nil {
		// Stop the server first: its side of each connection then closes
		// first and holds the TIME_WAIT state, not the client's ports.
		_ = p.Stop(20 * time.Second)
	}
	return out, template, rate
}

func rawStats(addr string) int64 {
	res, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var st struct{ Dropped int64 }
	if json.NewDecoder(res.Body).Decode(&st) != nil {
		return -1
	}
	return st.Dropped
}

// The `bench __broadcast` child: a bare gorilla/websocket broadcast
// server, as in gorilla's chat example. Each connection has a reader and a
// writer goroutine and a 256-frame queue; POST /broadcast?n=N prepares the
// body once (websocket.PreparedMessage) and queues it on connections
// 0..N-1. No authentication, no storage, no Belfry code.
type rawConn struct {
	ws   *websocket.Conn
	send chan *websocket.PreparedMessage
}

var rawEstablished = []byte(`{"Headers":{"x-amz-chime-event-type":"SESSION_ESTABLISHED","x-amz-chime-message-type":"SYSTEM"}}`)

func runBroadcast(useTLS bool) {
	var mu sync.Mutex
	var conns []*rawConn
	var dropped atomic.Int64
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /connect", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i > 10_000_000 {
			http.Error(w, "i", http.StatusBadRequest)
			return
		}
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &rawConn{ws: ws, send: make(chan *websocket.PreparedMessage, 256)}
		if err := ws.WriteMessage(websocket.TextMessage, rawEstablished); err != nil {
			ws.Close()
			return
		}
		mu.Lock()
		for len(conns) <= i {
			conns = append(conns, nil)
		}
		conns[i] = c
		mu.Unlock()
		go func() { // writer
			for pm := range c.send {
				_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if ws.WritePreparedMessage(pm) != nil {
					ws.Close()
					for range c.send {
					}
					return
				}
			}
		}()
		go func() { // reader: control frames
			defer ws.Close()
			for {
				if _, _, err := ws.NextReader(); err != nil {
					mu.Lock()
					if i < len(conns) && conns[i] == c {
						conns[i] = nil
						close(c.send)
					}
					mu.Unlock()
					return
				}
			}
		}()
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		from = max(from, 0)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		for i := from; i < from+n && i < len(conns); i++ {
			if c := conns[i]; c != nil {
				select {
				case c.send <- pm:
				default:
					dropped.Add(1)
				}
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"Dropped":%d}`, dropped.Load())
	})
	if useTLS {
		serveHelperTLS(mux)
		return
	}
	serveHelper(mux)
}
