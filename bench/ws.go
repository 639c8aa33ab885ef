package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Tens of thousands of loopback connections to one server port would run
// out of ephemeral ports on one source address (about 28,000 in Linux's
// default range), and a later phase would meet the TIME_WAIT sockets of
// an earlier one. So every websocket is dialled from its own slice of
// 127.0.0.0/8: source addresses 127.10.x.y, a new one every 4,000
// connections, with IP_BIND_ADDRESS_NO_PORT so the kernel picks the port
// at connect time, per destination.
const connsPerSource = 4000

var sourceSeq atomic.Uint64

func nextSource() *net.TCPAddr {
	block := sourceSeq.Add(1) / connsPerSource
	return &net.TCPAddr{IP: net.IPv4(127, 10, byte(block/250), byte(block%250)+1)}
}

const ipBindAddressNoPort = 24 // linux/in.h IP_BIND_ADDRESS_NO_PORT

func dialFromLoopbackPool(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   30 * time.Second,
		LocalAddr: nextSource(),
		Control: func(network, address string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
		},
	}
	return d.DialContext(ctx, network, addr)
}

// wsDialer keeps client connections small: a 1 KiB read buffer and no
// write buffer of their own (clients only ever write control frames).
var wsDialer = &websocket.Dialer{
	NetDialContext:   dialFromLoopbackPool,
	HandshakeTimeout: 60 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferPool:  &sync.Pool{},
}

// wssDialer is wsDialer over TLS. The certificate is not checked: the
// measurement is of the server's cost, and the local CA is beside the point.
var wssDialer = func() *websocket.Dialer {
	d := *wsDialer
	d.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return &d
}()

// presignConnect presigns a /connect URL for user as the SDKs do (root
// key, X-Amz-Expires=10) and returns it as ws://.
func presignConnect(httpAddr, user, session string) (string, error) {
	return presign("http://"+httpAddr, user, session)
}

// presignConnectTLS is presignConnect for the TLS listener: wss://.
func presignConnectTLS(tlsAddr, user, session string) (string, error) {
	return presign("https://"+tlsAddr, user, session)
}

func presign(base, user, session string) (string, error) {
	q := url.Values{"userArn": {user}, "sessionId": {session}, "X-Amz-Expires": {"10"}}
	req, err := http.NewRequest(http.MethodGet, base+"/connect?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	uri, _, err := signer.PresignHTTP(context.Background(), rootCred, req, emptySHA256, "chime", "us-east-1", time.Now())
	if err != nil {
		return "", err
	}
	return "ws" + strings.TrimPrefix(uri, "http"), nil
}

var sessionEstablished = []byte("SESSION_ESTABLISHED")

// connectAll opens n websockets, urlFor(i) each, workers at a time, and
// waits for each one's SESSION_ESTABLISHED. A failed dial is retried
// twice. It returns the connections (nil where one failed), how long it
// took, and the first error.
func connectAll(ctx context.Context, n, workers int, urlFor func(i int) (string, error)) ([]*websocket.Conn, time.Duration, int, error) {
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var err error
				for attempt := range 3 {
					if attempt > 0 {
						time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
					}
					var c *websocket.Conn
					if c, err = dialOne(ctx, urlFor, i); err == nil {
						conns[i] = c
						break
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	err, _ := firstErr.Load().(error)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return conns, time.Since(start), int(failed.Load()), err
}

func dialOne(ctx context.Context, urlFor func(int) (string, error), i int) (*websocket.Conn, error) {
	u, err := urlFor(i)
	if err != nil {
		return nil, err
	}
	d := wsDialer
	if strings.HasPrefix(u, "wss:") {
		d = wssDialer
	}
	c, res, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("dial %d: %v (HTTP %d)", i, err, res.StatusCode)
		}
		return nil, fmt.Errorf("dial %d: %v", i, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("session %d: %v", i, err)
	}
	if !bytes.Contains(b, sessionEstablished) {
		c.Close()
		return nil, fmt.Errorf("session %d: first frame %s", i, truncateString(string(b), 200))
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

func closeAll(conns []*websocket.Conn) {
	var wg sync.WaitGroup
	for k := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(conns); i += 8 {
				if conns[i] != nil {
					conns[i].Close()
				}
			}
		}()
	}
	wg.Wait()
}

// readFrame reads the next data message of c into buf (grown as needed).
func readFrame(c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.NextReader()
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
