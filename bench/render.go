package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The report's sections: each figure of SQLite beside PostgreSQL's, and
// each beside its limit measured in the same run.

// pgOf is the PostgreSQL mode's results, never nil.
func pgOf(r *Results) *PGResults {
	if r.Postgres == nil {
		return &PGResults{}
	}
	return r.Postgres
}

func level64(s *SendsResult) *SendLevel {
	if s == nil {
		return nil
	}
	for i := range s.Levels {
		if s.Levels[i].Clients == 64 {
			return &s.Levels[i]
		}
	}
	return nil
}

// batched is the first multi-row raw insert result.
func batched(rs []SQLiteResult) SQLiteResult {
	for _, q := range rs {
		if q.BatchSize > 1 {
			return q
		}
	}
	return SQLiteResult{}
}

// rawLimit is the raw batched insert of the engine s ran on.
func rawLimit(s *SendsResult) (string, SQLiteResult) {
	if s.Store == "postgres" {
		return "raw PostgreSQL batched insert", batched(s.Postgres)
	}
	return "raw SQLite batched insert", batched(s.SQLite)
}

// budget is the machine budget of the send target: the cores 10,000
// msg/s would take before any of Belfry's own work.
type budget struct {
	loadgenUS, helloUS, rawUS float64 // CPU µs per request or row
	rawName                   string
	cores                     float64
}

const targetRate = 10_000

func machineBudget(s, hello *SendsResult) (budget, bool) {
	l, h := level64(s), level64(hello)
	if l == nil || h == nil || h.Trivial.MsgPerS == 0 {
		return budget{}, false
	}
	name, raw := rawLimit(s)
	if raw.CPUusPerRow == 0 {
		return budget{}, false
	}
	bg := budget{loadgenUS: h.Trivial.HarnessCPUus, helloUS: h.Trivial.ServerCPUus, rawUS: raw.CPUusPerRow, rawName: name}
	bg.cores = round3((bg.loadgenUS + bg.helloUS + bg.rawUS) * targetRate / 1e6)
	return bg, true
}

func (bg budget) String() string {
	return fmt.Sprintf("%.2f cores = (load generator %s µs + hello-world server %s µs + %s %s µs) × 10,000/s",
		bg.cores, msf(bg.loadgenUS), msf(bg.helloUS), strings.TrimPrefix(bg.rawName, "raw "), msf(bg.rawUS))
}

func perSend(l LoadResult) string {
	if l.ServerCPUus == 0 {
		return ""
	}
	s := fmt.Sprintf("%s µs CPU", num(l.ServerCPUus))
	if l.DBCPUus > 0 {
		s += fmt.Sprintf(" + %s µs database", num(l.DBCPUus))
	}
	if l.AllocsPerOp > 0 {
		s += fmt.Sprintf(", %s allocs (%s KiB)", num(l.AllocsPerOp), msf(l.AllocBytesPerOp/1024))
	}
	return s + " a send"
}

func storeName(pg bool) string {
	if pg {
		return "PostgreSQL"
	}
	return "SQLite"
}

func renderTargets(b *md, r *Results) {
	b.p("## Targets")
	b.p("")
	var t md
	renderTargetRows(&t, r)
	rows := t.String()
	count := func(store string) (int, int) {
		var m, n int
		for _, l := range strings.Split(rows, "\n") {
			if !strings.Contains(l, "| "+store+" |") && !strings.Contains(l, "| "+store+", ") {
				continue
			}
			if strings.HasSuffix(l, "| **met** |") {
				m++
			}
			if strings.HasSuffix(l, "| **not met** |") {
				n++
			}
		}
		return m, n
	}
	sm, sn := count("SQLite")
	line := fmt.Sprintf("SQLite: %d of %d targets met in this run.", sm, sm+sn)
	if pg := pgOf(r); pg.Absent == "" {
		pm, pn := count("PostgreSQL")
		line += fmt.Sprintf(" PostgreSQL: %d of %d.", pm, pm+pn)
	} else {
		line += " PostgreSQL: " + pg.Absent + "."
	}
	b.p("%s", line)
	b.p("")
	b.header("what", "target", "store", "Belfry", "limit, same run", "Belfry ÷ limit", "status")
	b.WriteString(rows)
	b.p("")
	b.p("\"fits\" / \"does not fit\": whether the machine could carry the target at all once the load generator, a hello-world")
	b.p("server and the raw inserts take their share (see \"Machine budget\" under 1); a figure without a design target is \"reported\".")
	b.p("")
}

func renderTargetRows(b *md, r *Results) {
	pg := pgOf(r)
	type sendRun struct {
		store string
		s     *SendsResult
	}
	runs := []sendRun{{"SQLite", r.Sends}, {"PostgreSQL", pg.Sends}}
	for _, x := range runs {
		if x.s == nil {
			continue
		}
		lvl, hello := level64(x.s), level64(r.Sends)
		rawName, raw := rawLimit(x.s)
		if lvl == nil || hello == nil {
			b.row("durable SendChannelMessage, SigV4, 64 clients", "≥ 10,000 msg/s, p99 ≤ 20 ms", x.store, "–", "–", "–", met(false, false))
			continue
		}
		b.row("durable SendChannelMessage, SigV4, 64 clients: throughput", "≥ 10,000 msg/s", x.store,
			num(lvl.Belfry.MsgPerS)+" msg/s; "+perSend(lvl.Belfry),
			fmt.Sprintf("hello-world handler %s req/s; %s %s rows/s", num(hello.Trivial.MsgPerS), rawName, num(raw.RowsPerS)),
			fmt.Sprintf("%s; %s", ratioStr(ratio(lvl.Belfry.MsgPerS, hello.Trivial.MsgPerS)), ratioStr(ratio(lvl.Belfry.MsgPerS, raw.RowsPerS))),
			met(lvl.Belfry.MsgPerS >= 10_000, lvl.Belfry.Latency.Count > 0))
		b.row("durable SendChannelMessage, SigV4, 64 clients: latency", "p99 ≤ 20 ms", x.store,
			"p99 "+msf(lvl.Belfry.Latency.P99ms)+" ms", "hello-world handler p99 "+msf(hello.Trivial.Latency.P99ms)+" ms",
			ratioStr(ratio(lvl.Belfry.Latency.P99ms, hello.Trivial.Latency.P99ms)),
			met(lvl.Belfry.Latency.P99ms <= 20, lvl.Belfry.Latency.Count > 0))
		if bg, ok := machineBudget(x.s, r.Sends); ok {
			status := "**fits**"
			if bg.cores > float64(r.Machine.Cores) {
				status = "**does not fit**: the machine stops the target"
			}
			b.row("machine budget for 10,000 msg/s, before any of Belfry's work", fmt.Sprintf("≤ %d cores", r.Machine.Cores), x.store,
				bg.String(), fmt.Sprintf("%d cores available", r.Machine.Cores), ratioStr(bg.cores/float64(max(1, r.Machine.Cores))), status)
		}
	}

	if f := r.Fanout; f != nil {
		type srv struct {
			store string
			s     *FanoutServer
		}
		servers := []srv{{"SQLite", &f.Belfry}}
		if pf := pg.Fanout; pf != nil {
			servers = append(servers, srv{"PostgreSQL", &pf.Belfry})
			if pf.TwoNodes != nil {
				servers = append(servers, srv{"PostgreSQL, 2 nodes + NATS", pf.TwoNodes})
			}
		}
		for _, x := range servers {
			bs, rs := x.s.Saturated, f.Raw.Saturated
			if bs != nil && rs != nil {
				rt := ratio(bs.DeliveriesPS, rs.DeliveriesPS)
				b.row(fmt.Sprintf("fan-out, 1 channel × %s connected members", num(float64(f.Members))), "≥ 0.9 × raw deliveries/s", x.store,
					num(bs.DeliveriesPS)+" deliveries/s", "bare gorilla broadcast "+num(rs.DeliveriesPS)+" deliveries/s",
					ratioStr(rt), met(rt >= 0.9, true))
			} else {
				b.row("fan-out", "≥ 0.9 × raw deliveries/s", x.store, "–", "–", "–", met(false, false))
			}
		}
		for _, x := range servers {
			if bg, rg := x.s.Groups, f.Raw.Groups; bg != nil && rg != nil {
				rt := ratio(bg.DeliveriesPS, rg.DeliveriesPS)
				b.row(fmt.Sprintf("fan-out, %d channels × %s connected members", bg.Groups, num(float64(bg.Members))), "≥ 0.9 × raw deliveries/s", x.store,
					num(bg.DeliveriesPS)+" deliveries/s", "bare gorilla broadcast "+num(rg.DeliveriesPS)+" deliveries/s",
					ratioStr(rt), met(rt >= 0.9, true))
			}
		}
		for _, x := range servers {
			bl, rl := x.s.SmallLatency, f.Raw.SmallLatency
			if bl != nil && rl != nil {
				b.row(fmt.Sprintf("fan-out latency, %s members at %g msg/s", num(float64(f.SmallMembers)), f.SmallRate), "p99 send→receive ≤ 30 ms", x.store,
					"p99 "+msf(bl.Latency.P99ms)+" ms", "bare gorilla broadcast p99 "+msf(rl.Latency.P99ms)+" ms",
					ratioStr(ratio(bl.Latency.P99ms, rl.Latency.P99ms)), met(bl.Latency.P99ms <= 30 && bl.Latency.Count > 0, true))
			}
		}
	}
	if s := r.Sessions; s != nil && len(s.Levels) > 0 {
		l := s.Levels[0]
		b.row(fmt.Sprintf("websocket session memory at %s sessions", num(float64(l.Sessions))), "≤ 14 KiB RSS each", "SQLite",
			msf(l.Belfry.KiBPerSession)+" KiB", "bare gorilla server "+msf(l.Raw.KiBPerSession)+" KiB",
			ratioStr(ratio(l.Belfry.KiBPerSession, l.Raw.KiBPerSession)),
			met(l.Belfry.KiBPerSession <= 14 && l.Belfry.Connected > 0, l.Belfry.Connected > 0))
		if ps := pg.Sessions; ps != nil && len(ps.Levels) > 0 {
			p := ps.Levels[0]
			b.row(fmt.Sprintf("websocket session memory at %s sessions", num(float64(p.Sessions))), "≤ 14 KiB RSS each", "PostgreSQL",
				msf(p.Belfry.KiBPerSession)+" KiB", "bare gorilla server "+msf(l.Raw.KiBPerSession)+" KiB",
				ratioStr(ratio(p.Belfry.KiBPerSession, l.Raw.KiBPerSession)),
				met(p.Belfry.KiBPerSession <= 14 && p.Belfry.Connected > 0, p.Belfry.Connected > 0))
		}
		if t := s.TLS; t != nil {
			b.row(fmt.Sprintf("wss:// session memory at %s sessions", num(float64(t.Sessions))), "≤ 20 KiB RSS each", "SQLite",
				msf(t.Belfry.KiBPerSession)+" KiB", "bare gorilla server behind crypto/tls "+msf(t.Raw.KiBPerSession)+" KiB",
				ratioStr(ratio(t.Belfry.KiBPerSession, t.Raw.KiBPerSession)),
				met(t.Belfry.KiBPerSession <= 20 && t.Belfry.Connected > 0, t.Belfry.Connected > 0))
		}
	}
	for i, h := range []*HistoryResult{r.History, pg.History} {
		if h == nil || len(h.Points) == 0 {
			continue
		}
		var worst, worstRaw float64
		var where string
		for _, p := range h.Points {
			if p.Belfry.P99ms > worst {
				worst, worstRaw, where = p.Belfry.P99ms, p.Raw.P99ms, p.Order+" at depth "+p.Depth
			}
		}
		b.row(fmt.Sprintf("ListChannelMessages, page of 50, channel of %s messages", humanCount(h.Messages)), "p99 ≤ 5 ms", storeName(i == 1),
			"worst p99 "+msf(worst)+" ms ("+strings.ToLower(where)+")", "raw keyset read p99 "+msf(worstRaw)+" ms",
			ratioStr(ratio(worst, worstRaw)), met(worst <= 5, worst > 0))
	}
	for i, s := range []*StartupResult{r.Startup, pg.Startup} {
		if s == nil {
			continue
		}
		for _, p := range s.Points {
			b.row("cold start to ready (/healthz 200), "+p.DataDir, "≤ 200 ms", storeName(i == 1), "median "+msf(p.MedianMs)+" ms", "–", "–", met(p.MedianMs <= 200, p.Runs > 0))
		}
	}
	for i, e := range []*ElasticResult{r.Elastic, pg.Elastic} {
		if e == nil {
			continue
		}
		val := "–"
		if e.Error == "" {
			val = fmt.Sprintf("%s joins/s (%s ms a join; one call p99 %s ms)", num(e.JoinsPerS), msf(e.MsPerJoin), msf(e.Latency.P99ms))
		}
		b.row(fmt.Sprintf("elastic channel, %s members join (%d clients)", num(float64(e.Members)), e.Clients), "none in the design", storeName(i == 1),
			val, "–", "–", "reported")
	}
	for i, p := range []*PushResult{r.Push, pg.Push} {
		if p == nil {
			continue
		}
		val := "–"
		if p.Error == "" {
			val = fmt.Sprintf("%s deliveries/s end to end; sends %s msg/s", num(p.DeliveriesPerS), num(p.WithPush.MsgPerS))
		}
		b.row(fmt.Sprintf("push + stream delivery, %d endpoints a message, %d clients", p.Members, p.Clients), "none in the design", storeName(i == 1),
			val, "plain sends, same clients, "+num(p.Plain.MsgPerS)+" msg/s", ratioStr(ratio(p.WithPush.MsgPerS, p.Plain.MsgPerS)), "reported")
	}
}

func renderSends(b *md, r *Results) {
	s := r.Sends
	if s == nil {
		return
	}
	pg := pgOf(r)
	b.p("## 1. Durable sends")
	b.p("")
	b.p("N clients, each on its own keep-alive connection, each signing (SigV4) and sending `SendChannelMessage`")
	b.p("(PERSISTENT, ~100-byte content, a fresh ClientRequestToken) as a distinct channel member, into one channel, as fast as")
	b.p("answers come back (closed loop), for %s after a %s warm-up, against belfry on SQLite and then on PostgreSQL. The", s.Duration, s.Warmup)
	b.p("limit is the same clients, same signing and same bodies against a hello-world `net/http` handler in its own process")
	b.p("(measured once, in the SQLite run), and raw inserts of message-shaped rows into the same engine on the same disk.")
	b.p("")
	for _, x := range []*SendsResult{s, pg.Sends} {
		if x != nil && x.Error != "" {
			b.p("**Error (%s):** `%s`", storeName(x.Store == "postgres"), oneLine(x.Error))
			b.p("")
		}
	}
	b.header("clients", "store", "Belfry msg/s", "p50 ms", "p99 ms", "p99.9 ms", "per send: server CPU µs / allocs / KiB", "CPU cores: Belfry / harness / database / other",
		"hello-world req/s", "p99 ms", "CPU cores: hello-world / harness / other", "Belfry ÷ hello-world", "Belfry ÷ raw batched", "errors")
	for i, l := range s.Levels {
		for _, x := range []*SendsResult{s, pg.Sends} {
			if x == nil || i >= len(x.Levels) {
				continue
			}
			bl := x.Levels[i].Belfry
			_, raw := rawLimit(x)
			hello := l.Trivial
			b.row(strconv.Itoa(l.Clients), storeName(x.Store == "postgres"), num(bl.MsgPerS), msf(bl.Latency.P50ms), msf(bl.Latency.P99ms), msf(bl.Latency.P999ms),
				fmt.Sprintf("%s / %s / %s", num(bl.ServerCPUus), num(bl.AllocsPerOp), msf(bl.AllocBytesPerOp/1024)),
				fmt.Sprintf("%.2f / %.2f / %.2f / %.2f%s", bl.CPU.Server, bl.CPU.Harness, bl.CPU.DB, bl.CPU.Other, warnOther(bl.CPU)),
				num(hello.MsgPerS), msf(hello.Latency.P99ms), cpuStr(hello.CPU, true),
				ratioStr(ratio(bl.MsgPerS, hello.MsgPerS)), ratioStr(ratio(bl.MsgPerS, raw.RowsPerS)),
				strconv.FormatInt(bl.Errors+hello.Errors, 10))
		}
	}
	b.p("")
	b.p("Per send: the server's CPU time (user + system, `/proc/<pid>/stat`) over the measured window ÷ the sends in it, and the")
	b.p("heap allocations of its Go runtime (the delta of `go_memstats_mallocs_total` and `go_memstats_alloc_bytes_total` on its")
	b.p("`/metrics`) ÷ the same sends. CPU cores: the server's, the harness's (the load generator's), the PostgreSQL cluster's")
	b.p("processes (PostgreSQL with the harness's own cluster only) and the rest of the machine's busy time (`/proc/stat`: other")
	b.p("processes, and interrupt work charged to none); %d.00 is the whole machine. A figure whose \"other\" is marked ⚠ shared", r.Machine.Cores)
	b.p("the machine with something else and reads low.")
	b.p("")
	for _, q := range s.SQLite {
		b.p("%s", rawLine("Raw SQLite insert, %d row(s) per transaction (WAL, synchronous=NORMAL, message-shaped rows with a unique random id and the history index; in the harness's process)", q))
	}
	if pg.Sends != nil {
		for _, q := range pg.Sends.Postgres {
			how := "%d rows per transaction (one pipelined pgx.Batch and its commit)"
			if q.BatchSize == 1 {
				how = "%d row per transaction (autocommit)"
			}
			b.p("%s", rawLine("Raw PostgreSQL insert through pgx, one connection, the same table and index, "+how, q))
		}
	}
	if pg.Sends != nil {
		for _, l := range pg.Sends.Levels {
			if l.PGCommits > 0 && l.Belfry.Answered > 0 {
				b.p("- PostgreSQL, %d clients: %s database transactions for %s sends over the level, warm-up included: **%s a send** (%s committed, %s rolled back; `pg_stat_database`: the sends' own, read-only ones that end in a rollback, those retried after a serialization failure — the store runs SERIALIZABLE — and belfry's background work meanwhile).",
					l.Clients, num(float64(l.PGCommits+l.PGRollbacks)), num(float64(l.Belfry.Answered)),
					strconv.FormatFloat(float64(l.PGCommits+l.PGRollbacks)/float64(l.Belfry.Answered), 'f', 2, 64), num(float64(l.PGCommits)), num(float64(l.PGRollbacks)))
			}
		}
	}
	for _, x := range []*SendsResult{s, pg.Sends} {
		if x == nil {
			continue
		}
		for _, l := range x.Levels {
			if l.Belfry.FirstErr != "" {
				b.p("- %s, %d clients, first Belfry error: `%s`", storeName(x.Store == "postgres"), l.Clients, oneLine(l.Belfry.FirstErr))
			}
		}
	}
	b.p("")
	b.p("### Machine budget")
	b.p("")
	b.p("What %s durable msg/s would cost this machine before any of Belfry's own work: the load generator's CPU per request", num(targetRate))
	b.p("(the harness driving the hello-world handler at 64 clients), the hello-world server's CPU per request (HTTP parsing and")
	b.p("answering, no Belfry code), and the raw batched insert's CPU per row (for PostgreSQL, the pgx client's and the server's")
	b.p("processes'), each × %s. Above the %d cores there are, the machine's limit stops the target whatever Belfry does.", num(targetRate), r.Machine.Cores)
	b.p("")
	for _, x := range []*SendsResult{s, pg.Sends} {
		if x == nil {
			continue
		}
		if bg, ok := machineBudget(x, s); ok {
			b.p("- %s: **%s**, against %d cores.", storeName(x.Store == "postgres"), bg, r.Machine.Cores)
			if l := level64(x); l != nil && l.Belfry.ServerCPUus > 0 {
				own := (bg.loadgenUS + l.Belfry.ServerCPUus + l.Belfry.DBCPUus) * targetRate / 1e6
				verdict := "within the machine"
				if own > float64(r.Machine.Cores) {
					verdict = fmt.Sprintf("more than the machine has: at this CPU per send, %d cores carry at most %s msg/s",
						r.Machine.Cores, num(float64(r.Machine.Cores)*1e6/(bg.loadgenUS+l.Belfry.ServerCPUus+l.Belfry.DBCPUus)))
				}
				b.p("  With Belfry as measured at 64 clients in place of the hello-world server and the raw insert: (load generator %s µs +", msf(bg.loadgenUS))
				b.p("  Belfry %s µs%s) × 10,000/s = **%.2f cores**, %s.", msf(l.Belfry.ServerCPUus), dbPart(l.Belfry.DBCPUus), own, verdict)
			}
		}
	}
	b.p("")
}

func dbPart(us float64) string {
	if us == 0 {
		return ""
	}
	return " + database " + msf(us) + " µs"
}

func warnOther(u CPUUse) string {
	if u.Other > 0.25 {
		return " ⚠"
	}
	return ""
}

func rawLine(format string, q SQLiteResult) string {
	line := "- " + fmt.Sprintf(format, q.BatchSize) + fmt.Sprintf(": **%s rows/s**", num(q.RowsPerS))
	if q.CPUusPerRow > 0 {
		line += fmt.Sprintf(", %s µs CPU a row (inserting process %.2f cores", msf(q.CPUusPerRow), q.CPU.Harness)
		if q.CPU.DB > 0 {
			line += fmt.Sprintf(", database %.2f", q.CPU.DB)
		}
		line += ")"
	}
	if q.Error != "" {
		line += " (error: `" + oneLine(q.Error) + "`)"
	}
	return line
}

func renderFanout(b *md, r *Results) {
	f := r.Fanout
	if f == nil {
		return
	}
	pf := pgOf(r).Fanout
	b.p("## 2. Fan-out")
	b.p("")
	b.p("One channel of %s members (distinct AppInstanceUsers, added with BatchCreateChannelMembership), every one", num(float64(f.Members)))
	b.p("connected over a presigned websocket (`ws://`, the plain listener); one member sends. Each message's Content carries")
	b.p("its send time; the receivers (goroutines of the harness, on the same 2 cores) take the latency from it. The limit is a")
	b.p("bare gorilla/websocket broadcast server in its own process (chat-example shape: a reader and a writer goroutine per")
	b.p("connection, the frame prepared once with `PreparedMessage`) sending byte-for-byte the frame Belfry sent to as many")
	b.p("connections, triggered by an unsigned HTTP POST per message.")
	b.p("")
	b.p("- **saturated**: message i is sent once message i−%d has reached every member: the most deliveries/s the server and", f.Window)
	b.p("  the receivers sustain, with queues bounded. Measured for %s. The window is deep enough that the durable send in", f.Duration)
	b.p("  front of each of Belfry's messages (SigV4, a committed transaction) is not what limits it: with a window of 4, messages/s")
	b.p("  × the send's latency came to about the window itself, so the figure measured the send's latency, not the fan-out.")
	b.p("- **steady**: an open-loop %g msg/s (half Belfry's saturated rate on SQLite) to Belfry on SQLite and the raw server.", f.SteadyRate)
	b.p("- **small channel**: %s of the members in a second channel, %g msg/s (the design's latency target).", num(float64(f.SmallMembers)), f.SmallRate)
	if f.Groups > 0 {
		b.p("- **many channels**: the members split into %d channels of %d, each with its own sender (its first member; the raw", f.Groups, f.GroupSize)
		b.p("  server gets one POST per message for those %d connections), all at once, each channel's message i sent once its", f.GroupSize)
		b.p("  message i−%d has reached all of that channel's members. Belfry's figure includes a durable send per %d deliveries.", f.GroupWindow, f.GroupSize)
	}
	if pf != nil {
		b.p("- **PostgreSQL**: the same phases but the steady one against belfry on a PostgreSQL database; **2 nodes**: two belfry")
		b.p("  nodes on that database and one NATS (`--bus nats://…`, an embedded nats-server with JetStream in a child process of")
		b.p("  the harness), every member's websocket on node 2, every send through node 1: each delivery crosses the bus. Its CPU")
		b.p("  column is both nodes' and NATS's together. Both are compared with the SQLite run's raw broadcast.")
	}
	b.p("")
	for _, e := range []struct{ name, err string }{{"SQLite", f.Error}, {"PostgreSQL", pfErr(pf)}} {
		if e.err != "" {
			b.p("**Error (%s):** `%s`", e.name, oneLine(e.err))
			b.p("")
		}
	}
	type srv struct {
		name string
		s    *FanoutServer
		raw  bool
	}
	servers := []srv{{"Belfry, SQLite", &f.Belfry, false}}
	if pf != nil {
		servers = append(servers, srv{"Belfry, PostgreSQL", &pf.Belfry, false})
		if pf.TwoNodes != nil {
			servers = append(servers, srv{"2 nodes, PostgreSQL + NATS", pf.TwoNodes, false})
		}
	}
	servers = append(servers, srv{"raw broadcast", &f.Raw, true})
	b.header("phase", "server", "messages/s", "deliveries/s", "p50 ms", "p99 ms", "p99.9 ms", "delivered", "CPU cores: server / harness / database / other", "Belfry ÷ raw")
	phases := []struct {
		name string
		get  func(*FanoutServer) *PhaseResult
	}{
		{"saturated", func(x *FanoutServer) *PhaseResult { return x.Saturated }},
		{"steady", func(x *FanoutServer) *PhaseResult { return x.Steady }},
		{"small channel", func(x *FanoutServer) *PhaseResult { return x.SmallLatency }},
		{"many channels", func(x *FanoutServer) *PhaseResult { return x.Groups }},
	}
	for _, ph := range phases {
		rawPh := ph.get(&f.Raw)
		for _, sv := range servers {
			x := ph.get(sv.s)
			if x == nil {
				continue
			}
			cmp := ""
			if !sv.raw && rawPh != nil {
				cmp = "deliveries " + ratioStr(ratio(x.DeliveriesPS, rawPh.DeliveriesPS)) + ", p99 " + ratioStr(ratio(x.Latency.P99ms, rawPh.Latency.P99ms))
			}
			label := fmt.Sprintf("%s (%s members, %s)", ph.name, num(float64(x.Members)), x.Mode)
			if x.Groups > 0 {
				label = fmt.Sprintf("%s (%d channels × %s members, %s)", ph.name, x.Groups, num(float64(x.Members)), x.Mode)
			}
			b.row(label, sv.name, strconv.FormatFloat(x.MsgPerS, 'f', 1, 64), num(x.DeliveriesPS),
				msf(x.Latency.P50ms), msf(x.Latency.P99ms), msf(x.Latency.P999ms), strconv.FormatFloat(x.DeliveryRatio*100, 'f', 1, 64)+" %",
				fmt.Sprintf("%.2f / %.2f / %.2f / %.2f%s", x.CPU.Server, x.CPU.Harness, x.CPU.DB, x.CPU.Other, warnOther(x.CPU)), cmp)
		}
	}
	b.p("")
	for _, sv := range servers {
		x := sv.s
		line := fmt.Sprintf("- %s: %s sessions connected in %.1f s (%s/s, %d failed)", sv.name, num(float64(x.Sessions)), x.ConnectS, num(x.ConnectPerS), x.ConnectFailed)
		if x.FrameBytes > 0 {
			line += fmt.Sprintf("; frame %d bytes", x.FrameBytes)
		}
		if x.ServerDropped > 0 {
			line += fmt.Sprintf("; %d frames dropped on full queues", x.ServerDropped)
		}
		if x.Error != "" {
			line += "; error: `" + oneLine(x.Error) + "`"
		}
		b.p("%s", line)
		for _, ph := range []*PhaseResult{x.Saturated, x.Steady, x.SmallLatency, x.Groups} {
			if ph != nil && (ph.SendErrors > 0 || ph.Incomplete > 0) {
				b.p("  - %s: %d send errors, %d messages not delivered to every member%s", ph.Mode, ph.SendErrors, ph.Incomplete, firstErrSuffix(ph.FirstErr))
			}
		}
	}
	b.p("- Setup (users, memberships) took %.1f s through the API on SQLite%s.", f.SetupS, func() string {
		if pf != nil {
			return fmt.Sprintf(", %.1f s on PostgreSQL", pf.SetupS)
		}
		return ""
	}())
	b.p("")
}

func pfErr(f *FanoutResult) string {
	if f == nil {
		return ""
	}
	return f.Error
}

func firstErrSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "; first: `" + oneLine(s) + "`"
}

func renderSessions(b *md, r *Results) {
	s := r.Sessions
	if s == nil {
		return
	}
	ps := pgOf(r).Sessions
	b.p("## 3. Idle sessions")
	b.p("")
	b.p("RSS (`VmRSS` of `/proc/<pid>/status`) of the server process before and %s after opening N idle, established", settle)
	b.p("sessions; per session = delta ÷ N. Belfry runs with `--ws-ping-interval 10m` (the clients hold their sockets without")
	b.p("reading). The users are the fan-out run's %s members, so above %s sessions each user has several sessions", num(float64(s.Users)), num(float64(s.Users)))
	b.p("(distinct sessionIds, like several devices). \"Go runtime\" is the same delta of heap-in-use + stacks-in-use from")
	b.p("Belfry's `/metrics`. The limit is the bare gorilla server of the fan-out with default buffers.")
	if s.TLS != nil {
		b.p("The wss:// row is the first level again over TLS: Belfry's TLS listener (its local CA's ECDSA P-256 certificate), and the")
		b.p("same bare gorilla server behind `crypto/tls` with a self-signed ECDSA P-256 certificate.")
	}
	if ps != nil {
		b.p("The PostgreSQL row is the first level on belfry with the PostgreSQL fan-out run's database (the raw server is not")
		b.p("measured again).")
	}
	b.p("Client side: %s; %s.", s.Sources, s.FileLimit)
	b.p("")
	for _, x := range []*SessionsResult{s, ps} {
		if x != nil && x.Error != "" {
			b.p("**Error:** `%s`", oneLine(x.Error))
			b.p("")
		}
	}
	b.header("sessions", "store", "per user", "Belfry KiB/session (RSS)", "Go runtime KiB/session", "Belfry RSS MiB", "raw KiB/connection (RSS)", "raw RSS MiB", "Belfry ÷ raw", "connect time Belfry / raw")
	type lv struct {
		name, store string
		l, raw      SessionsLevel
	}
	var levels []lv
	for _, l := range s.Levels {
		levels = append(levels, lv{num(float64(l.Sessions)), "SQLite", l, l})
	}
	if ps != nil && len(ps.Levels) > 0 && len(s.Levels) > 0 {
		levels = append(levels, lv{num(float64(ps.Levels[0].Sessions)), "PostgreSQL", ps.Levels[0], s.Levels[0]})
	}
	if s.TLS != nil {
		levels = append(levels, lv{num(float64(s.TLS.Sessions)) + " over wss://", "SQLite", *s.TLS, *s.TLS})
	}
	for _, x := range levels {
		l, raw := x.l, x.raw
		b.row(x.name, x.store, strconv.Itoa(l.SessionsPerUser), msf(l.Belfry.KiBPerSession), msf(l.Belfry.GoKiBPerSession),
			fmt.Sprintf("%.0f → %.0f", l.Belfry.RSSBeforeMiB, l.Belfry.RSSAfterMiB), msf(raw.Raw.KiBPerSession),
			fmt.Sprintf("%.0f → %.0f", raw.Raw.RSSBeforeMiB, raw.Raw.RSSAfterMiB), ratioStr(ratio(l.Belfry.KiBPerSession, raw.Raw.KiBPerSession)),
			fmt.Sprintf("%.1f s / %.1f s", l.Belfry.ConnectS, raw.Raw.ConnectS))
	}
	b.p("")
	for _, x := range levels {
		l := x.l
		if l.Note != "" && l.Belfry.Error == "" {
			b.p("- **%s sessions were asked for and %s measured**: %s.", num(float64(l.Requested)), num(float64(l.Sessions)), l.Note)
		}
		if l.Belfry.Error != "" {
			b.p("- %s sessions, Belfry on %s: `%s`", num(float64(l.Sessions)), x.store, oneLine(l.Belfry.Error))
		}
		if l.Raw.Error != "" {
			b.p("- %s sessions, raw: `%s`", num(float64(l.Sessions)), oneLine(l.Raw.Error))
		}
	}
	b.p("")
}

func renderHistory(b *md, r *Results) {
	h := r.History
	if h == nil {
		return
	}
	ph := pgOf(r).History
	b.p("## 4. History")
	b.p("")
	b.p("One channel of %s messages, one a millisecond, ~100-byte contents, random 256-bit ids, seeded with belfry stopped", num(float64(h.Messages)))
	b.p("(SQLite: %.1f s, a %.0f MiB database; seeded by %s).", h.SeedS, h.DBMiB, h.Seed)
	if ph != nil {
		b.p("PostgreSQL: the same messages in a database of its own (%.1f s, %.0f MiB; seeded by %s).", ph.SeedS, ph.DBMiB, ph.Seed)
	}
	b.p("Then signed `ListChannelMessages` calls as a member that did not send them, MaxResults 50, one client, %d timed calls", h.Calls)
	b.p("per point after %d warm-up calls. Depth is the position of the page's first message from the start of the order", h.Calls/10)
	b.p("(oldest for ASCENDING, newest for DESCENDING), reached with a NotBefore/NotAfter bound. The limit is the same keyset")
	b.p("range read straight from the database (SQLite: `database/sql`, modernc SQLite; PostgreSQL: pgx; no Belfry code).")
	b.p("A point measured while other processes kept more than a quarter of a core busy is measured again, twice at most,")
	b.p("and the quietest attempt is kept.")
	b.p("")
	for _, x := range []*HistoryResult{h, ph} {
		if x != nil && x.Error != "" {
			b.p("**Error:** `%s`", oneLine(x.Error))
			b.p("")
		}
	}
	b.header("sort order", "depth", "store", "Belfry p50 ms", "Belfry p99 ms", "raw p50 ms", "raw p99 ms", "Belfry ÷ raw (p99)", "CPU cores: Belfry / harness / database / other", "p99 ≤ 5 ms")
	for i, p := range h.Points {
		for j, x := range []*HistoryResult{h, ph} {
			if x == nil || i >= len(x.Points) {
				continue
			}
			p = x.Points[i]
			b.row(p.Order, p.Depth, storeName(j == 1), msf(p.Belfry.P50ms), msf(p.Belfry.P99ms), msf(p.Raw.P50ms), msf(p.Raw.P99ms),
				ratioStr(ratio(p.Belfry.P99ms, p.Raw.P99ms)), fmt.Sprintf("%.2f / %.2f / %.2f / %.2f%s", p.CPU.Server, p.CPU.Harness, p.CPU.DB, p.CPU.Other, warnOther(p.CPU)),
				met(p.Belfry.P99ms <= 5, p.Belfry.Count > 0))
		}
	}
	b.p("")
	for j, x := range []*HistoryResult{h, ph} {
		if x == nil {
			continue
		}
		for _, p := range x.Points {
			if p.FirstErr != "" {
				b.p("- %s, %s depth %s: %d errors, first `%s`", storeName(j == 1), p.Order, p.Depth, p.Errors, oneLine(p.FirstErr))
			}
		}
	}
	b.p("")
}

func renderStartup(b *md, r *Results) {
	s := r.Startup
	if s == nil {
		return
	}
	b.p("## 5. Start-up")
	b.p("")
	b.p("Time from exec of `belfry serve` (TLS listener on, as by default) to the first `/healthz` 200, polled every")
	b.p("millisecond. The empty data dir is new for each run, so it includes creating the schema and the local CA; on")
	b.p("PostgreSQL the database is new for each run too (migrated by belfry), and the full one is the history run's.")
	b.p("")
	b.header("data dir", "store", "runs", "median ms", "min ms", "max ms", "≤ 200 ms")
	for i, x := range []*StartupResult{s, pgOf(r).Startup} {
		if x == nil {
			continue
		}
		for _, p := range x.Points {
			b.row(p.DataDir, storeName(i == 1), strconv.Itoa(p.Runs), msf(p.MedianMs), msf(p.MinMs), msf(p.MaxMs), met(p.MedianMs <= 200, p.Runs > 0))
		}
	}
	for i, x := range []*StartupResult{s, pgOf(r).Startup} {
		if x == nil {
			continue
		}
		for _, p := range x.Points {
			if p.Error != "" {
				b.p("")
				b.p("- %s, %s: `%s`", storeName(i == 1), p.DataDir, oneLine(p.Error))
			}
		}
	}
	b.p("")
}

func renderElastic(b *md, r *Results) {
	e := r.Elastic
	pe := pgOf(r).Elastic
	if e == nil && pe == nil {
		return
	}
	b.p("## 6. Elastic channel joins")
	b.p("")
	b.p("N AppInstanceUsers join one elastic channel (MaximumSubChannels × TargetMembershipsPerSubChannel ×")
	b.p("MinimumMembershipPercentage as below), each with its own signed CreateChannelMembership, from %d concurrent clients on", elasticClients)
	b.p("keep-alive connections, as an audience arriving at once would; then ListSubChannels must count every member. The")
	b.p("users are the fan-out's (members of its channels on the same store) and one more; with `-only elastic`, new ones.")
	b.p("")
	b.header("store", "members", "configuration", "wall s", "joins/s", "ms a join (wall ÷ N)", "one call p50 ms", "p99 ms", "sub-channels", "CPU cores: Belfry / harness / database / other", "error")
	for i, x := range []*ElasticResult{e, pe} {
		if x == nil {
			continue
		}
		b.row(storeName(i == 1), num(float64(x.Members)), x.Config, msf(x.WallS), num(x.JoinsPerS), msf(x.MsPerJoin), msf(x.Latency.P50ms), msf(x.Latency.P99ms),
			strconv.Itoa(x.SubChannels), fmt.Sprintf("%.2f / %.2f / %.2f / %.2f%s", x.CPU.Server, x.CPU.Harness, x.CPU.DB, x.CPU.Other, warnOther(x.CPU)), oneLine(x.Error))
	}
	b.p("")
}

func renderPush(b *md, r *Results) {
	p := r.Push
	pp := pgOf(r).Push
	if p == nil && pp == nil {
		return
	}
	first := p
	if first == nil {
		first = pp
	}
	b.p("## 7. Push notifications and streaming, delivered")
	b.p("")
	b.p("A channel of %d members with one APNS endpoint each, plus %d senders without one; %d clients send (closed loop, %s", first.Members, first.Clients, first.Clients, first.Duration)
	b.p("after a warm-up) first plain messages, then, once the app instance streams channel messages, messages with a")
	b.p("PushNotification: each owes %d pushes and one streaming record. Both sinks are one local webhook receiver in its own", first.Members)
	b.p("process (belfry's `--push-webhook` and `--stream-webhook`, signed with `--delivery-webhook-secret`), answering 204 at")
	b.p("once. Deliveries/s is end to end: pushes + records received ÷ the time from the phase's first send to the last one")
	b.p("received, after belfry's delivery queue drained (or a minute). Send→push latency from the marker in each push's Body.")
	b.p("")
	b.header("store", "plain sends msg/s", "p99 ms", "sends with push msg/s", "p99 ms", "per send with push: CPU µs / allocs", "pushes received / owed", "records received / owed", "deliveries/s end to end", "drained after last send", "send→push p50 / p99 ms", "error")
	for i, x := range []*PushResult{p, pp} {
		if x == nil {
			continue
		}
		b.row(storeName(i == 1), num(x.Plain.MsgPerS), msf(x.Plain.Latency.P99ms), num(x.WithPush.MsgPerS), msf(x.WithPush.Latency.P99ms),
			fmt.Sprintf("%s / %s", num(x.WithPush.ServerCPUus), num(x.WithPush.AllocsPerOp)),
			fmt.Sprintf("%s / %s", num(float64(x.Pushes)), num(float64(x.WantPushes))), fmt.Sprintf("%s / %s", num(float64(x.Records)), num(float64(x.WantRecords))),
			num(x.DeliveriesPerS), msf(x.DrainS)+" s", msf(x.Latency.P50ms)+" / "+msf(x.Latency.P99ms), oneLine(x.Error))
	}
	b.p("")
}
