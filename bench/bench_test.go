package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These are checks of the harness's own arithmetic; they run no benchmark.

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 10_000; i++ {
		h.Record(time.Duration(i) * time.Microsecond) // 1 µs .. 10 ms, uniform
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 5}, {0.99, 9.9}, {0.999, 9.99}} {
		if got := h.Quantile(c.q); math.Abs(got-c.want)/c.want > 0.02 {
			t.Errorf("q%.3f = %.3f ms, want %.3f ± 2%%", c.q, got, c.want)
		}
	}
	if s := h.Summary(); s.Count != 10_000 || s.MaxMs != 10 {
		t.Errorf("summary %+v", s)
	}
	for i := range 64 * 40 {
		if b := bucketOf(uint64(bucketValue(i))); b != i && i < 64*39 {
			t.Fatalf("bucket %d: its value %.1f falls in bucket %d", i, bucketValue(i), b)
		}
	}
}

func TestMarker(t *testing.T) {
	at := time.Unix(1_700_000_000, 123456789)
	c := markerContent(12, 345, at)
	frame := []byte(`{"Payload":"{\"Content\":\"` + c + `\"}"}`)
	p, seq, sent, ok := parseMarker(frame)
	if !ok || p != 12 || seq != 345 || sent != at.UnixNano() {
		t.Fatalf("parseMarker = %d %d %d %v", p, seq, sent, ok)
	}
	if len(c) < markerLen || c[markerLen-1] != '|' {
		t.Fatalf("marker length: %q", c)
	}
	if _, _, _, ok := parseMarker([]byte("no marker here")); ok {
		t.Error("parsed a frame without a marker")
	}
}

func TestDocKeepsAnalysis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	r := &Results{Date: "2026-01-01T00:00:00Z", Commit: "abc", Command: "bench/run"}
	if err := writeDoc(path, r, "bench/results/x.json"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), analysisHeading) || !strings.Contains(string(b), "Placeholder") {
		t.Fatalf("no placeholder analysis:\n%s", b)
	}
	written := strings.Replace(string(b), "_Placeholder", "Hand-written findings. _Placeholder", 1)
	if err := os.WriteFile(path, []byte(written), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Commit = "def"
	if err := writeDoc(path, r, "bench/results/y.json"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if !strings.Contains(string(b), "Hand-written findings.") || !strings.Contains(string(b), "`def`") || strings.Contains(string(b), "`abc`") {
		t.Fatalf("regenerated doc lost the analysis or kept the old run:\n%s", b)
	}
}

// sampleResults is a run with both stores, as the report renders it.
func sampleResults() *Results {
	lvl := func(msg, serverCores, harnessCores, db float64) LoadResult {
		l := LoadResult{Clients: 64, MsgPerS: msg, Latency: Latency{Count: 100, P99ms: 10}, CPU: CPUUse{Server: serverCores, Harness: harnessCores, DB: db}}
		l.perOp(window{cpu: l.CPU, seconds: 1, mallocs: msg * 500, allocBytes: msg * 40 * 1024})
		return l
	}
	sq := &SendsResult{Levels: []SendLevel{{Clients: 64, Belfry: lvl(4000, 1.6, 0.2, 0), Trivial: lvl(20000, 0.6, 1.0, 0)}},
		SQLite: []SQLiteResult{{BatchSize: 100, RowsPerS: 50000, CPUusPerRow: 20}}}
	pg := &SendsResult{Store: "postgres", Levels: []SendLevel{{Clients: 64, Belfry: lvl(2000, 1.0, 0.1, 0.6)}},
		Postgres: []SQLiteResult{{BatchSize: 100, RowsPerS: 30000, CPUusPerRow: 30}}}
	sat := func(d float64) *PhaseResult { return &PhaseResult{Members: 10000, Mode: "window 4", DeliveriesPS: d} }
	return &Results{Date: "2026-01-01T00:00:00Z", Commit: "abc", Command: "bench/run", Machine: Machine{Cores: 2},
		Sends:   sq,
		Fanout:  &FanoutResult{Members: 10000, Belfry: FanoutServer{Saturated: sat(90000)}, Raw: FanoutServer{Saturated: sat(100000)}},
		Elastic: &ElasticResult{Members: 10000, Clients: 16, JoinsPerS: 1200},
		Push:    &PushResult{Members: 10, Clients: 16, DeliveriesPerS: 5000},
		Postgres: &PGResults{Server: "PostgreSQL 15", Sends: pg,
			Fanout:  &FanoutResult{Store: "postgres", Members: 10000, Belfry: FanoutServer{Saturated: sat(80000)}, TwoNodes: &FanoutServer{Saturated: sat(70000)}},
			Elastic: &ElasticResult{Members: 10000, Clients: 16, JoinsPerS: 600},
			Push:    &PushResult{Members: 10, Clients: 16, DeliveriesPerS: 3000, Store: "postgres"}},
	}
}

func TestPerOp(t *testing.T) {
	l := LoadResult{MsgPerS: 4000, CPU: CPUUse{Server: 1.6, Harness: 0.2, DB: 0.4}}
	l.perOp(window{cpu: l.CPU, seconds: 2, mallocs: 4000 * 2 * 700, allocBytes: 4000 * 2 * 1024})
	if l.ServerCPUus != 400 || l.HarnessCPUus != 50 || l.DBCPUus != 100 || l.AllocsPerOp != 700 || l.AllocBytesPerOp != 1024 {
		t.Fatalf("perOp: %+v", l)
	}
	var none LoadResult
	none.MsgPerS = 10
	none.perOp(window{mallocs: -1, seconds: 1})
	if none.AllocsPerOp != 0 {
		t.Fatalf("allocations without /metrics: %+v", none)
	}
}

func TestMachineBudget(t *testing.T) {
	r := sampleResults()
	bg, ok := machineBudget(r.Sends, r.Sends)
	// hello-world: 1.0 harness cores and 0.6 server cores at 20,000 req/s
	// are 50 and 30 µs a request; the raw insert 20 µs a row.
	if !ok || bg.loadgenUS != 50 || bg.helloUS != 30 || bg.rawUS != 20 || bg.cores != 1 {
		t.Fatalf("SQLite budget %+v %v", bg, ok)
	}
	bg, ok = machineBudget(r.Postgres.Sends, r.Sends)
	if !ok || bg.rawUS != 30 || bg.cores != 1.1 || !strings.Contains(bg.rawName, "PostgreSQL") {
		t.Fatalf("PostgreSQL budget %+v %v", bg, ok)
	}
}

func TestReportSideBySide(t *testing.T) {
	doc := renderDoc(sampleResults(), "x.json")
	for _, want := range []string{
		"| durable SendChannelMessage, SigV4, 64 clients: throughput | ≥ 10,000 msg/s | SQLite | 4,000 msg/s; 400 µs CPU, 500 allocs",
		"| durable SendChannelMessage, SigV4, 64 clients: throughput | ≥ 10,000 msg/s | PostgreSQL | 2,000 msg/s; 500 µs CPU + 300 µs database",
		"raw PostgreSQL batched insert 30,000 rows/s",
		"| machine budget for 10,000 msg/s, before any of Belfry's work | ≤ 2 cores | SQLite | 1.00 cores",
		"| PostgreSQL, 2 nodes + NATS | 70,000 deliveries/s | bare gorilla broadcast 100,000 deliveries/s | 0.70× | **not met** |",
		"| SQLite | 90,000 deliveries/s | bare gorilla broadcast 100,000 deliveries/s | 0.90× | **met** |",
		"SQLite: 2 of 3 targets met in this run. PostgreSQL: 1 of 4.",
		"## 6. Elastic channel joins", "## 7. Push notifications and streaming, delivered",
		"| PostgreSQL | PostgreSQL 15 |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	r := sampleResults()
	r.Postgres = &PGResults{Absent: "**not run: PostgreSQL's server binaries are not installed**"}
	doc = renderDoc(r, "x.json")
	if !strings.Contains(doc, "PostgreSQL: **not run: PostgreSQL's server binaries are not installed**.") || strings.Contains(doc, "| PostgreSQL, 2 nodes") {
		t.Errorf("report without PostgreSQL:\n%s", doc[:min(len(doc), 3000)])
	}
}

func TestScrapeMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP go_memstats_mallocs_total x\n# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total 1.5e+06\n"+
			"go_memstats_alloc_bytes_total 2048\nbelfry_delivery_queue_depth{kind=\"push\"} 3\n")
	}))
	defer srv.Close()
	m := scrapeMetrics(srv.URL, metricMallocs, metricAllocBytes, `belfry_delivery_queue_depth{kind="push"}`, "absent")
	if m[metricMallocs] != 1.5e6 || m[metricAllocBytes] != 2048 || m[`belfry_delivery_queue_depth{kind="push"}`] != 3 || len(m) != 3 {
		t.Fatalf("scrape: %v", m)
	}
}

func TestParseLevels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // fmt of the levels, or "error"
	}{
		{"64", "[64]"},
		{"1, 16,64", "[1 16 64]"},
		{"0", "error"},
		{"-4", "error"},
		{"64,", "error"},
		{"sixty", "error"},
	} {
		got, err := parseLevels(tc.in)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("parseLevels(%q) = %s (err %v), want %s", tc.in, s, err, tc.want)
		}
	}
}
