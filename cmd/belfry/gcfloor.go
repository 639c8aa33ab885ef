package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// gcHeapFloor is how much the heap may grow between two collections at
// least. With the runtime's default (GOGC=100) the heap may grow by its
// live size, and a node under load holds little: a few tens of MiB, which
// a stream of sends allocates many times a second, each time paying a
// whole mark of the heap, the goroutines' stacks included. Letting it grow
// by gcHeapFloor instead, while the live heap is smaller than that,
// collects several times less often at the price of at most this much more
// memory; with a larger live heap (tens of thousands of sessions) the
// default applies unchanged.
const gcHeapFloor = 64 << 20

// gcPercentMax bounds the GOGC the floor sets on a nearly empty heap.
const gcPercentMax = 2000

// startGCFloor applies gcHeapFloor after every collection, unless GOGC is
// set: an operator's choice wins. It returns what stops it.
func startGCFloor(getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" {
		return func() {}
	}
	f := &gcFloor{floor: gcHeapFloor, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.arm()
	return func() {
		if f.stopped.CompareAndSwap(false, true) {
			debug.SetGCPercent(100)
		}
	}
}

// gcFloor sets the GC percentage after each collection from the live heap
// that collection left. It learns of each collection from a finalizer, the
// runtime's only notice of one: the sentinel is unreachable as soon as
// arm returns, so the next cycle finalizes it, and the finalizer arms a
// new one.
type gcFloor struct {
	floor   uint64
	percent int
	sample  []metrics.Sample
	stopped atomic.Bool
}

// gcSentinel is big enough not to be a tiny allocation, whose finalizer
// could wait for its neighbours in the same block.
type gcSentinel struct{ _ [16]byte }

func (f *gcFloor) arm() {
	runtime.SetFinalizer(new(gcSentinel), func(*gcSentinel) { f.afterGC() })
}

func (f *gcFloor) afterGC() {
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.sample)
	if s := f.sample[0]; s.Value.Kind() == metrics.KindUint64 {
		if p := floorPercent(s.Value.Uint64(), f.floor); p != f.percent {
			f.percent = p
			debug.SetGCPercent(p)
		}
	}
	f.arm()
}

// floorPercent is the GOGC that lets a heap of live bytes grow by
// max(live, floor) before the next collection, in steps of 25 so that small
// changes of the live heap do not reset it each cycle.
func floorPercent(live, floor uint64) int {
	if live >= floor {
		return 100
	}
	if live == 0 {
		return gcPercentMax
	}
	p := int(floor * 100 / live)
	p -= p % 25
	return min(max(p, 100), gcPercentMax)
}
