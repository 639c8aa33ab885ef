//go:build unix

package realtime

import "syscall"

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
