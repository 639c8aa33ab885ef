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
		"belfry_store":        "embedded SQLite (default), then PostgreSQL (--store) when available",
		"elastic_members":     strconv.Itoa(c.elasticMembers),
		"push":                fmt.Sprintf("%d endpoints, %d clients, %s", pushMembers, pushClients, c.sendDur),
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
	b.p("Run the whole suite (about 15 minutes on 2 cores) from the repository root:")
	b.p("")
	b.p("```sh")
	b.p("bench/run            # or: go run ./bench")
	b.p("bench/run -quick     # smaller sizes, a few minutes, to try it out (leaves this file alone)")
	b.p("bench/run -only sends,history   # some of: %s", strings.Join(allMeasurements, ", "))
	b.p("bench/run -postgres off         # SQLite only; -postgres postgres://USER:PASS@HOST:PORT for a server of your own")
	b.p("bench/run -only sends -send-clients 64 -postgres off -doc \"\"   # one level of sends, to compare two builds")
	b.p("```")
	b.p("")
	b.p("It builds `belfry` from the work tree, starts `belfry serve` (root credential from `BELFRY_ACCESS_KEY_ID`/")
	b.p("`BELFRY_SECRET_ACCESS_KEY`, free loopback ports, a temporary data dir), drives it with SigV4-signed REST calls and")
	b.p("presigned websockets exactly as the AWS SDKs do, writes `bench/results/<date>-<commit>.json` and regenerates this file.")
	b.p("Every measurement runs twice, back to back: with the embedded SQLite store, then with `--store postgres://…` on a fresh")
	b.p("PostgreSQL database (a throwaway cluster that the harness starts from Debian's `postgresql` server binaries through")
	b.p("`internal/pgtest`, or the server given with `-postgres`); the fan-out adds two nodes sharing that database and a NATS")
	b.p("bus. `bench/run -h` lists the flags.")
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
	if pg := pgOf(r); pg.Absent != "" {
		b.row("PostgreSQL", pg.Absent)
	} else if pg.Server != "" {
		b.row("PostgreSQL", pg.Server)
	}
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
	renderElastic(&b, r)
	renderPush(&b, r)
	renderProfiles(&b, r)
	renderMethod(&b, r)
	return b.String()
}

func renderProfiles(b *md, r *Results) {
	type prof struct{ name, path, top string }
	var ps []prof
	if r.Sends != nil && r.Sends.ProfileTop != "" {
		ps = append(ps, prof{"belfry during the 64-client sends", r.Sends.Profile, r.Sends.ProfileTop})
	}
	if s := pgOf(r).Sends; s != nil && s.ProfileTop != "" {
		ps = append(ps, prof{"belfry on PostgreSQL during the 64-client sends", s.Profile, s.ProfileTop})
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
	b.p("- PostgreSQL mode: the harness's own cluster is internal/pgtest's (a temporary directory, a unix socket, run as the")
	b.p("  user nobody when the harness runs as root). pgtest runs it for tests with `fsync=off` and `synchronous_commit=off`;")
	b.p("  the harness sets `synchronous_commit = on` on every database it creates, so a commit is written to the kernel before it")
	b.p("  is acknowledged, as the SQLite store's WAL with `synchronous=NORMAL` does: both survive a crash of the process, and")
	b.p("  neither fsyncs each commit. The database column of the CPU figures sums the postmaster and its children (backends,")
	b.p("  WAL writer, checkpointer) from `/proc`; with `-postgres URL` it is not measured. Without PostgreSQL's server binaries")
	b.p("  the report says so at the top and shows SQLite only.")
	b.p("- Two nodes: the NATS server is the nats-server module belfry's tests use, embedded in a child process of the harness")
	b.p("  (`bench __nats`, JetStream on, a temporary store directory); both nodes get `--store` (the same database) and")
	b.p("  `--bus nats://…`.")
	b.p("- Allocations per send come from belfry's own `/metrics` (Prometheus' Go collector: `go_memstats_mallocs_total`,")
	b.p("  `go_memstats_alloc_bytes_total`), read at the start and end of the measured window; the two scrapes add a few")
	b.p("  thousand allocations to hundreds of thousands of sends' worth.")
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
