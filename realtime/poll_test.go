package realtime

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// shapedConn is a client's TCP connection whose writes the test shapes:
// with hold set they are collected and sent as one write on flush (several
// TLS records in one TCP segment); with trickle set each write goes out a
// few bytes at a time (one record, or one frame, across many segments).
type shapedConn struct {
	net.Conn
	mu      sync.Mutex
	hold    bool
	held    []byte
	trickle bool
}

func (c *shapedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	if !c.trickle {
		return c.Conn.Write(p)
	}
	for i := 0; i < len(p); i += 3 {
		if _, err := c.Conn.Write(p[i:min(i+3, len(p))]); err != nil {
			return i, err
		}
		// Not synchronisation: it spaces the pieces out, so that the
		// server meets them as separate segments and reads.
		time.Sleep(200 * time.Microsecond)
	}
	return len(p), nil
}

func (c *shapedConn) setTrickle(on bool) {
	c.mu.Lock()
	c.trickle = on
	c.mu.Unlock()
}

func (c *shapedConn) setHold(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = on
	if on || len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = nil
	return err
}

// shapedClient dials th with a shapedConn under the websocket (and under
// TLS for a wss:// hub). raw writes bytes on the websocket's connection as
// they are: over TLS each call is one record.
type shapedClient struct {
	ws    *websocket.Conn
	conn  *shapedConn
	raw   net.Conn
	pongs chan string
	msgs  chan []byte
	done  chan error // the read loop's end
}

func dialShaped(t *testing.T, th *testHub, user, sid string) *shapedClient {
	t.Helper()
	sc := &shapedClient{pongs: make(chan string, 100), msgs: make(chan []byte, 100), done: make(chan error, 1)}
	d := *th.dialer
	dialTCP := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc.conn = &shapedConn{Conn: c}
		return sc.conn, nil
	}
	if th.dialer.TLSClientConfig != nil {
		d.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialTCP(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := th.dialer.TLSClientConfig.Clone()
			cfg.ServerName = "example.com"
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, err
			}
			return tc, nil
		}
	} else {
		d.NetDialContext = dialTCP
	}
	sc.ws = dial(t, &d, th.connectURL(user, sid, "root"))
	t.Cleanup(func() { sc.ws.Close() })
	sc.raw = sc.ws.UnderlyingConn()
	sc.ws.SetPongHandler(func(p string) error { sc.pongs <- p; return nil })
	go func() {
		for {
			_, b, err := sc.ws.ReadMessage()
			if err != nil {
				sc.done <- err
				return
			}
			sc.msgs <- b
		}
	}()
	select {
	case b := <-sc.msgs:
		if !strings.Contains(string(b), "SESSION_ESTABLISHED") {
			t.Fatalf("first frame %s", b)
		}
	case err := <-sc.done:
		t.Fatalf("before SESSION_ESTABLISHED: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no SESSION_ESTABLISHED")
	}
	return sc
}

func (sc *shapedClient) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := sc.raw.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (sc *shapedClient) expectPongs(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		var p string
		select {
		case p = <-sc.pongs:
		case err := <-sc.done:
			// The pong handler runs before the read that returns the end,
			// so a pong that came first is already queued.
			select {
			case p = <-sc.pongs:
				sc.done <- err // for expectClose
			default:
				t.Fatalf("waiting for pong %q: %v", w, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no pong %q: a ping is stuck on the server", w)
		}
		if p != w {
			t.Fatalf("pong %q, want %q", p, w)
		}
	}
}

func (sc *shapedClient) expectMessage(t *testing.T, id string) {
	t.Helper()
	select {
	case b := <-sc.msgs:
		if !strings.Contains(string(b), id) {
			t.Fatalf("frame %s, want message %s", b, id)
		}
	case err := <-sc.done:
		t.Fatalf("waiting for message %s: %v", id, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no message %s", id)
	}
}

func (sc *shapedClient) expectClose(t *testing.T, code int) {
	t.Helper()
	select {
	case err := <-sc.done:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("end of the session: %v, want close %d", err, code)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no close %d", code)
	}
}

// waitGone polls until the hub has no session left.
func waitGone(t *testing.T, th *testHub) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		th.mu.Lock()
		n := len(th.users)
		th.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d users still registered", n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
}

var testKey = [4]byte{0x11, 0x22, 0x33, 0x44}

func ping(p string) []byte { return maskedFrame(websocket.PingMessage, true, []byte(p), testKey) }

// TestReaderShapes sends the client's frames in every shape the network
// and TLS can give them, to sessions read by the poller (and, for
// comparison, by reader goroutines), over ws:// and wss://. A ping that the
// server has received but not answered (bytes kept in crypto/tls while the
// socket is not readable) shows as a missing pong: the client sends nothing
// more that would wake the session.
func TestReaderShapes(t *testing.T) {
	shapes := []struct {
		name string
		run  func(t *testing.T, th *testHub, sc *shapedClient)
	}{
		{"frames in one record", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.write(t, bytes.Join([][]byte{ping("a"), maskedFrame(websocket.TextMessage, true, []byte("ignored"), testKey), ping("b"), ping("c")}, nil))
			sc.expectPongs(t, "a", "b", "c")
		}},
		{"records in one segment", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.conn.setHold(true)
			sc.write(t, ping("1"))
			sc.write(t, maskedFrame(websocket.BinaryMessage, true, bytes.Repeat([]byte{9}, 40000), testKey)) // several records
			sc.write(t, ping("2"))
			if err := sc.conn.setHold(false); err != nil {
				t.Fatal(err)
			}
			sc.expectPongs(t, "1", "2")
		}},
		{"frame split across records", func(t *testing.T, th *testHub, sc *shapedClient) {
			f := ping("split")
			sc.write(t, f[:1])
			sc.write(t, f[1:4])
			sc.write(t, f[4:])
			sc.expectPongs(t, "split")
		}},
		{"frame split across segments", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.conn.setTrickle(true)
			sc.write(t, append(ping("slow"), maskedFrame(websocket.TextMessage, true, bytes.Repeat([]byte("t"), 300), testKey)...))
			sc.write(t, ping("after"))
			sc.expectPongs(t, "slow", "after")
		}},
		{"large data frames", func(t *testing.T, th *testHub, sc *shapedClient) {
			for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
				sc.write(t, maskedFrame(websocket.BinaryMessage, true, bytes.Repeat([]byte{7}, n), testKey))
			}
			sc.write(t, maskedFrame(websocket.TextMessage, false, []byte("frag"), testKey))
			sc.write(t, maskedFrame(0, true, bytes.Repeat([]byte("m"), 20000), testKey))
			sc.write(t, ping("still"))
			sc.expectPongs(t, "still")
			th.bus.Publish(message(ch1, "m1"))
			sc.expectMessage(t, "m1")
		}},
		{"oversize control frame", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.write(t, maskedFrame(websocket.PingMessage, true, bytes.Repeat([]byte("p"), 126), testKey))
			sc.expectClose(t, websocket.CloseProtocolError)
			waitGone(t, th)
		}},
		{"client close", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.write(t, append(ping("last"), maskedFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), testKey)...))
			sc.expectPongs(t, "last")
			sc.expectClose(t, websocket.CloseNormalClosure)
			waitGone(t, th)
		}},
		{"abrupt close", func(t *testing.T, th *testHub, sc *shapedClient) {
			sc.write(t, ping("x")[:3]) // half a frame, then the connection is gone
			sc.conn.Conn.Close()
			waitGone(t, th)
		}},
		{"events and pings interleaved", func(t *testing.T, th *testHub, sc *shapedClient) {
			for i := range 20 {
				th.bus.Publish(message(ch1, "e"+string(rune('a'+i))))
				sc.write(t, ping(string(rune('a'+i))))
			}
			for i := range 20 {
				sc.expectPongs(t, string(rune('a'+i)))
			}
			for i := range 20 {
				sc.expectMessage(t, "e"+string(rune('a'+i)))
			}
		}},
	}
	for _, transport := range []string{"ws", "wss"} {
		for _, blocking := range []bool{false, true} {
			name := transport + "/polled"
			if blocking {
				name = transport + "/goroutine"
			}
			t.Run(name, func(t *testing.T) {
				if !blocking && newPoller() == nil {
					t.Skip("no poller on this system")
				}
				for _, sh := range shapes {
					t.Run(sh.name, func(t *testing.T) {
						th := startHubServer(t, Options{BlockingReaders: blocking}, nil, transport == "wss")
						th.dir.set(alice, ch1)
						sc := dialShaped(t, th, alice, "a")
						th.mu.Lock()
						var s *session
						for _, s = range th.users[alice].sessions {
						}
						th.mu.Unlock()
						if polled := s.nc.sock != nil && th.poll != nil; polled == blocking {
							t.Fatalf("polled %v, want %v", polled, !blocking)
						}
						sh.run(t, th, sc)
					})
				}
			})
		}
	}
}
