package main

import (
	"math"
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
