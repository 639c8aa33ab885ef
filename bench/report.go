package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Results is everything one run measured; it is written as JSON and
// rendered into docs/benchmarks.md.
type Results struct {
	Date        string            `json:"date"`
	Commit      string            `json:"commit"`
	Command     string            `json:"command"`
	Quick       bool              `json:"quick"`
	DurationS   float64           `json:"duration_s"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Machine     Machine           `json:"machine"`
	Config      map[string]string `json:"config"`
	Sends       *SendsResult      `json:"sends,omitempty"`
	Fanout      *FanoutResult     `json:"fanout,omitempty"`
	Sessions    *SessionsResult   `json:"sessions,omitempty"`
	History     *HistoryResult    `json:"history,omitempty"`
	Startup     *StartupResult    `json:"startup,omitempty"`
	Elastic     *ElasticResult    `json:"elastic,omitempty"`
	Push        *PushResult       `json:"push,omitempty"`
	// Postgres is the PostgreSQL mode: the same measurements with belfry
	// on `--store postgres://…`, beside the SQLite ones above.
	Postgres *PGResults `json:"postgres,omitempty"`
}

// PGResults is every measurement of the PostgreSQL mode.
type PGResults struct {
	Server   string          `json:"server,omitempty"`
	Absent   string          `json:"absent,omitempty"` // why there is no PostgreSQL mode
	Sends    *SendsResult    `json:"sends,omitempty"`
	Fanout   *FanoutResult   `json:"fanout,omitempty"`
	Sessions *SessionsResult `json:"sessions,omitempty"`
	History  *HistoryResult  `json:"history,omitempty"`
	Startup  *StartupResult  `json:"startup,omitempty"`
	Elastic  *ElasticResult  `json:"elastic,omitempty"`
	Push     *PushResult     `json:"push,omitempty"`
}

func describeConfig(c config) map[string]string {
	ints := func(v []int) string {
		var s []string
		for _, x := range v {
			s = append(s, strconv.Itoa(x))
		}
		return strings.Join(s, ",")
	}
	return map[string]string{
		"send_clients":        ints(c.sendLevels),
		"send_warmup":         c.sendWarm.String(),
		"send_duration":       c.sendDur.String(),
		"limit_duration":      c.limitDur.String(),
		"sqlite_duration":     c.sqliteDur.String(),
		"fanout_members":      strconv.Itoa(c.fanMembers),
		"fanout_window":       strconv.Itoa(c.fanWindow),
		"fanout_duration":     c.fanDur.String(),
		"latency_members":     strconv.Itoa(c.latMembers),
		"latency_rate":        strconv.FormatFloat(c.latRate, 'g', -1, 64),
		"latency_duration":    c.latDur.String(),
		"many_channels":       fmt.Sprintf("%d × %d members, window %d each", c.groups, c.groupSize, c.groupWindow),
		"sessions":            ints(c.sessionCounts),
		"history_messages":    strconv.Itoa(c.historyN),
		"history_calls":       strconv.Itoa(c.historyCalls),
		"startup_runs":        strconv.Itoa(c.startupRuns),
		"belfry_log_level":    "warn",
		"belfry_store":        "embedded SQLite (default)",
		"belfry_ws_transport": "ws:// on the plain listener",
	}
}

func writeJSON(dir, stamp string, r *Results) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, stamp+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// serveHelper serves mux on a free loopback port and prints the address
// for the parent (helper children).
func serveHelper(h http.Handler) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
}

// serveHelperTLS is serveHelper behind crypto/tls, with a fresh
// self-signed ECDSA P-256 certificate (the kind Belfry's local CA issues),
// HTTP/1.1 only as Belfry's TLS listener.
func serveHelperTLS(h http.Handler) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err == nil {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		var der []byte
		if der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key); err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
				fmt.Printf("listening %s\n", ln.Addr())
				cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"http/1.1"}}
				srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
				err = srv.Serve(tls.NewListener(ln, cfg))
			}
		}
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
}

// The hand-written part of docs/benchmarks.md starts at this heading and
// runs to the end; regenerating keeps it.
const analysisHeading = "## Profile and analysis"

const analysisPlaceholder = analysisHeading + `

<!-- This section is written by hand; bench/run keeps it when it regenerates the rest of the file. -->

_Placeholder: the analysis of the gaps between Belfry and its limits, with the CPU profiles that explain them
(see "CPU profiles" above, and bench/results/profiles/), is to be written here._
`

func writeDoc(path string, r *Results, jsonPath string) error {
	analysis := analysisPlaceholder
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), analysisHeading); i >= 0 {
			analysis = string(old[i:])
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	doc := renderDoc(r, jsonPath) + "\n" + strings.TrimRight(analysis, "\n") + "\n"
	return os.WriteFile(path, []byte(doc), 0o644)
}

// md builds markdown.
type md struct{ strings.Builder }

func (b *md) p(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }

func (b *md) row(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }

func (b *md) header(cells ...string) {
	b.row(cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	b.row(seps...)
}

// num formats a count with thousands separators.
func num(f float64) string {
	if math.IsNaN(f) {
		return "–"
	}
	neg := f < 0
	s := strconv.FormatInt(int64(math.Round(math.Abs(f))), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func msf(f float64) string {
	switch {
	case f == 0:
		return "–"
	case f < 1:
		return strconv.FormatFloat(f, 'f', 3, 64)
	case f < 100:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

func ratioStr(f float64) string {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	if f < 10 {
		return strconv.FormatFloat(f, 'f', 2, 64) + "×"
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + "×"
}

func met(ok bool, have bool) string {
	switch {
	case !have:
		return "not measured"
	case ok:
		return "**met**"
	}
	return "**not met**"
}

func renderDoc(r *Results, jsonPath string) string {
	var b md
	b.p("# Benchmarks")
	b.p("")
	b.p("<!-- Generated by bench/run from %s. Everything above the section \"Profile and analysis\" is rewritten on each run. -->", jsonPath)
	b.p("")
	b.p("Belfry measured against the physical limits of the machine it runs on: every figure sits beside a limit")
	b.p("measured in the same run, on the same cores, with the load generator on the same machine, and the ratio of")
	b.p("the two. The targets are those of the design (`../shared/docs/design.md`, \"Performance targets\").")
	b.p("The suite reports; it never fails a build, and it is not part of `scripts/test` or CI.")
	b.p("")
	b.p("Run the whole suite (under 10 minutes on 2 cores) from the repository root:")
	b.p("")
	b.p("```sh")
	b.p("bench/run            # or: go run ./bench")
	b.p("bench/run -quick     # smaller sizes, about 2 minutes, to try it out (leaves this file alone)")
	b.p("bench/run -only sends,history   # some of: sends, fanout, sessions, history, startup")
	b.p("```")
	b.p("")
	b.p("It builds `belfry` from the work tree, starts `belfry serve` (embedded SQLite store, root credential from")
	b.p("`BELFRY_ACCESS_KEY_ID`/`BELFRY_SECRET_ACCESS_KEY`, free loopback ports, a temporary data dir), drives it with")
	b.p("SigV4-signed REST calls and presigned websockets exactly as the AWS SDKs do, writes `bench/results/<date>-<commit>.json`")
	b.p("and regenerates this file. `bench/run -h` lists the flags.")
	b.p("")

	b.p("## This run")
	b.p("")
	b.header("", "")
	m := r.Machine
	b.row("machine", fmt.Sprintf("%s, %d cores, %s RAM", m.CPU, m.Cores, m.RAM))
	b.row("kernel", m.Kernel)
	b.row("Go", m.Go)
	b.row("disk", m.Disk)
	b.row("open files", m.FileLimit)
	busy := fmt.Sprintf("%.2f cores busy in the second before the run; load average %s", m.BusyBefore, m.LoadAvg)
	if m.BusyBefore > 0.2 {
		busy += " — **other processes were using the machine: figures may read low**"
	}
	b.row("other load", busy)
	b.row("command", "`"+r.Command+"`")
	b.row("commit", "`"+r.Commit+"`")
	b.row("date", r.Date)
	b.row("duration", (time.Duration(r.DurationS * float64(time.Second))).Round(time.Second).String())
	b.row("results", "`"+jsonPath+"`")
	if r.Quick {
		b.row("mode", "**-quick: reduced sizes, not comparable with the targets**")
	}
	if r.Interrupted {
		b.row("note", "**interrupted: some measurements are missing**")
	}
	b.p("")

	renderTargets(&b, r)
	renderSends(&b, r)
	renderFanout(&b, r)
	renderSessions(&b, r)
	renderHistory(&b, r)
	renderStartup(&b, r)
	renderProfiles(&b, r)
	renderMethod(&b, r)
	return b.String()
}

func renderTargets(b *md, r *Results) {
	b.p("## Targets")
	b.p("")
	var t md
	renderTargetRows(&t, r)
	rows := t.String()
	metN, notN := strings.Count(rows, "| **met** |"), strings.Count(rows, "| **not met** |")
	b.p("%d of %d targets met in this run.", metN, metN+notN)
	b.p("")
	b.header("what", "target", "Belfry", "limit, same run", "Belfry ÷ limit", "status")
	b.WriteString(rows)
	b.p("")
}

func renderTargetRows(b *md, r *Results) {

	if s := r.Sends; s != nil {
		var lvl *SendLevel
		for i := range s.Levels {
			if s.Levels[i].Clients == 64 {
				lvl = &s.Levels[i]
			}
		}
		sqlite := sqliteBatched(s)
		if lvl != nil {
			b.row("durable SendChannelMessage, SigV4, 64 clients: throughput", "≥ 10,000 msg/s",
				num(lvl.Belfry.MsgPerS)+" msg/s",
				fmt.Sprintf("hello-world handler %s req/s; raw SQLite batched insert %s rows/s", num(lvl.Trivial.MsgPerS), num(sqlite)),
				fmt.Sprintf("%s; %s", ratioStr(ratio(lvl.Belfry.MsgPerS, lvl.Trivial.MsgPerS)), ratioStr(ratio(lvl.Belfry.MsgPerS, sqlite))),
				met(lvl.Belfry.MsgPerS >= 10_000, lvl.Belfry.Latency.Count > 0))
			b.row("durable SendChannelMessage, SigV4, 64 clients: latency", "p99 ≤ 20 ms",
				"p99 "+msf(lvl.Belfry.Latency.P99ms)+" ms", "hello-world handler p99 "+msf(lvl.Trivial.Latency.P99ms)+" ms",
				ratioStr(ratio(lvl.Belfry.Latency.P99ms, lvl.Trivial.Latency.P99ms)),
				met(lvl.Belfry.Latency.P99ms <= 20, lvl.Belfry.Latency.Count > 0))
		} else {
			b.row("durable SendChannelMessage, SigV4, 64 clients", "≥ 10,000 msg/s, p99 ≤ 20 ms", "–", "–", "–", met(false, false))
		}
	}
	if f := r.Fanout; f != nil {
		bs, rs := f.Belfry.Saturated, f.Raw.Saturated
		if bs != nil && rs != nil {
			rt := ratio(bs.DeliveriesPS, rs.DeliveriesPS)
			b.row(fmt.Sprintf("fan-out, 1 channel × %s connected members", num(float64(f.Members))), "≥ 0.9 × raw deliveries/s",
				num(bs.DeliveriesPS)+" deliveries/s", "bare gorilla broadcast "+num(rs.DeliveriesPS)+" deliveries/s",
				ratioStr(rt), met(rt >= 0.9, true))
		} else {
			b.row("fan-out", "≥ 0.9 × raw deliveries/s", "–", "–", "–", met(false, false))
		}
		if bg, rg := f.Belfry.Groups, f.Raw.Groups; bg != nil && rg != nil {
			rt := ratio(bg.DeliveriesPS, rg.DeliveriesPS)
			b.row(fmt.Sprintf("fan-out, %d channels × %s connected members", bg.Groups, num(float64(bg.Members))), "≥ 0.9 × raw deliveries/s",
				num(bg.DeliveriesPS)+" deliveries/s", "bare gorilla broadcast "+num(rg.DeliveriesPS)+" deliveries/s",
				ratioStr(rt), met(rt >= 0.9, true))
		}
		bl, rl := f.Belfry.SmallLatency, f.Raw.SmallLatency
		if bl != nil && rl != nil {
			b.row(fmt.Sprintf("fan-out latency, %s members at %g msg/s", num(float64(f.SmallMembers)), f.SmallRate), "p99 send→receive ≤ 30 ms",
				"p99 "+msf(bl.Latency.P99ms)+" ms", "bare gorilla broadcast p99 "+msf(rl.Latency.P99ms)+" ms",
				ratioStr(ratio(bl.Latency.P99ms, rl.Latency.P99ms)), met(bl.Latency.P99ms <= 30 && bl.Latency.Count > 0, true))
		}
	}
	if s := r.Sessions; s != nil && len(s.Levels) > 0 {
		l := s.Levels[0]
		b.row(fmt.Sprintf("websocket session memory at %s sessions", num(float64(l.Sessions))), "≤ 14 KiB RSS each",
			msf(l.Belfry.KiBPerSession)+" KiB", "bare gorilla server "+msf(l.Raw.KiBPerSession)+" KiB",
			ratioStr(ratio(l.Belfry.KiBPerSession, l.Raw.KiBPerSession)),
			met(l.Belfry.KiBPerSession <= 14 && l.Belfry.Connected > 0, l.Belfry.Connected > 0))
		if t := s.TLS; t != nil {
			b.row(fmt.Sprintf("wss:// session memory at %s sessions", num(float64(t.Sessions))), "≤ 20 KiB RSS each",
				msf(t.Belfry.KiBPerSession)+" KiB", "bare gorilla server behind crypto/tls "+msf(t.Raw.KiBPerSession)+" KiB",
				ratioStr(ratio(t.Belfry.KiBPerSession, t.Raw.KiBPerSession)),
				met(t.Belfry.KiBPerSession <= 20 && t.Belfry.Connected > 0, t.Belfry.Connected > 0))
		}
	}
	if h := r.History; h != nil && len(h.Points) > 0 {
		var worst, worstRaw float64
		var where string
		for _, p := range h.Points {
			if p.Belfry.P99ms > worst {
				worst, worstRaw, where = p.Belfry.P99ms, p.Raw.P99ms, p.Order+" at depth "+p.Depth
			}
		}
		b.row(fmt.Sprintf("ListChannelMessages, page of 50, channel of %s messages", humanCount(h.Messages)), "p99 ≤ 5 ms",
			"worst p99 "+msf(worst)+" ms ("+strings.ToLower(where)+")", "raw keyset read p99 "+msf(worstRaw)+" ms",
			ratioStr(ratio(worst, worstRaw)), met(worst <= 5, worst > 0))
	}
	if s := r.Startup; s != nil {
		for _, p := range s.Points {
			b.row("cold start to ready (/healthz 200), "+p.DataDir, "≤ 200 ms", "median "+msf(p.MedianMs)+" ms", "–", "–", met(p.MedianMs <= 200, p.Runs > 0))
		}
	}
}

func sqliteBatched(s *SendsResult) float64 {
	for _, q := range s.SQLite {
		if q.BatchSize > 1 {
			return q.RowsPerS
		}
	}
	return 0
}

func renderSends(b *md, r *Results) {
	s := r.Sends
	if s == nil {
		return
	}
	b.p("## 1. Durable sends")
	b.p("")
	if s.Store == "postgres" {
		b.p("**Store: PostgreSQL** (`bench/run -postgres`), on the same machine.")
		b.p("")
	}
	b.p("N clients, each on its own keep-alive connection, each signing (SigV4) and sending `SendChannelMessage`")
	b.p("(PERSISTENT, ~100-byte content, a fresh ClientRequestToken) as a distinct channel member, into one channel, as fast as")
	b.p("answers come back (closed loop), for %s after a %s warm-up. The limit is the same clients, same signing and same", s.Duration, s.Warmup)
	b.p("bodies against a hello-world `net/http` handler in its own process, and raw batched inserts into SQLite on the same disk.")
	b.p("")
	if s.Error != "" {
		b.p("**Error:** `%s`", oneLine(s.Error))
		b.p("")
	}
	sqlite := sqliteBatched(s)
	b.header("clients", "Belfry msg/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU cores: Belfry / harness / other", "hello-world req/s", "p50 ms", "p99 ms", "CPU cores: hello-world / harness / other", "Belfry ÷ hello-world", "Belfry ÷ SQLite batched", "errors")
	for _, l := range s.Levels {
		b.row(strconv.Itoa(l.Clients), num(l.Belfry.MsgPerS), msf(l.Belfry.Latency.P50ms), msf(l.Belfry.Latency.P99ms), msf(l.Belfry.Latency.P999ms),
			cpuStr(l.Belfry.CPU, true),
			num(l.Trivial.MsgPerS), msf(l.Trivial.Latency.P50ms), msf(l.Trivial.Latency.P99ms),
			cpuStr(l.Trivial.CPU, true),
			ratioStr(ratio(l.Belfry.MsgPerS, l.Trivial.MsgPerS)), ratioStr(ratio(l.Belfry.MsgPerS, sqlite)),
			strconv.FormatInt(l.Belfry.Errors+l.Trivial.Errors, 10))
	}
	b.p("")
	b.p("CPU cores: the server's and the harness's (the load generator's) user+system time over the measured window")
	b.p("(`/proc/<pid>/stat`), and the rest of the machine's busy time (`/proc/stat`: other processes, and interrupt work")
	b.p("charged to neither); 2.00 is the whole machine. A figure whose \"other\" is marked ⚠ shared the machine with")
	b.p("something else and reads low.")
	b.p("")
	for _, q := range s.SQLite {
		line := fmt.Sprintf("- Raw SQLite insert, %d row(s) per transaction (WAL, synchronous=NORMAL, message-shaped rows with a unique random id and the history index): **%s rows/s**", q.BatchSize, num(q.RowsPerS))
		if q.Error != "" {
			line += " (error: `" + oneLine(q.Error) + "`)"
		}
		b.p("%s", line)
	}
	for _, l := range s.Levels {
		if l.Belfry.FirstErr != "" {
			b.p("- %d clients, first Belfry error: `%s`", l.Clients, oneLine(l.Belfry.FirstErr))
		}
	}
	b.p("")
}

func renderFanout(b *md, r *Results) {
	f := r.Fanout
	if f == nil {
		return
	}
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
	b.p("  the receivers sustain, with queues bounded. Measured for %s.", f.Duration)
	b.p("- **steady**: an open-loop %g msg/s (half Belfry's saturated rate) to both servers.", f.SteadyRate)
	b.p("- **small channel**: %s of the members in a second channel, %g msg/s (the design's latency target).", num(float64(f.SmallMembers)), f.SmallRate)
	if f.Groups > 0 {
		b.p("- **many channels**: the members split into %d channels of %d, each with its own sender (its first member; the raw", f.Groups, f.GroupSize)
		b.p("  server gets one POST per message for those %d connections), all at once, each channel's message i sent once its", f.GroupSize)
		b.p("  message i−%d has reached all of that channel's members. Belfry's figure includes a durable send per %d deliveries.", f.GroupWindow, f.GroupSize)
	}
	b.p("")
	if f.Error != "" {
		b.p("**Error:** `%s`", oneLine(f.Error))
		b.p("")
	}
	b.header("phase", "server", "messages/s", "deliveries/s", "p50 ms", "p99 ms", "p99.9 ms", "delivered", "CPU cores: server / harness / other", "Belfry ÷ raw")
	type pair struct {
		name string
		b, r *PhaseResult
	}
	for _, p := range []pair{{"saturated", f.Belfry.Saturated, f.Raw.Saturated}, {"steady", f.Belfry.Steady, f.Raw.Steady}, {"small channel", f.Belfry.SmallLatency, f.Raw.SmallLatency}, {"many channels", f.Belfry.Groups, f.Raw.Groups}} {
		var rdel float64
		if p.r != nil {
			rdel = p.r.DeliveriesPS
		}
		for i, x := range []*PhaseResult{p.b, p.r} {
			if x == nil {
				continue
			}
			server, cmp := "Belfry", ""
			if i == 1 {
				server = "raw broadcast"
			} else {
				cmp = "deliveries " + ratioStr(ratio(x.DeliveriesPS, rdel))
				if p.r != nil {
					cmp += ", p99 " + ratioStr(ratio(x.Latency.P99ms, p.r.Latency.P99ms))
				}
			}
			label := fmt.Sprintf("%s (%s members, %s)", p.name, num(float64(x.Members)), x.Mode)
			if x.Groups > 0 {
				label = fmt.Sprintf("%s (%d channels × %s members, %s)", p.name, x.Groups, num(float64(x.Members)), x.Mode)
			}
			b.row(label, server, strconv.FormatFloat(x.MsgPerS, 'f', 1, 64), num(x.DeliveriesPS),
				msf(x.Latency.P50ms), msf(x.Latency.P99ms), msf(x.Latency.P999ms), strconv.FormatFloat(x.DeliveryRatio*100, 'f', 1, 64)+" %",
				cpuStr(x.CPU, true), cmp)
		}
	}
	b.p("")
	for _, x := range []struct {
		name string
		s    FanoutServer
	}{{"Belfry", f.Belfry}, {"raw broadcast", f.Raw}} {
		line := fmt.Sprintf("- %s: %s sessions connected in %.1f s (%s/s, %d failed); frame %d bytes", x.name, num(float64(x.s.Sessions)), x.s.ConnectS, num(x.s.ConnectPerS), x.s.ConnectFailed, x.s.FrameBytes)
		if x.s.ServerDropped > 0 {
			line += fmt.Sprintf("; %d frames dropped on full queues", x.s.ServerDropped)
		}
		if x.s.Error != "" {
			line += "; error: `" + oneLine(x.s.Error) + "`"
		}
		b.p("%s", line)
		for _, ph := range []*PhaseResult{x.s.Saturated, x.s.Steady, x.s.SmallLatency, x.s.Groups} {
			if ph != nil && (ph.SendErrors > 0 || ph.Incomplete > 0) {
				b.p("  - %s: %d send errors, %d messages not delivered to every member%s", ph.Mode, ph.SendErrors, ph.Incomplete, firstErrSuffix(ph.FirstErr))
			}
		}
	}
	b.p("- Setup (users, memberships) took %.1f s through the API.", f.SetupS)
	b.p("")
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
	b.p("Client side: %s; %s.", s.Sources, s.FileLimit)
	b.p("")
	if s.Error != "" {
		b.p("**Error:** `%s`", oneLine(s.Error))
		b.p("")
	}
	b.header("sessions", "per user", "Belfry KiB/session (RSS)", "Go runtime KiB/session", "Belfry RSS MiB", "raw KiB/connection (RSS)", "raw RSS MiB", "Belfry ÷ raw", "connect time Belfry / raw")
	levels := s.Levels
	if s.TLS != nil {
		levels = append(append([]SessionsLevel(nil), levels...), *s.TLS)
	}
	for i, l := range levels {
		name := num(float64(l.Sessions))
		if i == len(s.Levels) {
			name += " over wss://"
		}
		b.row(name, strconv.Itoa(l.SessionsPerUser), msf(l.Belfry.KiBPerSession), msf(l.Belfry.GoKiBPerSession),
			fmt.Sprintf("%.0f → %.0f", l.Belfry.RSSBeforeMiB, l.Belfry.RSSAfterMiB), msf(l.Raw.KiBPerSession),
			fmt.Sprintf("%.0f → %.0f", l.Raw.RSSBeforeMiB, l.Raw.RSSAfterMiB), ratioStr(ratio(l.Belfry.KiBPerSession, l.Raw.KiBPerSession)),
			fmt.Sprintf("%.1f s / %.1f s", l.Belfry.ConnectS, l.Raw.ConnectS))
	}
	b.p("")
	for _, l := range s.Levels {
		if l.Note != "" && l.Belfry.Error == "" {
			b.p("- **%s sessions were asked for and %s measured**: %s.", num(float64(l.Requested)), num(float64(l.Sessions)), l.Note)
		}
		if l.Belfry.Error != "" {
			b.p("- %s sessions, Belfry: `%s`", num(float64(l.Sessions)), oneLine(l.Belfry.Error))
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
	b.p("## 4. History")
	b.p("")
	b.p("One channel of %s messages, one a millisecond, ~100-byte contents, random 256-bit ids, seeded with belfry stopped", num(float64(h.Messages)))
	b.p("(%.1f s, a %.0f MiB database; seeded by %s). Then signed `ListChannelMessages` calls as a member that did not", h.SeedS, h.DBMiB, h.Seed)
	b.p("send them, MaxResults 50, one client, %d timed calls per point after %d warm-up calls. Depth is the position of the page's first", h.Calls, h.Calls/10)
	b.p("message from the start of the order (oldest for ASCENDING, newest for DESCENDING), reached with a NotBefore/NotAfter")
	b.p("bound. The limit is the same keyset range read straight from the file (`database/sql`, modernc SQLite, no Belfry code).")
	b.p("A point measured while other processes kept more than a quarter of a core busy is measured again, twice at most,")
	b.p("and the quietest attempt is kept.")
	b.p("")
	if h.Error != "" {
		b.p("**Error:** `%s`", oneLine(h.Error))
		b.p("")
	}
	b.header("sort order", "depth", "Belfry p50 ms", "Belfry p99 ms", "raw p50 ms", "raw p99 ms", "Belfry ÷ raw (p99)", "CPU cores: Belfry / harness / other", "p99 ≤ 5 ms")
	for _, p := range h.Points {
		b.row(p.Order, p.Depth, msf(p.Belfry.P50ms), msf(p.Belfry.P99ms), msf(p.Raw.P50ms), msf(p.Raw.P99ms),
			ratioStr(ratio(p.Belfry.P99ms, p.Raw.P99ms)), cpuStr(p.CPU, true), met(p.Belfry.P99ms <= 5, p.Belfry.Count > 0))
	}
	b.p("")
	for _, p := range h.Points {
		if p.FirstErr != "" {
			b.p("- %s depth %s: %d errors, first `%s`", p.Order, p.Depth, p.Errors, oneLine(p.FirstErr))
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
	b.p("millisecond. The empty data dir is new for each run, so it includes creating the schema and the local CA.")
	b.p("")
	b.header("data dir", "runs", "median ms", "min ms", "max ms", "≤ 200 ms")
	for _, p := range s.Points {
		b.row(p.DataDir, strconv.Itoa(p.Runs), msf(p.MedianMs), msf(p.MinMs), msf(p.MaxMs), met(p.MedianMs <= 200, p.Runs > 0))
	}
	for _, p := range s.Points {
		if p.Error != "" {
			b.p("")
			b.p("- %s: `%s`", p.DataDir, oneLine(p.Error))
		}
	}
	b.p("")
}

func renderProfiles(b *md, r *Results) {
	type prof struct{ name, path, top string }
	var ps []prof
	if r.Sends != nil && r.Sends.ProfileTop != "" {
		ps = append(ps, prof{"belfry during the 64-client sends", r.Sends.Profile, r.Sends.ProfileTop})
	}
	if r.Fanout != nil && r.Fanout.ProfileTop != "" {
		ps = append(ps, prof{"belfry during the saturated fan-out", r.Fanout.Profile, r.Fanout.ProfileTop})
	}
	if r.History != nil && r.History.ProfileTop != "" {
		ps = append(ps, prof{"belfry serving ListChannelMessages pages at depth 10k, newest first", r.History.Profile, r.History.ProfileTop})
	}
	if len(ps) == 0 {
		return
	}
	b.p("## CPU profiles")
	b.p("")
	b.p("Captured in this run from a second build of belfry with `net/http/pprof` compiled in (`go build -overlay`, the")
	b.p("source tree untouched), over the middle half of the measurement. Open one with `go tool pprof -http=: <file>`.")
	b.p("")
	for _, p := range ps {
		b.p("<details><summary>%s (<code>%s</code>)</summary>", p.name, p.path)
		b.p("")
		b.p("```")
		b.p("%s", p.top)
		b.p("```")
		b.p("")
		b.p("</details>")
		b.p("")
	}
}

func renderMethod(b *md, r *Results) {
	b.p("## Method notes")
	b.p("")
	b.p("- Everything runs on this one machine: belfry, the limits and the load generators share its cores, as the design's")
	b.p("  targets assume. Figures on a busy machine are lower; compare runs of the same machine only.")
	b.p("- Latencies are measured by the client: from just before the request is signed to the end of the response body")
	b.p("  (sends, history), or from the send to the receiver's read of the frame (fan-out). Percentiles come from a")
	b.p("  log-linear histogram with 1.6 %% resolution.")
	b.p("- belfry runs with `--log-level warn` and the TLS listener off (websockets use the plain listener), except for the")
	b.p("  start-up measurement, which uses the default listeners, and the wss:// row of the idle sessions.")
	b.p("- More websockets than the default source-port range allows are dialled from several loopback source addresses")
	b.p("  (127.10.x.y), and the harness raises its open-file limit (inherited by the servers) as far as the machine allows.")
	b.p("- Server CPU profiles: `-profile` (on by default) builds a pprof-enabled belfry through a build overlay. If belfry")
	b.p("  grows its own profiling switch (for example a `BELFRY_CPU_PROFILE=path` environment variable), the harness can")
	b.p("  use that instead; `-cpuprofile FILE` profiles the harness itself (load generators and websocket clients).")
	b.p("")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "`", "'")
	s = strings.ReplaceAll(s, "|", "\\|")
	return truncateString(s, 300)
}

// cpuStr renders a CPUUse; an "other" above 0.25 cores is flagged.
func cpuStr(u CPUUse, other bool) string {
	s := fmt.Sprintf("%.2f / %.2f", u.Server, u.Harness)
	if other {
		s += fmt.Sprintf(" / %.2f", u.Other)
		if u.Other > 0.25 {
			s += " ⚠"
		}
	}
	return s
}
