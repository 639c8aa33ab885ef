//go:build unix

package realtime

import (
	"io"
	"syscall"
)

// socketFD is the descriptor of the socket under rc, or -1.
func socketFD(rc syscall.RawConn) int {
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// nonblockingWrite makes one write(2) on a non-blocking socket and returns
// how many bytes it took: 0 when the send buffer is full (EAGAIN) or on any
// error, which the writer then meets and handles. It goes straight to the
// descriptor, past the runtime's poller (whose locking and deadline checks
// cost a fifth of a delivery): the caller guarantees the descriptor is
// open (frameConn.fdMu).
func nonblockingWrite(fd int, p []byte) int {
	for {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			return 0
		}
		return n
	}
}

// nonblockingRead makes one read(2) on the connection's non-blocking socket:
// errWouldBlock when it has nothing (EAGAIN), io.EOF when the peer has shut
// its side. It fails as Read does on a closed connection or a passed read
// deadline.
func nonblockingRead(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var errno error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), p)
			if errno != syscall.EINTR {
				return true // never wait for the socket to become readable
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != nil:
		return 0, errno
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
