package realtime

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestOverTLS runs sessions over TLS, as amazon-chime-sdk-js always does,
// with a burst large enough to be gathered into several writes.
func TestOverTLS(t *testing.T) {
	th := startHubTLS(t, Options{})
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	var burst []string
	for i := range 200 {
		burst = append(burst, fmt.Sprintf("m%03d", i))
	}
	for _, id := range burst {
		th.bus.Publish(bigMessage(ch1, id, 1024))
	}
	expectMessages(t, a, burst...)
	th.bus.Publish(bigMessage(ch1, "huge", 200<<10)) // one frame larger than a gathered write
	expectMessages(t, a, "huge")
}

// TestWriteFramesGathered checks the copying path of writeFrames (used
// over TLS): frames arrive whole and in order, across several writes.
func TestWriteFramesGathered(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	fc := &frameConn{Conn: server}
	var frames [][]byte
	var want bytes.Buffer
	for i := range 150 { // 150 KiB: three gathered writes
		f := textFrame(bytes.Repeat([]byte{byte('a' + i%26)}, 1024))
		frames = append(frames, f)
		want.Write(f)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- fc.writeFrames(frames, time.Now().Add(10*time.Second))
		server.Close()
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("got %d bytes, want %d, or different", len(got), want.Len())
	}
}
