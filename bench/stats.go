package main

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// hist is a lock-free log-linear latency histogram in microseconds: 64
// sub-buckets per power of two, so every recorded value is known to
// within 1/64 (1.6 %). Many goroutines may Record at once.
type hist struct {
	buckets [64 * 40]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Uint64
}

func bucketOf(us uint64) int {
	shift := 0
	if l := bits.Len64(us); l > 7 {
		shift = l - 7
	}
	i := shift*64 + int(us>>shift)
	if i >= 64*40 {
		i = 64*40 - 1
	}
	return i
}

// bucketValue is the middle of bucket i, in microseconds.
func bucketValue(i int) float64 {
	shift := 0
	if i >= 128 {
		shift = i/64 - 1
	}
	lo := uint64(i-64*shift) << shift
	return float64(lo) + float64(uint64(1)<<shift-1)/2
}

// Record adds one latency.
func (h *hist) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	us := uint64(d / time.Microsecond)
	h.buckets[bucketOf(us)].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *hist) Count() uint64 { return h.count.Load() }

// Quantile returns the q-quantile (0 < q ≤ 1) in milliseconds, NaN when
// nothing was recorded.
func (h *hist) Quantile(q float64) float64 {
	n := h.count.Load()
	if n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			v := bucketValue(i)
			if m := float64(h.max.Load()); v > m {
				v = m
			}
			return v / 1000
		}
	}
	return float64(h.max.Load()) / 1000
}

// Latency is the summary of a histogram written to the results.
type Latency struct {
	Count  uint64  `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	P999ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func (h *hist) Summary() Latency {
	if h.Count() == 0 {
		return Latency{}
	}
	return Latency{
		Count:  h.Count(),
		P50ms:  round3(h.Quantile(0.50)),
		P99ms:  round3(h.Quantile(0.99)),
		P999ms: round3(h.Quantile(0.999)),
		MaxMs:  round3(float64(h.max.Load()) / 1000),
	}
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}

func round1(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*10) / 10
}

// median of a few durations, in milliseconds.
func medianMs(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var m time.Duration
	if len(s)%2 == 1 {
		m = s[len(s)/2]
	} else {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return round3(float64(m) / float64(time.Millisecond))
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}
