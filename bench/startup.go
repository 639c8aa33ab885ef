package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// StartupPoint is one data dir of measurement 5.
type StartupPoint struct {
	DataDir  string    `json:"data_dir"`
	Runs     int       `json:"runs"`
	MedianMs float64   `json:"median_ms"`
	MinMs    float64   `json:"min_ms"`
	MaxMs    float64   `json:"max_ms"`
	AllMs    []float64 `json:"all_ms"`
	Error    string    `json:"error,omitempty"`
}

// StartupResult is measurement 5.
type StartupResult struct {
	Points []StartupPoint `json:"points"`
}

// runStartup is measurement 5: exec to the first /healthz 200, with the
// TLS listener on (as by default), for a new empty data dir each run (the
// first start: schema, root-less credential from the environment, local
// CA) and for the history run's data dir.
func runStartup(ctx context.Context, s *suite, historyDir string) (res StartupResult) {
	empty := StartupPoint{DataDir: "empty (new each run)"}
	var ds []time.Duration
	for i := range s.cfg.startupRuns {
		d, err := timeStartup(ctx, s.belfry, filepath.Join(s.work, fmt.Sprintf("startup-empty-%d", i)))
		if err != nil {
			empty.Error = err.Error()
			break
		}
		ds = append(ds, d)
	}
	fillStartup(&empty, ds)
	s.logf("startup: empty data dir: median %.1f ms", empty.MedianMs)
	res.Points = append(res.Points, empty)
	if historyDir == "" {
		return res
	}
	full := StartupPoint{DataDir: humanCount(s.cfg.historyN) + " messages"}
	ds = nil
	for range s.cfg.startupRuns {
		d, err := timeStartup(ctx, s.belfry, historyDir)
		if err != nil {
			full.Error = err.Error()
			break
		}
		ds = append(ds, d)
	}
	fillStartup(&full, ds)
	s.logf("startup: %s: median %.1f ms", full.DataDir, full.MedianMs)
	res.Points = append(res.Points, full)
	return res
}

func timeStartup(ctx context.Context, bin, dir string) (time.Duration, error) {
	p, d, err := startBelfry(ctx, serveOpts{bin: bin, dataDir: dir, tls: true})
	if err != nil {
		return 0, err
	}
	return d, p.Stop(15 * time.Second)
}

func fillStartup(p *StartupPoint, ds []time.Duration) {
	p.Runs = len(ds)
	if len(ds) == 0 {
		return
	}
	p.MedianMs = medianMs(ds)
	p.MinMs, p.MaxMs = 1e18, 0
	for _, d := range ds {
		ms := round3(float64(d) / float64(time.Millisecond))
		p.AllMs = append(p.AllMs, ms)
		p.MinMs = min(p.MinMs, ms)
		p.MaxMs = max(p.MaxMs, ms)
	}
}
