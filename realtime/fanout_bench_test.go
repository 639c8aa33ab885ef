package realtime

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFanOut delivers events to 1,000 established ws:// sessions whose
// clients (goroutines of this process) drain their sockets without parsing.
// ns/delivery is the hub's dispatch, the delivery shards and the write
// system calls (which on loopback also run the receiver's TCP input), plus
// the clients' reads; allocs/delivery counts the whole process's
// allocations per recipient.
func BenchmarkFanOut(b *testing.B) {
	const sessions = 1000
	if lim := openFileLimit(); lim < 2*sessions+256 {
		b.Skipf("needs %d open files", 2*sessions+256)
	}
	th := startHub(b, Options{SendQueueLimit: 1 << 20, MaxSessionsPerUser: 1}, nil)
	var received atomic.Int64
	for i := range sessions {
		u := fmt.Sprintf("%s/user/b%04d", testApp, i)
		th.dir.set(u, ch1)
		c := th.connect(b, u, "s")
		go func() {
			buf := make([]byte, 64<<10)
			nc := c.UnderlyingConn()
			for {
				n, err := nc.Read(buf)
				received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	ev := message(ch1, "bench")
	frameLen := int64(len(textFrame(eventFrame(&ev))))
	b.ReportAllocs()
	b.ResetTimer()
	received.Store(0)
	const window = 8 // events in flight, as a sender waiting for delivery would keep
	waitFor := func(events int) {
		deadline := time.Now().Add(time.Minute)
		for received.Load() < int64(events)*sessions*frameLen {
			if time.Now().After(deadline) {
				b.Fatalf("%d bytes received, want %d", received.Load(), int64(events)*sessions*frameLen)
			}
			time.Sleep(50 * time.Microsecond) // polling a condition, with a deadline
		}
	}
	cpu0 := processCPU()
	for i := range b.N {
		waitFor(i + 1 - window)
		e := ev
		e.ID = uint64(i + 1)
		th.bus.Publish(e)
	}
	waitFor(b.N)
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*sessions), "cpu-ns/delivery")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sessions), "ns/delivery")
}
