package realtime

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// The session's reader parses the client's frames itself (RFC 6455 §5)
// instead of going through gorilla's reader: the SDK only ever sends
// control frames, and a reader that reads them straight from the
// connection parks in a shallow call stack. Its goroutine is the one an idle
// session keeps, so the depth of that stack is most of what an idle session
// costs (a goroutine starts with 2 KiB and doubles when a call needs more).

// errProtocol ends a session whose client broke the framing rules.
var errProtocol = errors.New("websocket protocol error")

// readLoop discards what the client sends (the SDK sends nothing but
// control frames), answers pings and the close handshake, and ends the
// session when the connection closes or two ping intervals pass without a
// frame.
func (s *session) readLoop() {
	h := s.hub
	defer h.wg.Done()
	s.extendReadDeadline()
	var hdr [8]byte
	for {
		if err := s.readFrame(&hdr); err != nil {
			if err == errProtocol {
				s.nc.writeControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, ""), time.Now().Add(h.opts.WriteTimeout))
			}
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

// readFrame reads and handles one client frame; it returns io.EOF after a
// close frame.
func (s *session) readFrame(hdr *[8]byte) error {
	r := s.nc.Conn
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return err
	}
	op := int(hdr[0] & 0x0f)
	fin := hdr[0]&0x80 != 0
	if hdr[0]&0x70 != 0 || hdr[1]&0x80 == 0 { // no extension is negotiated; clients must mask
		return errProtocol
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return err
		}
		n = uint64(binary.BigEndian.Uint16(hdr[:2]))
	case 127:
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return err
		}
		n = binary.BigEndian.Uint64(hdr[:8])
		if n > 1<<62 {
			return errProtocol
		}
	}
	var key [4]byte
	if _, err := io.ReadFull(r, key[:]); err != nil {
		return err
	}
	s.extendReadDeadline()
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage, 0: // 0: continuation
		_, err := io.CopyN(io.Discard, r, int64(n))
		return err
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
	default:
		return errProtocol
	}
	if !fin || n > 125 {
		return errProtocol
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	switch op {
	case websocket.PingMessage:
		s.mu.Lock()
		closing := s.closeSent
		s.mu.Unlock()
		if closing { // nothing may follow the close frame
			return nil
		}
		err := s.nc.writeControl(websocket.PongMessage, payload, time.Now().Add(s.hub.opts.WriteTimeout))
		var ne net.Error
		if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
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
		return io.EOF
	}
	return nil // pong
}
