//go:build !unix

package realtime

import (
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func smallSendBuffers(ln net.Listener) net.Listener { return ln }

func smallReceiveBufferDialer() *websocket.Dialer { return websocket.DefaultDialer }

func init() {
	skipSlowConsumer = func(t testing.TB) { t.Skip("socket buffer sizes are only set on unix") }
}

func openFileLimit() uint64 { return 1 << 20 }

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }

// smallSocketBuffer is what the tests would ask the kernel for.
const smallSocketBuffer = 4096
