//go:build unix

package realtime

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// smallSocketBuffer is what the slow-consumer tests ask the kernel for, so
// that a client that stops reading blocks the server's writer after a few
// frames instead of after megabytes of loopback buffering.
const smallSocketBuffer = 4096

// smallSendBuffers shrinks the send buffer of every accepted connection.
func smallSendBuffers(ln net.Listener) net.Listener { return sendBufferListener{ln} }

type sendBufferListener struct{ net.Listener }

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(smallSocketBuffer)
	}
	return c, err
}

// smallReceiveBufferDialer dials with a small receive buffer, set before
// connecting so the advertised window is small from the start.
func smallReceiveBufferDialer() *websocket.Dialer {
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, smallSocketBuffer)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nd.DialContext(ctx, network, addr)
	}}
}

// openFileLimit is the soft limit on open files (Go raises it to the hard
// limit at start-up).
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
