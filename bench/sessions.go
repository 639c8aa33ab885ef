package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SessionsPoint is the memory of N idle sessions on one server.
type SessionsPoint struct {
	Sessions      int     `json:"sessions"`
	Connected     int     `json:"connected"`
	ConnectS      float64 `json:"connect_seconds"`
	RSSBeforeMiB  float64 `json:"rss_before_mib"`
	RSSAfterMiB   float64 `json:"rss_after_mib"`
	KiBPerSession float64 `json:"kib_per_session"`
	// GoKiBPerSession is the same delta of the Go runtime's own count
	// (heap in use + stacks), from belfry's /metrics; 0 for the raw server.
	GoKiBPerSession float64 `json:"go_runtime_kib_per_session,omitempty"`
	Error           string  `json:"error,omitempty"`
}

// SessionsLevel is Belfry and the raw server at one session count.
type SessionsLevel struct {
	Sessions        int           `json:"sessions"`
	Requested       int           `json:"requested"`
	Note            string        `json:"note,omitempty"`
	SessionsPerUser int           `json:"sessions_per_user"`
	Belfry          SessionsPoint `json:"belfry"`
	Raw             SessionsPoint `json:"raw_server"`
}

// SessionsResult is measurement 3.
type SessionsResult struct {
	Users     int             `json:"users"`
	FileLimit string          `json:"file_limit"`
	Sources   string          `json:"client_source_addresses"`
	Levels    []SessionsLevel `json:"levels"`
	// TLS is the first level again over wss:// (Belfry's TLS listener, the
	// raw server behind crypto/tls with the same kind of certificate).
	TLS   *SessionsLevel `json:"wss,omitempty"`
	Error string         `json:"error,omitempty"`
}

// sessionFDMargin is the descriptors kept free besides the sessions'.
const sessionFDMargin = 1000

// settle is how long memory is left to settle after the last session
// connected, before RSS is read.
const settle = 3 * time.Second

// runSessions is measurement 3: RSS per idle websocket session. The users
// are the fan-out run's (each a member of its channels); with more
// sessions than users, each user opens several sessions (distinct
// sessionIds), as a user with several devices would.
//
// On PostgreSQL (pg) it measures the first level only, over ws://, and
// not the raw server again: the SQLite run's is the limit.
func runSessions(ctx context.Context, s *suite, env fanoutEnv, pg bool) (res SessionsResult) {
	name := "sessions"
	if pg {
		name = "sessions-pg"
	}
	res.FileLimit = s.fileLimit
	res.Sources = fmt.Sprintf("127.10.x.y, a new source address every %d connections (IP_BIND_ADDRESS_NO_PORT)", connsPerSource)
	if len(env.users) == 0 {
		res.Error = "no users: the fan-out setup failed"
		return res
	}
	res.Users = len(env.users)
	prev := 0
	counts := s.cfg.sessionCounts
	if pg {
		counts = counts[:1]
	}
	for _, want := range counts {
		if ctx.Err() != nil {
			break
		}
		// The server holds one descriptor per session, the harness one per
		// client: scale a level the open-file limit cannot hold down to
		// what it can.
		n, note := want, ""
		if limit := int(s.nofile) - sessionFDMargin; n > limit {
			n = limit / 1000 * 1000
			note = fmt.Sprintf("scaled from %d to %d: the open-file limit is %d, a hard limit that only a process with CAP_SYS_RESOURCE may raise, and the server needs a descriptor per session", want, n, s.nofile)
		}
		perUser := (n + len(env.users) - 1) / len(env.users)
		lvl := SessionsLevel{Sessions: n, Requested: want, SessionsPerUser: perUser, Note: note}
		if n <= prev {
			lvl.Belfry.Error = "not run: " + note
			lvl.Raw.Error = lvl.Belfry.Error
			res.Levels = append(res.Levels, lvl)
			continue
		}
		prev = n
		if note != "" {
			s.logf("%s: %s", name, note)
		}
		s.logf("%s: %d idle sessions on belfry (%d users, %d each)", name, n, len(env.users), perUser)
		lvl.Belfry = s.belfrySessions(ctx, env, n, perUser, false)
		s.logf("%s: belfry: %.2f KiB per session (RSS %.0f -> %.0f MiB)", name, lvl.Belfry.KiBPerSession, lvl.Belfry.RSSBeforeMiB, lvl.Belfry.RSSAfterMiB)
		if pg {
			res.Levels = append(res.Levels, lvl)
			continue
		}
		s.logf("sessions: %d idle connections on the raw gorilla server", n)
		lvl.Raw = s.rawSessions(ctx, n, false)
		s.logf("sessions: raw: %.2f KiB per connection", lvl.Raw.KiBPerSession)
		res.Levels = append(res.Levels, lvl)
		if res.TLS == nil && ctx.Err() == nil {
			// wss:// is what amazon-chime-sdk-js speaks; the first level
			// again, over TLS.
			t := SessionsLevel{Sessions: n, Requested: n, SessionsPerUser: perUser}
			s.logf("sessions: %d idle wss:// sessions on belfry", n)
			t.Belfry = s.belfrySessions(ctx, env, n, perUser, true)
			s.logf("sessions: belfry wss: %.2f KiB per session (RSS %.0f -> %.0f MiB)", t.Belfry.KiBPerSession, t.Belfry.RSSBeforeMiB, t.Belfry.RSSAfterMiB)
			t.Raw = s.rawSessions(ctx, n, true)
			s.logf("sessions: raw wss: %.2f KiB per connection", t.Raw.KiBPerSession)
			res.TLS = &t
		}
	}
	return res
}

func (s *suite) belfrySessions(ctx context.Context, env fanoutEnv, n, perUser int, useTLS bool) (pt SessionsPoint) {
	pt.Sessions = n
	// Pings every 10 minutes: the clients hold their sockets without
	// reading, and the measurement is of idle sessions.
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: env.dir, tls: useTLS, extra: append([]string{"--ws-ping-interval", "10m", "--max-sessions-per-user", strconv.Itoa(max(perUser, 10))}, env.extra...)})
	if err != nil {
		pt.Error = err.Error()
		return pt
	}
	defer p.Kill()
	time.Sleep(time.Second)
	pid := p.cmd.Process.Pid
	before, err := rssBytes(pid)
	if err != nil {
		pt.Error = err.Error()
		return pt
	}
	goBefore := goRuntimeBytes(p.base())
	conns, took, failed, err := connectAll(ctx, n, 32, func(i int) (string, error) {
		u := i % len(env.users)
		if useTLS {
			return presignConnectTLS(p.tlsAddr, env.users[u], "idle"+strconv.Itoa(i/len(env.users)))
		}
		return presignConnect(p.httpAddr, env.users[u], "idle"+strconv.Itoa(i/len(env.users)))
	})
	defer closeAll(conns)
	if !pt.measure(pid, n, failed, took, err, before) {
		return pt
	}
	goAfter := goRuntimeBytes(p.base())
	if goBefore > 0 && goAfter > 0 {
		pt.GoKiBPerSession = round3(float64(goAfter-goBefore) / float64(pt.Connected) / 1024)
	}
	// Kill the server before closing the clients: its side then holds the
	// TIME_WAIT state, and 50,000 graceful closes would take a while.
	p.Kill()
	return pt
}

func (s *suite) rawSessions(ctx context.Context, n int, useTLS bool) (pt SessionsPoint) {
	pt.Sessions = n
	mode, scheme := "__broadcast", "ws://"
	if useTLS {
		mode, scheme = "__broadcast_tls", "wss://"
	}
	raw, err := startHelper(mode)
	if err != nil {
		pt.Error = err.Error()
		return pt
	}
	defer raw.Kill()
	time.Sleep(500 * time.Millisecond)
	pid := raw.cmd.Process.Pid
	before, err := rssBytes(pid)
	if err != nil {
		pt.Error = err.Error()
		return pt
	}
	conns, took, failed, err := connectAll(ctx, n, 32, func(i int) (string, error) {
		return scheme + raw.addr + "/connect?i=" + strconv.Itoa(i), nil
	})
	defer closeAll(conns)
	if pt.measure(pid, n, failed, took, err, before) {
		raw.Kill()
	}
	return pt
}

// measure records the outcome of connecting n sessions in pt and, when
// any connected, lets the server settle and records its RSS growth per
// session from before (the server's RSS before connecting). It reports
// whether it measured.
func (pt *SessionsPoint) measure(pid, n, failed int, took time.Duration, connectErr error, before int64) bool {
	pt.Connected, pt.ConnectS = n-failed, round1(took.Seconds())
	if connectErr != nil {
		pt.Error = fmt.Sprintf("%d of %d failed to connect: %v", failed, n, connectErr)
	}
	if pt.Connected == 0 {
		return false
	}
	time.Sleep(settle)
	after, err := rssBytes(pid)
	if err != nil {
		pt.Error = err.Error()
		return false
	}
	pt.RSSBeforeMiB, pt.RSSAfterMiB = round1(float64(before)/(1<<20)), round1(float64(after)/(1<<20))
	pt.KiBPerSession = round3(float64(after-before) / float64(pt.Connected) / 1024)
	return true
}

// goRuntimeBytes is heap in use plus stacks in use from belfry's /metrics
// (Prometheus' Go collector), 0 if unavailable.
func goRuntimeBytes(base string) int64 {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var total float64
	found := 0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if v, ok := strings.CutPrefix(line, name); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					total += f
					found++
				}
			}
		}
	}
	if found != 2 {
		return 0
	}
	return int64(total)
}
