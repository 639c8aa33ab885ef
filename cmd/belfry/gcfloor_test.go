package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestFloorPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, gcPercentMax},
		{1 * mib, gcPercentMax}, // 6400 % capped
		{8 * mib, 800},          // grows by the floor
		{10 * mib, 625},         // 640 rounded down to a step of 25
		{48 * mib, 125},         // 133 rounded down
		{63 * mib, 100},         // 101 rounded down
		{64 * mib, 100},         // the default from the floor up
		{1024 * mib, 100},
	} {
		if got := floorPercent(c.live, 64*mib); got != c.want {
			t.Errorf("floorPercent(%d MiB) = %d, want %d", c.live/mib, got, c.want)
		}
	}
}

// currentGCPercent reads the GC percentage without changing it.
func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestGCFloor checks that the floor raises GOGC on this test's small heap
// after a collection, restores it when stopped, and stays off when GOGC
// is set.
func TestGCFloor(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	stop := startGCFloor(func(string) string { return "" })
	deadline := time.Now().Add(10 * time.Second)
	for currentGCPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatal("GOGC still at most 100 10 s after collections of a small heap")
		}
		runtime.GC() // each collection finalizes the sentinel; the finalizer runs soon after
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if p := currentGCPercent(); p != 100 {
		t.Errorf("GOGC %d after stop, want 100", p)
	}

	stop = startGCFloor(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	})
	defer stop()
	debug.SetGCPercent(150)
	runtime.GC()
	runtime.GC()
	if p := currentGCPercent(); p != 150 {
		t.Errorf("GOGC %d with GOGC=150 set, want 150", p)
	}
}
