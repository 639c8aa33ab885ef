package realtime

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestClientPing: the server answers a client's ping with a pong carrying
// the same payload, and the session carries on.
func TestClientPing(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	pong := make(chan string, 1)
	a.SetPongHandler(func(d string) error { pong <- d; return nil })
	if err := a.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Control frames are handled while the client waits for a data frame.
	read := make(chan error, 1)
	go func() {
		a.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := a.ReadMessage()
		read <- err
	}()
	select {
	case d := <-pong:
		if d != "are you there" {
			t.Errorf("pong %q, want the ping's payload", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no pong")
	}
	th.bus.Publish(message(ch1, "m1"))
	if err := <-read; err != nil {
		t.Fatalf("after the pong: %v", err)
	}
}

// TestClientClose: a client's close is answered with its code, and the
// session leaves the hub.
func TestClientClose(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	if err := a.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, a, websocket.CloseNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		th.mu.Lock()
		n := len(th.users)
		th.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d users still registered after the close", n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
}

// TestClientFrameLengths: client frames of every length encoding, and
// fragmented ones, are read past; the session carries on.
func TestClientFrameLengths(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		if err := a.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{7}, n)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := a.NextWriter(websocket.TextMessage) // fragmented: gorilla flushes a frame per 4 KiB
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("x", 20000)))
	w.Close()
	th.bus.Publish(message(ch1, "m1"))
	expectMessages(t, a, "m1")
}

// TestClientProtocolError: an unmasked client frame breaks RFC 6455 §5.1;
// the session is closed with 1002.
func TestClientProtocolError(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	a := th.connect(t, alice, "a")
	if _, err := a.UnderlyingConn().Write([]byte{0x81, 0x01, 'x'}); err != nil {
		t.Fatal(err)
	}
	expectClose(t, a, websocket.CloseProtocolError, "")
}

// TestTryWritePartial: a frame the socket takes only in part is completed
// before the next data frame and before a control frame, so nothing
// interleaves; while it is pending, tryWrite writes nothing.
func TestTryWritePartial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc.(*net.TCPConn).SetWriteBuffer(smallSocketBuffer)
	fc := newFrameConn(sc)
	if fc.fd < 0 {
		t.Skip("no non-blocking writes on this platform")
	}
	big := textFrame(bytes.Repeat([]byte("a"), 4<<20)) // more than any socket buffer takes at once
	n := fc.tryWrite(big)
	if n <= 0 || n >= len(big) {
		t.Fatalf("tryWrite wrote %d of %d bytes, want a part", n, len(big))
	}
	if !fc.hasPartial() {
		t.Fatal("no partial frame recorded")
	}
	next := textFrame([]byte("next"))
	if m := fc.tryWrite(next); m != 0 {
		t.Fatalf("tryWrite wrote %d bytes while a frame was half-sent", m)
	}
	var want bytes.Buffer
	want.Write(big)
	want.Write(next)
	want.Write([]byte{0x80 | websocket.PingMessage, 1, 'p'})
	errc := make(chan error, 1)
	go func() {
		err := fc.writeFrames([][]byte{next}, time.Now().Add(30*time.Second))
		if err == nil {
			err = fc.writeControl(websocket.PingMessage, []byte("p"), time.Now().Add(30*time.Second))
		}
		sc.Close()
		errc <- err
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if fc.hasPartial() {
		t.Error("the partial frame is still pending")
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read %d bytes, want %d, or different", len(got), want.Len())
	}
}
