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
//
// On PostgreSQL (pg) "empty" is a new database and data dir each run, and
// the full one the history run's database.
func runStartup(ctx context.Context, s *suite, history historyDB, pg bool) (res StartupResult) {
	name := "startup"
	if pg {
		name = "startup-pg"
	}
	empty := StartupPoint{DataDir: "empty (new each run)"}
	var ds []time.Duration
	for i := range s.cfg.startupRuns {
		var extra []string
		if pg {
			u, err := s.pg.database(ctx, "bench_startup")
			if err != nil {
				empty.Error = err.Error()
				break
			}
			extra = []string{"--store", u}
		}
		d, err := timeStartup(ctx, s.belfry, filepath.Join(s.work, fmt.Sprintf("%s-empty-%d", name, i)), extra)
		if err != nil {
			empty.Error = err.Error()
			break
		}
		ds = append(ds, d)
	}
	fillStartup(&empty, ds)
	s.logf("%s: empty data dir: median %.1f ms", name, empty.MedianMs)
	res.Points = append(res.Points, empty)
	if history.dir == "" {
		return res
	}
	full := StartupPoint{DataDir: humanCount(s.cfg.historyN) + " messages"}
	ds = nil
	for range s.cfg.startupRuns {
		d, err := timeStartup(ctx, s.belfry, history.dir, history.extra)
		if err != nil {
			full.Error = err.Error()
			break
		}
		ds = append(ds, d)
	}
	fillStartup(&full, ds)
	s.logf("%s: %s: median %.1f ms", name, full.DataDir, full.MedianMs)
	res.Points = append(res.Points, full)
	return res
}

func timeStartup(ctx context.Context, bin, dir string, extra []string) (time.Duration, error) {
	p, d, err := startBelfry(ctx, serveOpts{bin: bin, dataDir: dir, tls: true, extra: extra})
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
