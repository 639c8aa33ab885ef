//go:build !unix

package realtime

import (
	"net"
	"testing"

	"github.com/gorilla/websocket"
)

func smallSendBuffers(ln net.Listener) net.Listener { return ln }

func smallReceiveBufferDialer() *websocket.Dialer { return websocket.DefaultDialer }

func init() {
	skipSlowConsumer = func(t testing.TB) { t.Skip("socket buffer sizes are only set on unix") }
}

func openFileLimit() uint64 { return 1 << 20 }
