package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The elastic measurement: 10,000 users join one elastic channel through
// the REST API (CreateChannelMembership, SigV4-signed, over keep-alive
// connections), from 16 concurrent clients, as an event's audience
// arriving at once would. It is a row of the report's targets table (no
// design target) and its section 6, on both stores.

// ElasticResult is the elastic measurement's outcome.
type ElasticResult struct {
	Members      int     `json:"members"`
	Clients      int     `json:"clients"`
	Config       string  `json:"config"` // MaximumSubChannels x TargetMembershipsPerSubChannel x MinimumMembershipPercentage
	SubChannels  int     `json:"sub_channels"`
	WallS        float64 `json:"wall_s"`
	JoinsPerS    float64 `json:"joins_per_s"`
	MsPerJoin    float64 `json:"ms_per_join"` // wall time / members
	Latency      Latency `json:"latency"`     // of one CreateChannelMembership call
	CountedTotal int     `json:"counted_total"`
	CPU          CPUUse  `json:"cpu"` // over the joins
	Error        string  `json:"error,omitempty"`
}

const elasticClients = 16

// runElastic is the elastic measurement on SQLite or PostgreSQL (pg).
// With the fan-out's store (env: its data dir, store flags and users) it
// reuses those users, which are members of other channels there, and
// creates one more; without, it starts on a new store and creates them.
func runElastic(ctx context.Context, s *suite, pg bool, env fanoutEnv) (res ElasticResult) {
	elasticMembers := s.cfg.elasticMembers
	res.Members, res.Clients, res.Config = elasticMembers, elasticClients, "10x1000x40"
	name, dir := "elastic", filepath.Join(s.work, "elastic")
	var extra []string
	reuse := len(env.users) >= elasticMembers
	if pg {
		name, dir = "elastic-pg", filepath.Join(s.work, "elastic-pg")
	}
	switch {
	case reuse:
		dir, extra = env.dir, env.extra
	case pg:
		u, err := s.pg.database(ctx, "bench_elastic")
		if err != nil {
			res.Error = err.Error()
			return res
		}
		extra = []string{"--store", u}
	}
	p, _, err := startBelfry(ctx, serveOpts{bin: s.belfry, dataDir: dir, extra: extra})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer p.Kill()
	a := newAPI(p.base(), elasticClients)
	var users []string
	if reuse {
		app, _, _ := strings.Cut(env.users[0], "/user/")
		s.logf("%s: the fan-out's users and one more", name)
		extraUser, err := a.createUser(ctx, app, "elastic-extra")
		if err != nil {
			res.Error = "setup: " + err.Error()
			return res
		}
		users = append(append([]string(nil), env.users[:elasticMembers]...), extraUser)
	} else {
		app, err := a.createAppInstance(ctx, "bench-elastic")
		if err != nil {
			res.Error = "setup: " + err.Error()
			return res
		}
		s.logf("%s: creating %d users", name, elasticMembers+1)
		if users, err = a.createUsers(ctx, app, "member", elasticMembers+1, 8); err != nil {
			res.Error = "setup: " + err.Error()
			return res
		}
	}
	app, _, _ := strings.Cut(users[0], "/user/")
	moderator, members := users[0], users[1:]
	var ch struct{ ChannelArn string }
	if err := a.call(ctx, "POST", "/channels", map[string]any{
		"AppInstanceArn": app, "Name": "live", "Mode": "RESTRICTED", "Privacy": "PUBLIC", "ClientRequestToken": token("ch"),
		"ElasticChannelConfiguration": map[string]int{"MaximumSubChannels": 10, "TargetMembershipsPerSubChannel": 1000, "MinimumMembershipPercentage": 40},
	}, moderator, 201, &ch); err != nil {
		res.Error = "setup: " + err.Error()
		return res
	}

	s.logf("%s: %d members join from %d clients", name, elasticMembers, elasticClients)
	cpu := cpuWindow(p.cmd.Process.Pid)
	var (
		h        hist
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	path := channelPath(ch.ChannelArn, "/memberships")
	start := time.Now()
	for range elasticClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(members) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := a.call(ctx, "POST", path, map[string]any{"MemberArn": members[i], "Type": "DEFAULT"}, moderator, 201, nil)
				h.Record(time.Since(t0))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	res.CPU = cpu()
	if firstErr != nil {
		res.Error = "CreateChannelMembership: " + firstErr.Error()
		return res
	}
	res.WallS = round3(wall.Seconds())
	res.JoinsPerS = round3(float64(elasticMembers) / wall.Seconds())
	res.MsPerJoin = round3(float64(wall.Microseconds()) / 1000 / float64(elasticMembers))
	res.Latency = h.Summary()

	// ListSubChannels must account for every member.
	tok := ""
	for {
		q := "?max-results=50"
		if tok != "" {
			q += "&next-token=" + url.QueryEscape(tok)
		}
		var out struct {
			SubChannels []struct{ MembershipCount int }
			NextToken   string
		}
		if err := a.call(ctx, "GET", channelPath(ch.ChannelArn, "/subchannels"+q), nil, moderator, 200, &out); err != nil {
			res.Error = "ListSubChannels: " + err.Error()
			return res
		}
		for _, sc := range out.SubChannels {
			res.SubChannels++
			res.CountedTotal += sc.MembershipCount
		}
		if tok = out.NextToken; tok == "" {
			break
		}
	}
	if res.CountedTotal != elasticMembers {
		res.Error = fmt.Sprintf("ListSubChannels counts %d memberships, want %d", res.CountedTotal, elasticMembers)
	}
	s.logf("%s: %d joins in %.2f s: %.0f joins/s, %.3f ms per join; call p50 %.1f ms p99 %.1f ms; %d sub-channels",
		name, elasticMembers, res.WallS, res.JoinsPerS, res.MsPerJoin, res.Latency.P50ms, res.Latency.P99ms, res.SubChannels)
	return res
}
