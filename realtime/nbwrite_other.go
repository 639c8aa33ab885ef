//go:build !unix

package realtime

import "syscall"

// nonblockingWrite writes nothing where the socket cannot be written
// without blocking; the session's writer sends every frame.
func nonblockingWrite(syscall.RawConn, []byte) int { return 0 }
