//go:build !unix

package realtime

import "syscall"

// socketFD reports no descriptor: the session's writer sends every frame.
func socketFD(syscall.RawConn) int { return -1 }

// nonblockingWrite is never called without a descriptor.
func nonblockingWrite(int, []byte) int { return 0 }

// nonblockingRead is never needed where there is no poller: it reports
// nothing pending, and no session asks.
func nonblockingRead(syscall.RawConn, []byte) (int, error) { return 0, errWouldBlock }
