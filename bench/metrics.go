package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrapeMetrics reads the named unlabelled samples from a Prometheus
// text endpoint (belfry's /metrics); missing ones are absent from the map.
func scrapeMetrics(url string, names ...string) map[string]float64 {
	out := map[string]float64{}
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		for _, n := range names {
			if name == n {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					out[n] = f
				}
			}
		}
	}
	return out
}

const (
	metricMallocs    = "go_memstats_mallocs_total"
	metricAllocBytes = "go_memstats_alloc_bytes_total"
)

// window is what a measurement window saw of the servers: CPU, and the
// Go heap allocations of belfry (summed over its /metrics endpoints).
type window struct {
	cpu        CPUUse
	seconds    float64
	mallocs    float64 // -1: not measured
	allocBytes float64
}

// sampleWindow measures the servers pids (CPU) and the /metrics
// endpoints metrics (space-separated base URLs; "" for none) between from
// and to.
func sampleWindow(pids []int, metrics string, from, to time.Time) <-chan window {
	out := make(chan window, 1)
	go func() {
		time.Sleep(time.Until(from))
		bases := strings.Fields(metrics)
		m0 := scrapeAll(bases)
		stop := cpuWindow(pids...)
		t0 := time.Now()
		time.Sleep(time.Until(to))
		w := window{cpu: stop(), seconds: time.Since(t0).Seconds(), mallocs: -1}
		m1 := scrapeAll(bases)
		if m0 != nil && m1 != nil {
			w.mallocs = m1[metricMallocs] - m0[metricMallocs]
			w.allocBytes = m1[metricAllocBytes] - m0[metricAllocBytes]
		}
		out <- w
	}()
	return out
}

// scrapeAll sums the allocation counters of several belfrys; nil if any
// lacks them.
func scrapeAll(bases []string) map[string]float64 {
	if len(bases) == 0 {
		return nil
	}
	sum := map[string]float64{}
	for _, b := range bases {
		m := scrapeMetrics(b+"/metrics", metricMallocs, metricAllocBytes)
		if len(m) != 2 {
			return nil
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum
}

// perOp fills r's per-request figures from its window.
func (r *LoadResult) perOp(w window) {
	if r.MsgPerS <= 0 {
		return
	}
	us := func(cores float64) float64 { return round1(cores * 1e6 / r.MsgPerS) }
	r.ServerCPUus, r.HarnessCPUus, r.DBCPUus = us(w.cpu.Server), us(w.cpu.Harness), us(w.cpu.DB)
	if w.mallocs >= 0 && w.seconds > 0 {
		ops := r.MsgPerS * w.seconds
		r.AllocsPerOp = round1(w.mallocs / ops)
		r.AllocBytesPerOp = round1(w.allocBytes / ops)
	}
}
