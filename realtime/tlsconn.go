package realtime

import (
	"crypto/tls"
	"net"
	"syscall"
)

// TLSListener is tls.NewListener with the accounting that lets a wss://
// session wait for its client without a goroutine (see recordConn). Serve
// the Hub's TLS connections from it; a Hub behind any other TLS listener
// still works, with a parked reader goroutine per wss:// session.
func TLSListener(inner net.Listener, config *tls.Config) net.Listener {
	return tls.NewListener(recordListener{inner}, config)
}

type recordListener struct{ net.Listener }

func (l recordListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordConn{Conn: c}, nil
}

// recordConn sits under crypto/tls and follows the TLS record boundaries
// (RFC 8446 §5.1: a 5-byte header whose last two bytes are the length of
// the body) of the bytes it hands up. That is what makes "the socket is not
// readable" mean "nothing is pending" for a session over TLS:
//
// crypto/tls reads from its connection only when it lacks bytes of the
// record it is decoding, and a tls.Conn.Read returns only after it has
// decoded a whole record. So when crypto/tls asks for bytes while the
// stream handed up so far ends exactly on a record boundary, it holds no
// raw bytes: every record it was given has been decoded, and what Read has
// not yet returned of the last one (plaintext) is returned before it asks
// again. If at that moment the socket has nothing either, the session is
// idle. With nonblock set, recordConn then answers errWouldBlock (a
// temporary net.Error, which crypto/tls passes up without failing the
// connection) instead of waiting. Anywhere else, in the middle of a
// record, it waits as any connection does: the rest of the record is on
// its way, within the read deadline.
//
// Only crypto/tls's reader calls Read, one call at a time, so the fields
// need no lock.
type recordConn struct {
	net.Conn
	sock     syscall.RawConn // the socket under the wrappers (set by newFrameConn); nil: never non-blocking
	nonblock bool            // set by the session's reader around tls.Conn.Read
	hdr      [5]byte         // the current record's header, as far as handed up
	nhdr     uint8
	left     int // body bytes of the current record not handed up yet
}

func (c *recordConn) NetConn() net.Conn { return c.Conn }

func (c *recordConn) atBoundary() bool { return c.nhdr == 0 && c.left == 0 }

func (c *recordConn) Read(p []byte) (int, error) {
	if c.nonblock && c.sock != nil && c.atBoundary() {
		n, err := nonblockingRead(c.sock, p)
		c.track(p[:n])
		return n, err
	}
	n, err := c.Conn.Read(p)
	c.track(p[:n])
	return n, err
}

// track follows the record boundaries through b, the next bytes handed up.
func (c *recordConn) track(b []byte) {
	for len(b) > 0 {
		if c.left > 0 {
			k := min(c.left, len(b))
			c.left -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.nhdr:], b)
		c.nhdr += uint8(k)
		b = b[k:]
		if c.nhdr == 5 {
			c.nhdr = 0
			c.left = int(c.hdr[3])<<8 | int(c.hdr[4])
		}
	}
}

// wouldBlock is errWouldBlock's type: a timeout, so that crypto/tls keeps
// the connection usable (it fails a connection only on errors that are not
// Temporary).
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "realtime: no bytes pending" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// errWouldBlock is a non-blocking read's answer when nothing is pending.
var errWouldBlock net.Error = wouldBlock{}
