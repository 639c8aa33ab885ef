package realtime

import (
	"crypto/tls"
	"net"
	"syscall"
)

// TLSListener is tls.NewListener with a connection under crypto/tls that
// lets a wss:// session wait for its client without a goroutine (nbConn).
// Serve the Hub's TLS connections from it; behind any other TLS listener a
// Hub still works, with a parked reader goroutine per wss:// session.
func TLSListener(inner net.Listener, config *tls.Config) net.Listener {
	return tls.NewListener(nbListener{inner}, config)
}

type nbListener struct{ net.Listener }

func (l nbListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &nbConn{Conn: c}, nil
}

// nbConn sits under crypto/tls and lets the session's reader read
// without waiting: with nonblock set, a Read that finds the socket empty
// returns errWouldBlock, a temporary net.Error, which crypto/tls passes up
// without failing the connection (it keeps a partial record for the next
// Read, as after a read deadline).
//
// That is what makes "the socket is not readable" mean "nothing is pending"
// over TLS. crypto/tls reads from its connection only when it has no
// plaintext left to return and the record it is decoding is incomplete:
// every complete record it holds is decoded first, and what Read has not
// returned of one is returned before it reads again. So when crypto/tls
// asks nbConn for bytes and the socket has none, everything the client
// sent has been handed to the session except the start of a record whose
// rest has not arrived, and its arrival makes the socket readable.
// TestTLSNothingPending checks this against the crypto/tls in use.
//
// Only crypto/tls's reader calls Read, one call at a time.
type nbConn struct {
	net.Conn
	sock     syscall.RawConn // the socket under the wrappers (set by newFrameConn); nil: never non-blocking
	nonblock bool            // set by the session's reader around tls.Conn.Read
}

func (c *nbConn) NetConn() net.Conn { return c.Conn }

func (c *nbConn) Read(p []byte) (int, error) {
	if c.nonblock && c.sock != nil {
		return nonblockingRead(c.sock, p)
	}
	return c.Conn.Read(p)
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
