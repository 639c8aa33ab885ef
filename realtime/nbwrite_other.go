//go:build !unix

package realtime

import "syscall"

// nonblockingWrite writes nothing where the socket cannot be written
// without blocking; the session's writer sends every frame.
func nonblockingWrite(syscall.RawConn, []byte) int { return 0 }

// nonblockingRead is never needed where there is no poller: it reports
// nothing pending, and no session asks.
func nonblockingRead(syscall.RawConn, []byte) (int, error) { return 0, errWouldBlock }
