// Command bench measures Belfry against the physical limits of the machine
// it runs on, each limit measured in the same run:
//
//  1. sends: durable SendChannelMessage throughput and latency at 1, 16,
//     64 and 256 SigV4-signing clients, beside a hello-world net/http
//     handler driven by the same clients and raw batched SQLite inserts;
//  2. fanout: one channel of 10,000 connected members, beside a bare
//     gorilla/websocket broadcast of the same frames to as many connections;
//  3. sessions: RSS per idle websocket session at 10k and 50k sessions,
//     beside the bare gorilla server;
//  4. history: ListChannelMessages, a page of 50, at depths 0, 10k and 1M
//     of a 1M-message channel, both orders, beside a raw keyset read;
//  5. startup: exec to the first /healthz 200, empty and 1M-message data dir;
//  6. elastic: 10,000 members join one elastic channel;
//  7. push: sends with a push notification and a streaming record,
//     delivered to a local webhook receiver, beside plain sends.
//
// Each runs on the embedded SQLite store and then on PostgreSQL (a
// throwaway cluster of internal/pgtest, or -postgres URL); the fan-out
// adds two nodes on that PostgreSQL and a NATS bus. Sends report the
// server's CPU and allocations per send, and the machine budget of the
// 10,000 msg/s target.
//
// Run it from the repository root:
//
//	bench/run              # the whole suite, about 15 minutes on 2 cores
//	bench/run -quick       # smaller sizes, a few minutes
//	bench/run -only sends,history
//
// It writes bench/results/<date>-<commit>.json and regenerates
// docs/benchmarks.md (keeping its hand-written "Profile and analysis"
// section). It reports; it never fails a build: it exits non-zero only
// when it cannot build belfry or write its results.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the size of every measurement.
type config struct {
	sendLevels []int
	sendWarm   time.Duration
	sendDur    time.Duration
	limitDur   time.Duration // the hello-world handler, per level
	sqliteDur  time.Duration

	fanMembers int
	fanWindow  int
	fanDur     time.Duration
	latMembers int
	latRate    float64
	latDur     time.Duration
	// The many-channels shape: groups channels of groupSize of the fan-out
	// members each, every one sending with its own window.
	groups      int
	groupSize   int
	groupWindow int

	sessionCounts []int

	historyN     int
	historyCalls int

	startupRuns int

	elasticMembers int
}

func fullConfig() config {
	return config{
		sendLevels: []int{1, 16, 64, 256}, sendWarm: 2 * time.Second, sendDur: 8 * time.Second, limitDur: 4 * time.Second, sqliteDur: 4 * time.Second,
		fanMembers: 10_000, fanWindow: 16, fanDur: 8 * time.Second, latMembers: 1_000, latRate: 50, latDur: 8 * time.Second,
		groups: 100, groupSize: 100, groupWindow: 16,
		sessionCounts: []int{10_000, 50_000},
		historyN:      1_000_000, historyCalls: 400,
		startupRuns: 5, elasticMembers: 10_000,
	}
}

func quickConfig() config {
	return config{
		sendLevels: []int{1, 16, 64}, sendWarm: time.Second, sendDur: 3 * time.Second, limitDur: 2 * time.Second, sqliteDur: 2 * time.Second,
		fanMembers: 1_000, fanWindow: 16, fanDur: 3 * time.Second, latMembers: 500, latRate: 50, latDur: 3 * time.Second,
		groups: 10, groupSize: 100, groupWindow: 16,
		sessionCounts: []int{2_000},
		historyN:      100_000, historyCalls: 100,
		startupRuns: 3, elasticMembers: 1_000,
	}
}

// suite is one run.
type suite struct {
	cfg        config
	root       string // the repository
	work       string // temporary data dirs
	outDir     string // bench/results
	stamp      string // <date>-<commit>, names the outputs
	belfry     string // plain build
	belfryProf string // build with the pprof overlay, "" without -profile
	nofile     uint64
	fileLimit  string
	start      time.Time
	pg         *pgMode // the PostgreSQL mode; pg.Absent says why there is none
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
}

var allMeasurements = []string{"sends", "fanout", "sessions", "history", "startup", "elastic", "push"}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "__trivial":
			runTrivial()
			return
		case "__broadcast":
			runBroadcast(false)
			return
		case "__broadcast_tls":
			runBroadcast(true)
			return
		case "__nats":
			runNATS()
			return
		case "__sink":
			runSink()
			return
		}
	}
	quick := flag.Bool("quick", false, "smaller sizes and shorter runs (a few minutes); for trying the suite, not for the record: docs/benchmarks.md is left alone unless -doc is given")
	only := flag.String("only", "", "comma-separated measurements to run, of: "+strings.Join(allMeasurements, ",")+" (default all; sessions needs fanout's users, startup's 1M dir comes from history)")
	profile := flag.Bool("profile", true, "build a second belfry with net/http/pprof compiled in (go build -overlay; the tree is not touched) and capture CPU profiles of the 64-client sends and the fan-out")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the harness itself (load generators, websocket clients) to this file")
	outDir := flag.String("out", "bench/results", "directory for the JSON results and profiles")
	doc := flag.String("doc", "docs/benchmarks.md", `markdown report to regenerate ("" for none)`)
	workDir := flag.String("workdir", "", "where the temporary data dirs go (default: the system temp dir); they are removed at the end")
	keep := flag.Bool("keep", false, "keep the temporary data dirs")
	pgURL := flag.String("postgres", "", "the PostgreSQL mode, which runs every measurement again with belfry --store on a fresh PostgreSQL database each, beside the SQLite run: \"\" (default) starts a throwaway cluster from Debian's postgresql server binaries when they are installed (and says so in the report when they are not); postgres://USER[:PASSWORD]@HOST:PORT uses that server instead; \"off\" runs SQLite only")
	sendClients := flag.String("send-clients", "", "comma-separated client counts for the sends measurement, instead of the default levels (1,16,64,256; with -quick 1,16,64): for comparing two builds at one level, as in docs/benchmarks.md; the report's targets need 64")
	render := flag.String("render", "", "measure nothing: regenerate the -doc report from this results JSON file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: bench/run [flags]   (or: go run ./bench [flags], from the repository root)\n\nMeasures Belfry against the machine's limits; see docs/benchmarks.md.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	// The harness is not what is measured: fewer collections keep its
	// pauses out of the latencies it records. Memory is plentiful.
	debug.SetGCPercent(400)

	s := &suite{cfg: fullConfig(), start: time.Now()}
	if *quick {
		s.cfg = quickConfig()
		// A quick run is a try-out: it leaves the report alone unless told.
		docSet := false
		flag.Visit(func(f *flag.Flag) { docSet = docSet || f.Name == "doc" })
		if !docSet {
			*doc = ""
		}
	}
	if *sendClients != "" {
		levels, err := parseLevels(*sendClients)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -send-clients:", err)
			os.Exit(2)
		}
		s.cfg.sendLevels = levels
	}
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	s.root = root
	selected := map[string]bool{}
	if *only == "" {
		for _, m := range allMeasurements {
			selected[m] = true
		}
	} else {
		for _, m := range strings.Split(*only, ",") {
			m = strings.TrimSpace(m)
			if !contains(allMeasurements, m) {
				fmt.Fprintf(os.Stderr, "bench: unknown measurement %q (have %s)\n", m, strings.Join(allMeasurements, ","))
				os.Exit(2)
			}
			selected[m] = true
		}
		if selected["sessions"] && !selected["fanout"] {
			selected["fanout"] = true // its users and data dir
		}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() {
		<-ctx.Done()
		killChildren()
		stopPostgres()
	}()

	s.nofile, s.fileLimit = raiseFileLimit()
	if *render != "" {
		if err := renderOnly(root, absUnder(root, *render), absUnder(root, *doc)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	s.outDir = absUnder(root, *outDir)
	base := *workDir
	if base == "" {
		base = os.TempDir()
	}
	if s.work, err = os.MkdirTemp(base, "belfry-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer func() {
		if *keep {
			s.logf("kept %s", s.work)
			return
		}
		os.RemoveAll(s.work)
	}()
	commit := gitCommit(root)
	date := time.Now().UTC()
	s.stamp = date.Format("2006-01-02T150405Z") + "-" + commit
	if *quick {
		s.stamp += "-quick"
	}

	loadAvg := loadAverage()
	busy := machineBusy(time.Second)
	s.logf("machine: %.2f cores busy before the run (load average %s)", busy, loadAvg)
	s.logf("building belfry (%s)", root)
	s.belfry, s.belfryProf, err = buildBelfry(ctx, root, s.work, *profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.RemoveAll(s.work)
		os.Exit(1)
	}

	res := &Results{
		Date:    date.Format(time.RFC3339),
		Commit:  commit,
		Command: commandLine(),
		Quick:   *quick,
		Machine: machineInfo(s.work, s.fileLimit),
	}
	res.Machine.BusyBefore, res.Machine.LoadAvg = busy, loadAvg
	res.Config = describeConfig(s.cfg)

	s.setupPostgres(ctx, strings.TrimSpace(*pgURL), *pgURL == "off")
	defer stopPostgres()
	res.Postgres = &PGResults{Server: s.pg.Server, Absent: s.pg.Absent}
	pg := s.pg.Absent == ""
	if !pg {
		s.logf("postgres: %s", s.pg.Absent)
	}

	// Each measurement runs on SQLite, then on PostgreSQL, back to back.
	var env, envPG fanoutEnv
	var history, historyPG historyDB
	if selected["sends"] && ctx.Err() == nil {
		r := runSends(ctx, s, false)
		res.Sends = &r
		if pg && ctx.Err() == nil {
			r := runSends(ctx, s, true)
			res.Postgres.Sends = &r
		}
	}
	if selected["fanout"] && ctx.Err() == nil {
		r, e := runFanout(ctx, s)
		res.Fanout, env = &r, e
		if pg && ctx.Err() == nil {
			r, e := runFanoutPG(ctx, s)
			res.Postgres.Fanout, envPG = &r, e
		}
	}
	if selected["sessions"] && ctx.Err() == nil {
		r := runSessions(ctx, s, env, false)
		res.Sessions = &r
		if pg && ctx.Err() == nil {
			r := runSessions(ctx, s, envPG, true)
			res.Postgres.Sessions = &r
		}
	}
	if selected["history"] && ctx.Err() == nil {
		r, h := runHistory(ctx, s, false)
		res.History, history = &r, h
		if pg && ctx.Err() == nil {
			r, h := runHistory(ctx, s, true)
			res.Postgres.History, historyPG = &r, h
		}
	}
	if selected["startup"] && ctx.Err() == nil {
		r := runStartup(ctx, s, history, false)
		res.Startup = &r
		if pg && ctx.Err() == nil {
			r := runStartup(ctx, s, historyPG, true)
			res.Postgres.Startup = &r
		}
	}
	if selected["elastic"] && ctx.Err() == nil {
		r := runElastic(ctx, s, false, env)
		res.Elastic = &r
		if pg && ctx.Err() == nil {
			r := runElastic(ctx, s, true, envPG)
			res.Postgres.Elastic = &r
		}
	}
	if selected["push"] && ctx.Err() == nil {
		r := runPush(ctx, s, false)
		res.Push = &r
		if pg && ctx.Err() == nil {
			r := runPush(ctx, s, true)
			res.Postgres.Push = &r
		}
	}
	res.DurationS = round1(time.Since(s.start).Seconds())
	if ctx.Err() != nil {
		res.Interrupted = true
	}

	path, err := writeJSON(s.outDir, s.stamp, res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	s.logf("wrote %s", relTo(root, path))
	if *doc != "" {
		docPath := absUnder(root, *doc)
		if err := writeDoc(docPath, res, relTo(root, path)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		s.logf("wrote %s", relTo(root, docPath))
	}
	s.logf("done in %s", time.Since(s.start).Round(time.Second))
}

// renderOnly regenerates the report from a results file.
func renderOnly(root, jsonPath, docPath string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", jsonPath, err)
	}
	return writeDoc(docPath, &r, relTo(root, jsonPath))
}

// raiseFileLimit raises RLIMIT_NOFILE as far as the machine lets it (the
// hard limit, and past it up to fs.nr_open when privileged), for this
// process and the servers it starts; it returns the soft limit now in
// force and a description.
func raiseFileLimit() (uint64, string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024, "unknown"
	}
	orig := lim
	want := uint64(262_144)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < want {
			want = n
		}
	}
	if lim.Max < want {
		try := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			lim = try
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur, fmt.Sprintf("%d open files (raised by the harness from soft %d / hard %d)", lim.Cur, orig.Cur, orig.Max)
}

// findRoot walks up from the working directory to the belfry module.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/belfryhq/belfry\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the belfry repository (no go.mod of github.com/belfryhq/belfry above %s)", dir)
		}
		dir = parent
	}
}

func absUnder(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func relTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// commandLine is how this run was started, as the report shows it.
func commandLine() string {
	cmd := "go run ./bench"
	if os.Getenv("BELFRY_BENCH_VIA") == "script" {
		cmd = "bench/run"
	}
	for _, a := range os.Args[1:] {
		cmd += " " + a
	}
	return cmd
}

// parseLevels parses a comma-separated list of positive client counts.
func parseLevels(list string) ([]int, error) {
	var levels []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number of clients", f)
		}
		levels = append(levels, n)
	}
	return levels, nil
}
