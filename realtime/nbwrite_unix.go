//go:build unix

package realtime

import (
	"io"
	"syscall"
)

// nonblockingWrite makes one write(2) on the connection's non-blocking
// socket and returns how many bytes it took: 0 when the send buffer is full
// (EAGAIN) or on any error, which the writer then meets and handles.
func nonblockingWrite(rc syscall.RawConn, p []byte) int {
	var n int
	err := rc.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), p)
		return true // never wait for the socket to become writable
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
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
