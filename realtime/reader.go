package realtime

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The session's reader parses the client's frames itself (RFC 6455 §5)
// instead of going through gorilla's reader: the SDK only ever sends
// control frames (pongs, a ping now and then, the close), so a reader is
// needed for a moment every ping interval and never in between.
//
// On Linux an idle session has no reader at all: the poller (poll_linux.go)
// starts one (wake) when the socket becomes readable. It reads, with a
// buffer from readBufs, until the client has nothing more pending at a frame
// boundary, returns the buffer and re-arms the poller. Elsewhere, or with
// Options.BlockingReaders, each session keeps a reader goroutine (readLoop)
// with a small buffer of its own.

// errProtocol ends a session whose client broke the framing rules.
var errProtocol = errors.New("websocket protocol error")

// errSessionEnded is the poller's answer for a session that has ended.
var errSessionEnded = errors.New("session ended")

// readBufSize holds a whole TLS record's plaintext (2^14 bytes, RFC 8446
// §5.1), so that one tls.Conn.Read takes a record at once.
const readBufSize = 16 << 10

// readBufs are the buffers of the readers started by the poller; a buffer
// is held only while its reader runs.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// blockingReadBuf is the buffer of a reader goroutine that lives as long as
// its session: large enough for the largest control frame (14-byte header,
// 125-byte payload), as small as that allows, since it is held while idle.
const blockingReadBuf = 256

// readLoop is the reader goroutine of a session that is not polled.
func (s *session) readLoop() {
	fr := frameReader{buf: make([]byte, blockingReadBuf)}
	s.readEnded(fr.run(s, false))
}

// wake is a reader started by the poller: it reads what is pending and
// hands the session back to the poller, or ends the session.
func (s *session) wake() {
	if s.ended.Load() {
		return
	}
	// Bounds the reads in the middle of a frame or a TLS record, which
	// wait for the rest (the socket is already readable when wake starts).
	s.nc.SetReadDeadline(time.Now().Add(2 * s.hub.opts.PingInterval))
	bp := readBufs.Get().(*[]byte)
	fr := frameReader{buf: *bp, pooled: bp}
	err := fr.run(s, true)
	if fr.pooled != nil {
		readBufs.Put(fr.pooled)
	}
	if err == errWouldBlock {
		if err = s.hub.poll.arm(s); err == nil {
			return
		}
	}
	s.readEnded(err)
}

// readEnded ends the session after its reader met err: the connection's
// end, a close frame (io.EOF), a broken frame (errProtocol).
func (s *session) readEnded(err error) {
	if err == errProtocol {
		s.nc.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, ""), time.Now().Add(s.hub.opts.WriteTimeout))
	}
	s.end()
}

// frameReader is the state of one reader: the unparsed bytes buf[r:w], and
// the rest of a data frame being skipped.
type frameReader struct {
	buf    []byte
	pooled *[]byte // buf's entry in readBufs, while buf is a pooled buffer
	r, w   int
	skip   uint64
}

// frameEnd is what a frameReader reads from and hands the frames to: the
// session (and the fuzz test's stand-in).
type frameEnd interface {
	// read is frameConn.read.
	read(p []byte, wait bool) (int, error)
	// frame handles the frame at the start of b and returns how many bytes
	// it took: 0 when b holds only part of its header (or, for a control
	// frame, of its payload). A data frame's payload is not taken: skip is
	// its length, for the reader to discard.
	frame(b []byte) (n int, skip uint64, err error)
}

// run handles the client's frames until an error. With poll set it returns
// errWouldBlock once nothing is pending at a frame boundary; without, it
// waits for the next frame.
func (fr *frameReader) run(e frameEnd, poll bool) error {
	for {
		if fr.skip > 0 { // a data frame's payload: discarded as it streams
			if fr.r == fr.w {
				if err := fr.fill(e, false); err != nil {
					return err
				}
			}
			k := min(fr.skip, uint64(fr.w-fr.r))
			fr.r += int(k)
			fr.skip -= k
			continue
		}
		n, skip, err := e.frame(fr.buf[fr.r:fr.w])
		if err != nil {
			return err
		}
		if n > 0 {
			fr.r += n
			fr.skip = skip
			continue
		}
		// An incomplete frame: read more. Only at a frame boundary may the
		// poller's reader stop.
		if err := fr.fill(e, poll && fr.r == fr.w); err != nil {
			return err
		}
	}
}

// fill reads more bytes, moving an incomplete frame to the front.
func (fr *frameReader) fill(e frameEnd, mayStop bool) error {
	if fr.r == fr.w {
		fr.r, fr.w = 0, 0
	} else if fr.r > 0 {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	if !mayStop && fr.pooled != nil {
		// About to wait for the rest of a frame, for as long as the
		// client takes: on a small buffer of its own, so that clients
		// sending parts of frames cannot hold a pooled buffer each.
		small := make([]byte, blockingReadBuf)
		fr.w = copy(small, fr.buf[:fr.w])
		fr.buf = small
		readBufs.Put(fr.pooled)
		fr.pooled = nil
	}
	n, err := e.read(fr.buf[fr.w:], !mayStop)
	fr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (s *session) read(p []byte, wait bool) (int, error) { return s.nc.read(p, wait) }

// frame answers pings and the close handshake and notes that the client
// is alive (frameEnd).
func (s *session) frame(b []byte) (n int, skip uint64, err error) {
	n, payload, err := parseFrame(b)
	if err != nil || n == 0 {
		return n, 0, err
	}
	s.lastRead.Store(s.hub.clock())
	op := int(b[0] & 0x0f)
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage, 0: // 0: continuation
		return n, dataLength(b), nil
	case websocket.PingMessage:
		s.mu.Lock()
		closing := s.closeSent
		s.mu.Unlock()
		if closing { // nothing may follow the close frame
			return n, 0, nil
		}
		err := s.nc.writeControl(websocket.PongMessage, payload, time.Now().Add(s.hub.opts.WriteTimeout))
		var ne net.Error
		if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			return n, 0, nil
		}
		return n, 0, err
	case websocket.CloseMessage:
		// Answer the client's close with its code, as gorilla does, unless
		// this is the answer to ours.
		s.mu.Lock()
		answer := !s.closeSent
		s.mu.Unlock()
		if answer {
			msg := []byte{}
			if len(payload) >= 2 {
				msg = websocket.FormatCloseMessage(int(binary.BigEndian.Uint16(payload)), "")
			}
			s.nc.writeControl(websocket.CloseMessage, msg, time.Now().Add(s.hub.opts.WriteTimeout))
		}
		return n, 0, io.EOF
	}
	return n, 0, nil // pong
}

// parseFrame parses the client frame at the start of b (RFC 6455 §5.2).
// It returns the length of what it took and, for a control frame, its
// unmasked payload (unmasked in place, in b): the whole frame. For a data
// frame it takes only the header; dataLength gives the payload's length.
// n is 0 when b does not hold enough yet.
func parseFrame(b []byte) (n int, payload []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil
	}
	if b[0]&0x70 != 0 || b[1]&0x80 == 0 { // no extension is negotiated; clients must mask
		return 0, nil, errProtocol
	}
	op := int(b[0] & 0x0f)
	fin := b[0]&0x80 != 0
	size := uint64(b[1] & 0x7f)
	h := 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, nil, nil
		}
		size, h = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return 0, nil, nil
		}
		size, h = binary.BigEndian.Uint64(b[2:10]), 10
		if size > 1<<62 {
			return 0, nil, errProtocol
		}
	}
	h += 4 // masking key
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage, 0:
		if len(b) < h {
			return 0, nil, nil
		}
		return h, nil, nil
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
	default:
		return 0, nil, errProtocol
	}
	if !fin || size > 125 {
		return 0, nil, errProtocol
	}
	if len(b) < h+int(size) {
		return 0, nil, nil
	}
	key := b[h-4 : h]
	payload = b[h : h+int(size)]
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	return h + int(size), payload, nil
}

// dataLength is the payload length of the data frame whose header starts b
// (parseFrame has accepted it).
func dataLength(b []byte) uint64 {
	switch size := uint64(b[1] & 0x7f); size {
	case 126:
		return uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		return binary.BigEndian.Uint64(b[2:10])
	default:
		return size
	}
}
