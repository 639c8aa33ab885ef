package realtime

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFanOut2000 connects 2,000 sessions of 2,000 users to one channel and
// publishes N messages: every session must receive every message, in
// publish order, while one session that never reads is dropped with the
// retryable slow-consumer code and nobody else is.
//
// Messages are published with a window: message i goes out once every
// session has received message i-window. No session that reads can then
// have more than window frames queued, so with a queue limit above the
// window only the client that stopped reading can overflow, which is the
// behaviour under test, and deterministically so; the window still lets
// several frames queue up per session, so writes are coalesced. The slow
// client's and the server's socket buffers are shrunk so that its queue
// overflows within n messages.
func TestFanOut2000(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 sockets; skipped with -short")
	}
	skipSlowConsumer(t)
	const (
		sessions = 2000
		n        = 50
		window   = 8
		size     = 1024
	)
	if lim := openFileLimit(); lim < 2*sessions+256 {
		t.Skipf("needs %d open files (both ends of %d loopback sockets), the limit is %d: raise it with ulimit -n", 2*sessions+256, sessions, lim)
	}
	slowDropped := make(chan string, 1)
	// No pings: under -race on a loaded machine the test outlasts the
	// default interval, and gorilla's clients give up when a pong takes
	// them more than a second to write.
	th := startHub(t, Options{SendQueueLimit: window + 2, WriteTimeout: time.Minute, MaxSessionsPerUser: 1, PingInterval: time.Hour,
		onSlowConsumer: func(user, _ string) { slowDropped <- user }}, smallSendBuffers)
	user := func(i int) string { return fmt.Sprintf("%s/user/u%04d", testApp, i) }
	for i := range sessions {
		th.dir.set(user(i), ch1)
	}
	slowUser := testApp + "/user/slow"
	th.dir.set(slowUser, ch1)

	start := time.Now()
	conns := make([]*websocket.Conn, sessions)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= sessions {
					return
				}
				c, _, err := websocket.DefaultDialer.Dial(th.connectURL(user(i), "s", "root"), nil)
				if err != nil {
					t.Errorf("dial %d: %v", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	slow := dial(t, smallReceiveBufferDialer(), th.connectURL(slowUser, "s", "root"))
	defer slow.Close()
	if f := readFrame(t, slow); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
		t.Fatalf("slow consumer's first frame %s", f.raw)
	}

	// Every fast session is established before the first publish.
	for i, c := range conns {
		if f := readFrame(t, c); f.Headers["x-amz-chime-event-type"] != "SESSION_ESTABLISHED" {
			t.Fatalf("session %d: first frame %s", i, f.raw)
		}
	}
	connected := time.Since(start)

	var received [n]atomic.Int32
	var all [n]chan struct{}
	for i := range all {
		all[i] = make(chan struct{})
	}
	ends := make(chan error, sessions)
	for s, c := range conns {
		c.SetReadDeadline(time.Time{}) // readFrame's guard; the waits below have their own
		go func() {
			for i := 0; ; i++ {
				_, b, err := c.ReadMessage()
				if err != nil {
					if i < n {
						err = fmt.Errorf("session %d: after %d messages: %w", s, i, err)
					}
					ends <- err
					return
				}
				if i >= n {
					ends <- fmt.Errorf("session %d: unexpected frame %s", s, b)
					return
				}
				if got, want := frameMessageID(b), msgID(i); got != want {
					ends <- fmt.Errorf("session %d: message %d is %q, want %q", s, i, got, want)
					return
				}
				if received[i].Add(1) == sessions {
					close(all[i])
				}
			}
		}()
	}

	// A failing session never completes a message; the timeout turns that
	// into the error it reported instead of a hang.
	waitAll := func(i int) {
		t.Helper()
		select {
		case <-all[i]:
		case err := <-ends:
			t.Fatalf("waiting for message %d: %v", i, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("message %d reached %d of %d sessions in 30s", i, received[i].Load(), sessions)
		}
	}
	pubStart := time.Now()
	for i := range n {
		if i >= window {
			waitAll(i - window)
		}
		th.bus.Publish(bigMessage(ch1, msgID(i), size))
	}
	waitAll(n - 1)
	delivered := time.Since(pubStart)
	select {
	case u := <-slowDropped:
		if u != slowUser {
			t.Fatalf("dropped %s, want only the slow consumer", u)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the slow consumer was not dropped")
	}
	t.Logf("%d sessions connected in %v; %d messages × %d sessions delivered in %v (%.0f frames/s)",
		sessions, connected.Round(time.Millisecond), n, sessions, delivered.Round(time.Millisecond), float64(n*sessions)/delivered.Seconds())

	// The slow consumer reads what reached it, in order, then the close.
	for i := 0; ; i++ {
		slow.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, b, err := slow.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseTryAgainLater {
				t.Fatalf("slow consumer: %v, want close %d", err, CloseTryAgainLater)
			}
			t.Logf("slow consumer received %d of %d messages, then close %d %q", i, n, ce.Code, ce.Text)
			break
		}
		if got, want := frameMessageID(b), msgID(i); got != want {
			t.Fatalf("slow consumer: message %d is %q, want %q", i, got, want)
		}
	}

	// Draining closes every fast session with 1001 and nothing else.
	if err := th.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range sessions {
		err := <-ends
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != CloseGoingAway {
			t.Fatalf("fast session ended with %v, want close %d at the drain", err, CloseGoingAway)
		}
	}
}

func msgID(i int) string { return fmt.Sprintf("m-%04d", i) }

// frameMessageID finds the MessageId in a raw frame without decoding it:
// 100,000 frames are checked, and the frame format has its own tests.
func frameMessageID(b []byte) string {
	key := []byte(`\"MessageId\":\"`)
	i := bytes.Index(b, key)
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.Index(rest, []byte(`\"`))
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
