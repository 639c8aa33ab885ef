package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type profileResult struct {
	data []byte
	err  error
}

// captureProfile fetches a CPU profile of the profiling build of belfry
// (see pprofOverlay): it waits delay, then profiles for dur.
func captureProfile(ctx context.Context, addr string, delay, dur time.Duration) chan profileResult {
	out := make(chan profileResult, 1)
	go func() {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			out <- profileResult{err: ctx.Err()}
			return
		}
		secs := max(1, int(dur.Seconds()))
		c := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
		res, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
		if err != nil {
			out <- profileResult{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("pprof: HTTP %d: %s", res.StatusCode, truncateString(string(b), 200))
		}
		out <- profileResult{data: b, err: err}
	}()
	return out
}

// saveProfile writes a profile next to the results and returns its path
// (relative to the repository) and the top of `go tool pprof -top -cum`.
func (s *suite) saveProfile(name, bin string, data []byte) (path, top string) {
	dir := filepath.Join(s.outDir, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.logf("profile: %v", err)
		return "", ""
	}
	file := filepath.Join(dir, s.stamp+"-"+name+".pprof")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		s.logf("profile: %v", err)
		return "", ""
	}
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=30", bin, file)
	out, err := cmd.Output()
	if err != nil {
		s.logf("profile: go tool pprof: %v", err)
	}
	rel, err := filepath.Rel(s.root, file)
	if err != nil {
		rel = file
	}
	// Keep the table, not the header lines that name temp paths.
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") {
			continue
		}
		lines = append(lines, l)
	}
	return rel, strings.TrimSpace(strings.Join(lines, "\n"))
}
