package throttle

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const ch = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/channel/c1"

func TestRates(t *testing.T) {
	tests := []struct {
		name    string
		call    func(i int) Call
		allowed int // in one instant, from full buckets
	}{
		{"per bearer across operations", func(i int) Call {
			return Call{Operation: []string{"DescribeChannel", "ListChannelMessages"}[i%2], Messaging: true, Bearer: "alice",
				Channel: fmt.Sprintf("%s-%d", ch, i)}
		}, 10},
		{"per channel, bearers differ", func(i int) Call {
			return Call{Operation: "SendChannelMessage", Messaging: true, Bearer: fmt.Sprint("u", i), Channel: ch}
		}, 30},
		{"message changes share a bucket", func(i int) Call {
			return Call{Operation: []string{"SendChannelMessage", "UpdateChannelMessage", "DeleteChannelMessage"}[i%3], Messaging: true, Bearer: fmt.Sprint("u", i), Channel: ch}
		}, 30},
		{"per app instance", func(i int) Call {
			return Call{Operation: "CreateChannel", Messaging: true, Bearer: fmt.Sprint("u", i), AppInstance: "ai"}
		}, 15},
		{"per account", func(i int) Call { return Call{Operation: "CreateAppInstance", Identity: true} }, 5},
		{"identity total", func(i int) Call {
			return Call{Operation: "DescribeAppInstanceUser", Identity: true, User: fmt.Sprint("u", i)}
		}, 50},
		{"batch", func(i int) Call {
			return Call{Operation: "BatchCreateChannelMembership", Messaging: true, Bearer: fmt.Sprint("u", i), Channel: ch}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1e9, 0)}
			l := NewAWS()
			l.SetClock(c.now)
			n := 0
			for i := 0; i < 200; i++ {
				err := l.Allow(tt.call(i))
				if err == nil {
					n++
					continue
				}
				var r *Refusal
				if !errors.As(err, &r) {
					t.Fatalf("refusal of type %T", err)
				}
			}
			if n != tt.allowed {
				t.Errorf("allowed %d in one instant, want %d", n, tt.allowed)
			}
			// A second later, a second's worth is back.
			c.add(time.Second)
			if err := l.Allow(tt.call(1000)); err != nil {
				t.Errorf("after a second: %v", err)
			}
		})
	}
}

func TestNilAndUnlistedAllow(t *testing.T) {
	var l *Limiter
	if l.Allow(Call{Operation: "SendChannelMessage", Bearer: "a", Messaging: true}) != nil {
		t.Error("nil limiter refused")
	}
	if NewAWS().Allow(Call{Operation: "TagResource"}) != nil {
		t.Error("an operation with no rate was refused")
	}
}

// Idle buckets are swept: a flood of distinct keys does not stay in memory.
func TestIdleBucketsEvicted(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewAWS()
	l.SetClock(c.now)
	for i := 0; i < 10000; i++ {
		l.Allow(Call{Operation: "DescribeChannel", Channel: fmt.Sprint("c", i)})
	}
	if l.Len() != 10000 {
		t.Fatalf("%d buckets", l.Len())
	}
	c.add(time.Minute)
	l.Allow(Call{Operation: "DescribeChannel", Channel: "new"})
	if l.Len() > 1 {
		t.Errorf("%d buckets after a minute idle, want 1", l.Len())
	}
	// The hard bound holds even without idle time.
	l.maxBuckets = 100
	for i := 0; i < 1000; i++ {
		l.Allow(Call{Operation: "DescribeChannel", Channel: fmt.Sprint("d", i)})
	}
	if l.Len() > 100 {
		t.Errorf("%d buckets, bound 100", l.Len())
	}
}
