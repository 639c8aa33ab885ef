//go:build linux

package realtime

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTLSNothingPending checks what the poller relies on over TLS, against
// the crypto/tls in use: read through an nbConn without waiting, a tls.Conn
// hands up everything the client sent before it answers errWouldBlock, and
// such an answer, even in the middle of a record, leaves it usable.
func TestTLSNothingPending(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := TLSListener(ln, ts.TLS.Clone())

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	shaped := &shapedConn{Conn: raw}
	ccfg := ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	ccfg.ServerName = "example.com"
	client := tls.Client(shaped, ccfg)
	defer client.Close()
	go client.Handshake()

	sc, err := tln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	server := sc.(*tls.Conn)
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	fc := newFrameConn(server)
	if fc.sock == nil || fc.rec == nil {
		t.Fatal("the connection under TLSListener cannot be read without waiting")
	}

	buf := make([]byte, readBufSize)
	// drain reads without waiting until want has arrived, polling with a
	// deadline while the socket is empty, then checks that nothing more
	// is pending; it reports how often it met errWouldBlock first.
	drain := func(want string) int {
		t.Helper()
		var got []byte
		stops := 0
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := fc.read(buf, false)
			got = append(got, buf[:n]...)
			switch {
			case err == errWouldBlock && string(got) == want:
				return stops
			case err == errWouldBlock:
				if time.Now().After(deadline) {
					t.Fatalf("read %q, want %q", got, want)
				}
				stops++
				time.Sleep(100 * time.Microsecond) // polling a condition, with a deadline
			case err != nil:
				t.Fatalf("after %q: %v", got, err)
			case len(got) > len(want):
				t.Fatalf("read %q, want %q", got, want)
			}
		}
	}

	// Several records in one TCP segment: all are handed up.
	shaped.setHold(true)
	client.Write([]byte("a"))
	client.Write([]byte("bb"))
	client.Write(bytes.Repeat([]byte("c"), 40000)) // three records
	client.Write([]byte("d"))
	if err := shaped.setHold(false); err != nil {
		t.Fatal(err)
	}
	drain("abb" + strings.Repeat("c", 40000) + "d")

	// One record across many segments: errWouldBlock in the middle of it
	// leaves crypto/tls ready for the rest.
	shaped.setTrickle(true)
	go client.Write([]byte("split across segments"))
	t.Logf("%d reads found the socket empty in the middle of a record", drain("split across segments"))
	shaped.setTrickle(false)

	// A waiting read still works afterwards.
	client.Write([]byte("z"))
	n, err := fc.read(buf, true)
	if err != nil || string(buf[:n]) != "z" {
		t.Fatalf("waiting read: %q %v", buf[:n], err)
	}

	// The client's close_notify is the end of the stream.
	client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := fc.read(buf, false)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != errWouldBlock || time.Now().After(deadline) {
			t.Fatalf("after close_notify: %v, want EOF", err)
		}
		time.Sleep(100 * time.Microsecond) // polling a condition, with a deadline
	}
}
