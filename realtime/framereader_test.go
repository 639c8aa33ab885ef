package realtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gorilla/websocket"
)

// recorder is a frameEnd that reads from chunks and writes down the frames
// it is handed, as a session would see them.
type recorder struct {
	chunks [][]byte
	log    []string
	stops  int // errWouldBlock answers
	pollOK bool
}

func (r *recorder) read(p []byte, wait bool) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	if !wait && r.pollOK {
		// A poller's reader may stop at every frame boundary: it says so,
		// and is woken again with the same bytes still to come.
		r.pollOK = false
		r.stops++
		return 0, errWouldBlock
	}
	r.pollOK = true
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func (r *recorder) frame(b []byte) (int, uint64, error) {
	n, payload, err := parseFrame(b)
	if err != nil || n == 0 {
		return n, 0, err
	}
	op := b[0] & 0x0f
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage, 0:
		l := dataLength(b)
		r.log = append(r.log, fmt.Sprintf("data op=%d fin=%v len=%d", op, b[0]&0x80 != 0, l))
		return n, l, nil
	case websocket.CloseMessage:
		r.log = append(r.log, fmt.Sprintf("close %x", payload))
		return n, 0, io.EOF
	}
	r.log = append(r.log, fmt.Sprintf("control op=%d %x", op, payload))
	return n, 0, nil
}

// runChunks feeds stream to a frameReader in the given chunks with a
// buffer of bufSize, as a poller's reader (woken again after each stop) or
// a reader goroutine.
func runChunks(stream []byte, cuts []int, bufSize int, poll bool) (*recorder, error) {
	rec := &recorder{}
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(stream) {
			rec.chunks = append(rec.chunks, stream[prev:c])
			prev = c
		}
	}
	rec.chunks = append(rec.chunks, stream[prev:])
	fr := frameReader{buf: make([]byte, bufSize)}
	for {
		err := fr.run(rec, poll)
		if err == errWouldBlock {
			if fr.r != fr.w || fr.skip != 0 {
				return rec, errors.New("stopped in the middle of a frame")
			}
			fr = frameReader{buf: make([]byte, bufSize)} // a new reader, a new buffer
			continue
		}
		return rec, err
	}
}

// maskedFrame is a client frame (RFC 6455 §5.2) with the given masking key.
func maskedFrame(op byte, fin bool, payload []byte, key [4]byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = []byte{b0, 0x80 | byte(n)}
	case n <= 0xffff:
		b = []byte{b0, 0x80 | 126, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = make([]byte, 10)
		b[0], b[1] = b0, 0x80|127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// FuzzFrameReader: however the client's bytes are cut into reads, and
// whether the reader may stop at frame boundaries (a poller's reader) or
// not, the frames handed on are those of the stream read at once, and the
// reader ends with the same error.
func FuzzFrameReader(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	f.Add(bytes.Join([][]byte{
		maskedFrame(websocket.PingMessage, true, []byte("hi"), key),
		maskedFrame(websocket.TextMessage, false, bytes.Repeat([]byte("x"), 300), key),
		maskedFrame(0, true, bytes.Repeat([]byte("y"), 70000), key),
		maskedFrame(websocket.PongMessage, true, nil, key),
		maskedFrame(websocket.CloseMessage, true, []byte{3, 232, 'b', 'y', 'e'}, key),
	}, nil), uint16(3), uint16(200), uint16(65000))
	f.Add(maskedFrame(websocket.PingMessage, true, bytes.Repeat([]byte("p"), 126), key), uint16(1), uint16(2), uint16(9))
	f.Add([]byte{0x81, 0x01, 'x'}, uint16(1), uint16(0), uint16(0))                                   // unmasked
	f.Add([]byte{0x89, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, uint16(5), uint16(0), uint16(0)) // 127 with the top bit set
	f.Fuzz(func(t *testing.T, stream []byte, a, b, c uint16) {
		whole, werr := runChunks(append([]byte(nil), stream...), nil, len(stream)+blockingReadBuf, false)
		for _, poll := range []bool{false, true} {
			for _, size := range []int{blockingReadBuf, readBufSize} {
				cut, cerr := runChunks(append([]byte(nil), stream...), []int{int(a), int(a) + int(b), int(a) + int(b) + int(c)}, size, poll)
				if fmt.Sprint(cut.log) != fmt.Sprint(whole.log) {
					t.Fatalf("poll %v, buffer %d: frames\n%q\nwant\n%q", poll, size, cut.log, whole.log)
				}
				if !errors.Is(cerr, werr) && !(cerr != nil && werr != nil && cerr.Error() == werr.Error()) {
					t.Fatalf("poll %v, buffer %d: error %v, want %v", poll, size, cerr, werr)
				}
			}
		}
	})
}
