package realtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"

	"github.com/belfryhq/belfry/events"
)

// frameHeaders are the Headers of a frame, in the documented lower-case
// names (websocket-protocol.md §2.1).
type frameHeaders struct {
	EventType   string `json:"x-amz-chime-event-type"`
	MessageType string `json:"x-amz-chime-message-type"`
	Reason      string `json:"x-amz-chime-event-reason,omitempty"`
	Persistence string `json:"x-amz-chime-persistence-type,omitempty"`
}

// frame is the envelope of every server frame. Payload is the event's JSON
// object serialised as a JSON string, as the SDK passes it to apps verbatim
// and apps JSON.parse it.
type frame struct {
	Headers frameHeaders
	Payload *string `json:",omitempty"`
}

func encodeFrame(f frame) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // message content stays readable; both forms are valid JSON
	enc.Encode(f)            // cannot fail: strings only
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// eventFrame is the frame of a published event.
func eventFrame(e *events.Event) []byte {
	f := frame{Headers: frameHeaders{EventType: e.Type, MessageType: e.MessageType, Reason: e.Reason, Persistence: e.Persistence}}
	if len(e.Payload) > 0 {
		p := string(e.Payload)
		f.Payload = &p
	}
	return encodeFrame(f)
}

// textFrame returns the complete wire form of a server-to-client text
// message: the RFC 6455 §5.2 header (FIN, text opcode, unmasked, the
// shortest length encoding) followed by the payload. It is built once per
// event and shared, read-only, by every session it is queued on; a
// session's writer copies many of them into one write. (gorilla's
// PreparedMessage also encodes once, but is written one frame per call,
// each through the connection's write lock and its own syscall.)
// Compression is never negotiated, so the one form serves every session.
func textFrame(payload []byte) []byte {
	var hdr [10]byte
	hdr[0] = 0x80 | 0x1
	h := hdr[:2]
	switch n := len(payload); {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = hdr[:4]
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = hdr[:10]
	}
	b := make([]byte, 0, len(h)+len(payload))
	return append(append(b, h...), payload...)
}

// sessionEstablished is the first frame of every connection; it has no
// Payload, like the JS SDK's own test fixture.
var sessionEstablished = textFrame(encodeFrame(frame{Headers: frameHeaders{EventType: "SESSION_ESTABLISHED", MessageType: "SYSTEM"}}))

// channelDetailsFrame is one prefetch frame.
func channelDetailsFrame(d *events.ChannelDetails) ([]byte, error) {
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	p := string(payload)
	return textFrame(encodeFrame(frame{Headers: frameHeaders{EventType: "CHANNEL_DETAILS", MessageType: "SYSTEM"}, Payload: &p})), nil
}
