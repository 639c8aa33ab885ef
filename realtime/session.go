package realtime

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
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
// An idle session has no goroutine. On Linux the poller starts a reader
// (reader.go) when the client's bytes arrive, which discards data frames,
// answers pings and the close handshake, and ends when nothing more is
// pending; elsewhere one reader goroutine lives as long as the session.
// Missing pongs are noticed by the ping timer (pingFired). There is no
// writer goroutine while the session is idle either. The hub writes a frame
// straight to an idle plain-TCP socket when the kernel takes it whole
// without blocking (the common case: the socket's send buffer has room);
// otherwise the frame is queued and a writer goroutine is started, which
// drains the queue and exits when it is empty. The ping timer starts a
// writer the same way. Nothing the hub does blocks on a session: the queue
// is bounded, and the direct write never waits.
type session struct {
	hub *Hub
	id  string
	nc  *frameConn // gorilla's Conn is dropped after the upgrade: frames are written here

	// Guarded by hub.mu.
	user    *user
	state   sessionState
	shard   uint8              // the delivery shard (Hub.deliverLoop); fixed at registration
	changes []membershipChange // while pending
	mark    uint64             // hub.seq of the last event queued here

	// lastRead is when the client's last frame arrived (Hub.clock).
	lastRead atomic.Int64
	// ended is set by end, once.
	ended atomic.Bool
	// pollID is the session's registration in the poller (guarded by
	// its lock); 0 when it has none.
	pollID uint32

	mu          sync.Mutex
	queue       [][]byte // complete wire frames, shared with other sessions
	writing     bool     // a writer goroutine runs (for good once the session ends)
	pingDue     bool
	closeSent   bool // the close frame is out; the reader only waits for the answer
	closeCode   int  // non-zero once a close was requested
	closeReason string
	cancelLoad  context.CancelFunc
	ping        *time.Timer
	// writerExited is closed when the session's last writer has ended it.
	writerExited chan struct{}
}

func newSession(h *Hub, id string, nc *frameConn) *session {
	return &session{hub: h, id: id, nc: nc, writerExited: make(chan struct{})}
}

// start arms the session's ping timer and hands it to the poller, or, when
// it cannot be polled, to a reader goroutine of its own.
func (s *session) start() {
	s.lastRead.Store(s.hub.clock())
	s.mu.Lock()
	s.ping = time.AfterFunc(s.hub.opts.PingInterval, s.pingFired)
	s.mu.Unlock()
	if s.hub.poll != nil && s.nc.sock != nil {
		// A first read, not only an arm: over TLS, crypto/tls may already
		// hold bytes the client sent with its handshake.
		go s.wake()
		return
	}
	go s.readLoop()
}

// end ends the session, once, whatever noticed that it is over: its reader
// (the connection's end, a close frame, a protocol error), the ping timer (no
// frame for two intervals), the close handshake's timer, or a writer that
// failed. It stops the writer, closes the connection, waits for the writer
// to exit and takes the session out of the hub.
func (s *session) end() {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	s.close(closeSilently, "", false)
	if s.hub.poll != nil {
		s.hub.poll.forget(s)
	}
	s.nc.Close()
	<-s.writerExited
	s.hub.remove(s)
	s.hub.wg.Done()
}

// enqueue hands a frame to the session. It reports false when the queue is
// full; the caller then drops the session. A closing session accepts and
// discards frames. It never blocks on the network.
func (s *session) enqueue(frame []byte) bool {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return true
	}
	if !s.writing && len(s.queue) == 0 {
		// Idle: nothing is ahead of this frame, so it may go out now.
		n := s.nc.tryWrite(frame)
		if n == len(frame) {
			s.mu.Unlock()
			return true
		}
		if n > 0 {
			// The frameConn holds the rest and writes it before anything
			// else; the writer started here flushes it.
			s.claimWriterLocked()
			s.mu.Unlock()
			go s.writeLoop()
			return true
		}
	} else if len(s.queue) >= s.hub.opts.SendQueueLimit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, frame)
	start := s.claimWriterLocked()
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
	return true
}

// enqueueFirst queues SESSION_ESTABLISHED and the prefetch frames; they are
// the first frames of the session and do not count against the limit.
func (s *session) enqueueFirst(frames [][]byte) {
	s.mu.Lock()
	start := false
	if s.closeCode == 0 {
		s.queue = append(s.queue, frames...)
		start = s.claimWriterLocked()
	}
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
}

// claimWriterLocked reports whether the caller must start a writer: none
// runs. s.mu is held.
func (s *session) claimWriterLocked() bool {
	if s.writing {
		return false
	}
	s.writing = true
	return true
}

// pingFired runs on the ping timer's own goroutine, which becomes the
// writer if none runs. A client that has sent no frame (a pong at least)
// for two intervals is gone: the session ends.
func (s *session) pingFired() {
	if s.hub.clock()-s.lastRead.Load() > int64(2*s.hub.opts.PingInterval) {
		s.end()
		return
	}
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return
	}
	s.pingDue = true
	start := s.claimWriterLocked()
	s.mu.Unlock()
	if start {
		s.writeLoop()
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
	start := s.claimWriterLocked()
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if code != closeSilently {
		s.hub.metrics.closes.WithLabelValues(closeLabel(code)).Inc()
	}
	if start {
		go s.writeLoop()
	}
}

// setLoadCancel lets a close interrupt the Directory calls of a loading
// session; it reports false when the session is already closing.
func (s *session) setLoadCancel(cancel context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelLoad = cancel
	return s.closeCode == 0
}

// writeLoop is the session's writer while it has something to write: each
// round takes everything queued and writes it at once (writeFrames), then
// any ping due; it returns when nothing is left. The last writer of a
// session sends the close frame (or drops the connection) and closes
// writerExited. At most one writer runs at a time (session.writing).
func (s *session) writeLoop() {
	h := s.hub
	var batch [][]byte
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		ping := s.pingDue
		s.pingDue = false
		code, reason := s.closeCode, s.closeReason
		if len(batch) == 0 && !ping && code == 0 && !s.nc.hasPartial() {
			// Idle again: the session keeps no goroutine and little queue.
			if cap(s.queue) > 16 {
				s.queue = nil
			}
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if len(batch) > 0 || s.nc.hasPartial() {
			err := s.nc.writeFrames(batch, time.Now().Add(h.opts.WriteTimeout))
			clear(batch) // the frames are shared; do not keep them alive
			if err != nil {
				s.abort()
				return
			}
			h.metrics.framesSent.Add(float64(len(batch)))
			if cap(batch) > 64 {
				batch = nil // a burst is over
			}
		}
		if code != 0 {
			awaiting := s.sendClose(code, reason)
			s.finish()
			if !awaiting {
				s.end()
			}
			return
		}
		if ping {
			if err := s.nc.writeControl(websocket.PingMessage, nil, time.Now().Add(h.opts.WriteTimeout)); err != nil {
				s.abort()
				return
			}
			s.ping.Reset(h.opts.PingInterval)
		}
	}
}

// finish is the last writer's end of the writing side. writing stays true,
// so no writer starts again.
func (s *session) finish() {
	s.mu.Lock()
	if s.ping != nil {
		s.ping.Stop()
	}
	s.mu.Unlock()
	close(s.writerExited)
}

// sendClose writes the close frame and gives the peer closeGrace to answer
// (the reader ends the session on the answer) before the session ends
// anyway. It reports false when the connection was closed instead.
func (s *session) sendClose(code int, reason string) (awaiting bool) {
	if code == closeSilently {
		s.nc.Close()
		return false
	}
	err := s.nc.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.hub.opts.WriteTimeout))
	if err != nil {
		s.nc.Close()
		return false
	}
	s.mu.Lock()
	s.closeSent = true
	s.mu.Unlock()
	time.AfterFunc(closeGrace, s.end)
	return true
}

// abort ends a session whose connection failed. Only the writer calls it.
func (s *session) abort() {
	s.mu.Lock()
	if s.closeCode == 0 {
		s.closeCode = closeSilently
	}
	clear(s.queue)
	s.queue = nil
	s.mu.Unlock()
	s.nc.Close()
	s.finish()
	s.end()
}

// frameConn is the network connection under a session's websocket. Two
// kinds of writes share it: the session's data frames, written here directly
// from their shared wire form, and the control frames gorilla writes (pings,
// pongs, close). Its lock makes each write whole, so frames never
// interleave; a frame that a non-blocking write (tryWrite) left half-sent is
// completed before anything else is written.
type frameConn struct {
	net.Conn
	fd   int             // plain TCP only: the socket, for non-blocking writes (tryWrite); -1 otherwise
	tcp  *net.TCPConn    // plain TCP only: gathered writes (writeFrames)
	sock syscall.RawConn // the socket, when the poller can watch it (see read)
	rec  *nbConn         // over TLS: the connection under crypto/tls, read without waiting

	mu         sync.Mutex
	partial    []byte      // the unsent rest of a frame tryWrite began
	partialSet atomic.Bool // partial != nil, readable without mu

	// fdMu keeps fd open while tryWrite uses it: Close takes it before
	// closing the socket, so a descriptor number reused by another
	// connection is never written to.
	fdMu   sync.Mutex
	closed bool
}

// newFrameConn finds the socket under c, through the wrappers that expose
// their inner connection. A plain connection gets the fast write paths and
// the poller; a TLS one the poller only when it was accepted by TLSListener,
// whose nbConn reads without waiting.
func newFrameConn(c net.Conn) *frameConn {
	fc := &frameConn{Conn: c, fd: -1}
	overTLS := false
	inner := c
loop:
	for range 8 {
		switch v := inner.(type) {
		case *net.TCPConn:
			rc, err := v.SyscallConn()
			if err != nil {
				break loop
			}
			if !overTLS {
				fc.fd, fc.tcp, fc.sock = socketFD(rc), v, rc
			} else if fc.rec != nil {
				fc.sock, fc.rec.sock = rc, rc
			}
			break loop
		case *tls.Conn:
			overTLS = true
			inner = v.NetConn()
		case *nbConn:
			if overTLS {
				fc.rec = v
			}
			inner = v.Conn
		case interface{ NetConn() net.Conn }:
			inner = v.NetConn()
		default:
			break loop
		}
	}
	return fc
}

// read reads the client's bytes. With wait false it returns errWouldBlock
// instead of waiting when nothing is pending, in the socket or in the TLS
// layer (only for a connection the poller watches).
func (c *frameConn) read(p []byte, wait bool) (int, error) {
	if c.rec != nil {
		c.rec.nonblock = !wait
		n, err := c.Conn.Read(p)
		c.rec.nonblock = false
		return n, err
	}
	if !wait && c.sock != nil {
		return nonblockingRead(c.sock, p)
	}
	return c.Conn.Read(p)
}

func (c *frameConn) hasPartial() bool { return c.partialSet.Load() }

// tryWrite writes as much of frame as the socket takes without blocking and
// returns how much that was; the rest, if any, is kept and written before
// anything else on the connection. It writes nothing (0) over TLS, where a
// record cannot be half-sent, when a write is in progress, or when a
// partial frame is still pending.
func (c *frameConn) tryWrite(frame []byte) int {
	if c.fd < 0 || c.partialSet.Load() || !c.mu.TryLock() {
		return 0
	}
	defer c.mu.Unlock()
	c.fdMu.Lock()
	n := 0
	if !c.closed {
		n = nonblockingWrite(c.fd, frame)
	}
	c.fdMu.Unlock()
	if n > 0 && n < len(frame) {
		c.partial = frame[n:]
		c.partialSet.Store(true)
	}
	return n
}

// writePartialLocked completes a frame tryWrite began; c.mu is held.
func (c *frameConn) writePartialLocked() error {
	if c.partial == nil {
		return nil
	}
	_, err := c.Conn.Write(c.partial)
	c.partial = nil
	c.partialSet.Store(false)
	return err
}

// writeControl writes a control frame (RFC 6455 §5.5: unmasked from the
// server, payload at most 125 bytes; a longer close reason is cut).
func (c *frameConn) writeControl(op int, payload []byte, deadline time.Time) error {
	payload = payload[:min(len(payload), 125)]
	b := make([]byte, 2, 2+len(payload))
	b[0], b[1] = 0x80|byte(op), byte(len(payload))
	b = append(b, payload...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(deadline)
	if err := c.writePartialLocked(); err != nil {
		return err
	}
	_, err := c.Conn.Write(b)
	return err
}

// batchBufs hold the frames of one write over TLS.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxWrite is the most one write over TLS gathers; a larger batch is
// written in pieces of about this size, so a burst never needs a huge
// buffer.
const maxWrite = 64 << 10

// writeFrames writes complete frames, in order, after any partial frame,
// with as few syscalls as it can: on TCP one writev for all of them (the
// kernel gathers the shared frames, nothing is copied); over TLS, where
// each Write is at least one record, they are first copied into one buffer
// of up to maxWrite bytes. frames' elements may be modified (writev
// consumes them).
func (c *frameConn) writeFrames(frames [][]byte, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Conn.SetWriteDeadline(deadline)
	if err := c.writePartialLocked(); err != nil {
		return err
	}
	switch len(frames) {
	case 0:
		return nil
	case 1:
		_, err := c.Conn.Write(frames[0])
		return err
	}
	if c.tcp != nil {
		bufs := net.Buffers(frames)
		_, err := bufs.WriteTo(c.tcp)
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
	c.fdMu.Lock()
	c.closed = true
	c.fdMu.Unlock()
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.NetConn().Close()
	}
	return c.Conn.Close()
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writePartialLocked(); err != nil {
		return 0, err
	}
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
	h.conn = newFrameConn(c)
	return h.conn, brw, nil
}
