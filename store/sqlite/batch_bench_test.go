package sqlite

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// BenchmarkWriteBatch runs batches of send-like Updates (touch the channel,
// insert a message with a ClientRequestToken, append an outbox event)
// through the write loop's runBatch directly, in this goroutine: the
// writer's CPU per Update (ns/op) at a fixed batch size, without the
// scheduling noise of concurrent senders.
func BenchmarkWriteBatch(b *testing.B) {
	for _, size := range []int{1, 8, 32} {
		b.Run(fmt.Sprint("batch-", size), func(b *testing.B) {
			ctx := context.Background()
			db, start := openWithChannels(b, "c")
			n := 0
			send := func(tx store.Tx) error {
				n++
				now := start.Add(time.Duration(n) * time.Millisecond)
				if _, err := tx.TouchChannel(ctx, "app", "c", now, nil); err != nil {
					return err
				}
				m := store.ChannelMessage{AppInstanceID: "app", ChannelID: "c", MessageID: fmt.Sprintf("%064x", n), Content: "hello",
					Type: "STANDARD", Sender: store.Actor{Kind: store.MemberUser, ID: "u"}, Status: "SENT",
					ClientToken: fmt.Sprintf("token-%d", n), CreatedAt: now, UpdatedAt: now}
				if _, _, err := tx.CreateChannelMessageOnce(ctx, m, "send", start); err != nil {
					return err
				}
				_, err := tx.AppendOutbox(ctx, []byte(`{"type":"CREATE_CHANNEL_MESSAGE","payload":"hello"}`))
				return err
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			defer func() {
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			}()
			for i := 0; i < b.N; i += size {
				batch := make([]*writeReq, min(size, b.N-i))
				for j := range batch {
					batch[j] = &writeReq{ctx: ctx, fn: send, done: make(chan struct{})}
				}
				db.runBatch(batch)
				for _, r := range batch {
					if r.err != nil || r.panic != nil {
						b.Fatal(r.err, r.panic)
					}
				}
			}
		})
	}
}

// processCPU is the process's CPU time (user and system, every thread):
// on a shared machine a steadier figure than the wall clock's ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
