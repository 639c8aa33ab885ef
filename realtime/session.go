package realtime

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeGrace is how long a closing side waits for the peer's close frame
// before dropping the TCP connection.
const closeGrace = 3 * time.Second

type sessionState uint8

const (
	stateNew         sessionState = iota // upgraded, not registered
	statePending                         // registered, loading its channel list
	stateEstablished                     // in the index, receiving events
	stateGone                            // out of the registry
)

// session is one websocket connection: (userArn, sessionId).
//
// Two goroutines serve it: the reader (discards client frames, answers
// pings, detects the close and missing pongs) and the writer (drains the
// send queue, pings, sends the close frame). Nothing else blocks on it:
// the hub only appends to the queue, which is bounded.
type session struct {
	hub *Hub
	id  string
	ws  *websocket.Conn
	nc  *frameConn

	// Guarded by hub.mu.
	user    *user
	state   sessionState
	changes []membershipChange // while pending
	mark    uint64             // hub.seq of the last event queued here

	mu           sync.Mutex
	queue        [][]byte // complete wire frames, shared with other sessions
	closeCode    int      // non-zero once a close was requested
	closeReason  string
	closeSent    bool // the close frame is out; the reader only waits for the answer
	cancelLoad   context.CancelFunc
	wake         chan struct{}
	writerExited chan struct{}
}

func newSession(h *Hub, id string, ws *websocket.Conn, nc *frameConn) *session {
	return &session{hub: h, id: id, ws: ws, nc: nc, wake: make(chan struct{}, 1), writerExited: make(chan struct{})}
}

// enqueue appends a frame for the writer. It reports false when the queue
// is full; the caller then drops the session. A closing session accepts and
// discards frames.
func (s *session) enqueue(frame []byte) bool {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return true
	}
	if len(s.queue) >= s.hub.opts.SendQueueLimit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, frame)
	s.mu.Unlock()
	s.signal()
	return true
}

// enqueueFirst queues SESSION_ESTABLISHED and the prefetch frames; they are
// the first frames of the session and do not count against the limit.
func (s *session) enqueueFirst(frames [][]byte) {
	s.mu.Lock()
	if s.closeCode == 0 {
		s.queue = append(s.queue, frames...)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close asks the writer to end the session with code (closeSilently: no
// close frame). With flush the frames already queued are written first;
// without, they are dropped. Only the first request counts.
func (s *session) close(code int, reason string, flush bool) {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return
	}
	s.closeCode, s.closeReason = code, reason
	if !flush {
		clear(s.queue)
		s.queue = nil
	}
	cancel := s.cancelLoad
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if code != closeSilently {
		s.hub.metrics.closes.WithLabelValues(closeLabel(code)).Inc()
	}
	s.signal()
}

// setLoadCancel lets a close interrupt the Directory calls of a loading
// session; it reports false when the session is already closing.
func (s *session) setLoadCancel(cancel context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelLoad = cancel
	return s.closeCode == 0
}

// writeLoop is the session's only writer of data frames and pings. Each
// wake-up takes everything queued and writes it at once (writeFrames).
func (s *session) writeLoop() {
	defer close(s.writerExited)
	h := s.hub
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	var batch [][]byte
	for {
		select {
		case <-s.wake:
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.opts.WriteTimeout)); err != nil {
				s.abort()
				return
			}
			continue
		}
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		code, reason := s.closeCode, s.closeReason
		s.mu.Unlock()
		if len(batch) > 0 {
			err := s.nc.writeFrames(batch, time.Now().Add(h.opts.WriteTimeout))
			clear(batch) // the frames are shared; do not keep them alive
			if err != nil {
				s.abort()
				return
			}
			h.metrics.framesSent.Add(float64(len(batch)))
			if cap(batch) > 64 {
				batch = nil // a burst is over; an idle session keeps little
			}
		}
		if code != 0 {
			s.sendClose(code, reason)
			return
		}
	}
}

// sendClose writes the close frame and gives the peer closeGrace to answer
// before the reader gives up and drops the connection.
func (s *session) sendClose(code int, reason string) {
	if code == closeSilently {
		s.nc.Close()
		return
	}
	err := s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.hub.opts.WriteTimeout))
	if err != nil {
		s.nc.Close()
		return
	}
	s.mu.Lock()
	s.closeSent = true
	s.nc.SetReadDeadline(time.Now().Add(closeGrace))
	s.mu.Unlock()
}

// abort ends a session whose connection failed: no more frames, and the
// reader is woken by the closed connection.
func (s *session) abort() {
	s.mu.Lock()
	if s.closeCode == 0 {
		s.closeCode = closeSilently
	}
	clear(s.queue)
	s.queue = nil
	s.mu.Unlock()
	s.nc.Close()
}

// readLoop discards what the client sends (the SDK sends nothing but
// control frames), answers pings, and ends the session when the
// connection closes or two ping intervals pass without a pong.
func (s *session) readLoop() {
	h := s.hub
	defer h.wg.Done()
	s.extendReadDeadline()
	s.ws.SetPongHandler(func(string) error {
		s.extendReadDeadline()
		return nil
	})
	s.ws.SetPingHandler(func(data string) error {
		s.extendReadDeadline()
		err := s.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(h.opts.WriteTimeout))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	for {
		_, r, err := s.ws.NextReader()
		if err != nil {
			break
		}
		s.extendReadDeadline()
		if _, err := io.Copy(io.Discard, r); err != nil {
			break
		}
	}
	// Whatever ended the read side ends the session: stop the writer, wake
	// it if it is blocked on the network, and wait for it.
	s.close(closeSilently, "", false)
	s.nc.Close()
	<-s.writerExited
	h.remove(s)
}

// extendReadDeadline gives the client two ping intervals to show it is
// alive, unless the close frame is out and only its answer is awaited.
func (s *session) extendReadDeadline() {
	s.mu.Lock()
	if !s.closeSent {
		s.nc.SetReadDeadline(time.Now().Add(2 * s.hub.opts.PingInterval))
	}
	s.mu.Unlock()
}

// frameConn is the network connection under a session's websocket. Two
// kinds of writes share it: the writer's data frames, written here directly
// from their shared wire form, and the control frames gorilla writes (pings,
// pongs, close). Its lock makes each write whole, so frames never
// interleave.
type frameConn struct {
	net.Conn
	mu sync.Mutex
}

// batchBufs hold the frames of one write over TLS.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxWrite is the most one write over TLS gathers; a larger batch is
// written in pieces of about this size, so a burst never needs a huge
// buffer.
const maxWrite = 64 << 10

// writeFrames writes complete frames, in order, with as few syscalls as it
// can: on TCP one writev for all of them (the kernel gathers the shared
// frames, nothing is copied); over TLS, where each Write is at least one
// record, they are first copied into one buffer of up to maxWrite bytes.
// frames' elements may be modified (writev consumes them).
func (c *frameConn) writeFrames(frames [][]byte, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(deadline)
	if len(frames) == 1 {
		_, err := c.Conn.Write(frames[0])
		return err
	}
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		bufs := net.Buffers(frames)
		_, err := bufs.WriteTo(tc)
		return err
	}
	bp := batchBufs.Get().(*[]byte)
	b := (*bp)[:0]
	var err error
	for i, f := range frames {
		b = append(b, f...)
		if len(b) >= maxWrite || i == len(frames)-1 {
			if _, err = c.Conn.Write(b); err != nil {
				break
			}
			b = b[:0]
		}
	}
	if cap(b) <= 2*maxWrite {
		*bp = b[:0]
		batchBufs.Put(bp)
	}
	return err
}

// Close closes the TCP connection at once. Over TLS it skips the
// close_notify alert, which could block for seconds on a full socket: the
// websocket close handshake, when there is one, has already said goodbye.
func (c *frameConn) Close() error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.NetConn().Close()
	}
	return c.Conn.Close()
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(p)
}

// SetWriteDeadline and SetDeadline wait for a write in progress, so that a
// control frame cannot change the deadline under the writer's frames.
func (c *frameConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *frameConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

// hijacker hands gorilla a frameConn instead of the raw connection.
type hijacker struct {
	http.ResponseWriter
	conn *frameConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &frameConn{Conn: c}
	return h.conn, brw, nil
}
