package events

import (
	"encoding/json"
	"reflect"
	"testing"
)

var decodeSamples = []Event{
	{},
	{ID: 42, Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT",
		ChannelArn: "arn:aws:chime:us-east-1:123456789012:app-instance/a/channel/c", Members: true,
		Payload: []byte(`{"MessageId":"m","Content":"<b>&\u2028 é</b>"}`)},
	{ID: 1<<64 - 1, Type: "CREATE_CHANNEL_MEMBERSHIP", MessageType: "SYSTEM", Reason: "r",
		ChannelArn: "c", SubChannelID: "s1", FromSubChannelID: "s0", Payload: []byte{},
		Users: []string{"u1", "u2"}, Joined: []string{}, Left: []string{"l\"quoted"}, ChannelDeleted: true},
	{Type: "DELETE_CHANNEL", ChannelArn: "naïve\x00\xff", Users: []string{}, Payload: []byte{0, 1, 2, 0xff}},
}

// TestDecodeRoundTrip checks that Decode reads back what Encode writes,
// on the fast path and off it (escapes, invalid UTF-8).
func TestDecodeRoundTrip(t *testing.T) {
	for i, want := range decodeSamples {
		b, err := Encode(&want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		var ref Event
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ref) {
			t.Errorf("sample %d: Decode = %+v, encoding/json = %+v", i, got, ref)
		}
	}
}

// TestDecodeFastTakesTheOutboxForm checks that the common event takes the
// fast path, so the benchmark below measures it.
func TestDecodeFastTakesTheOutboxForm(t *testing.T) {
	b, _ := Encode(&Event{ID: 7, Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", ChannelArn: "arn:c",
		Members: true, Payload: []byte(`{"Content":"hello"}`), Users: []string{"arn:u"}})
	var e Event
	if !decodeFast(b, &e) {
		t.Fatalf("decodeFast refused %s", b)
	}
	for _, in := range []string{`{"id":1}`, `{"ID":1,"Extra":2}`, `{"ID":-1}`, `{"ID":1.5}`, `{"Type":"a\"b"}`, `{"Members":null}`, `[]`, `{"ID":1} x`} {
		var e Event
		if decodeFast([]byte(in), &e) {
			t.Errorf("decodeFast accepted %s", in)
		}
	}
}

// FuzzDecode checks that whatever decodeFast accepts, encoding/json
// accepts too, with the same result.
func FuzzDecode(f *testing.F) {
	for _, e := range decodeSamples {
		b, _ := Encode(&e)
		f.Add(b)
	}
	f.Add([]byte(`{"ID":0,"Users":null,"Payload":null,"Members":false}`))
	f.Add([]byte(` { "ID" : 12 , "Joined" : [ "a" , "b" ] } `))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Event
		if !decodeFast(b, &fast) {
			return
		}
		var ref Event
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("decodeFast accepted %q, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%q: decodeFast = %+v, encoding/json = %+v", b, fast, ref)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	raw, _ := Encode(&Event{ID: 123456, Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT",
		ChannelArn: "arn:aws:chime:us-east-1:123456789012:app-instance/0123456789abcdef/channel/0123456789abcdef", Members: true,
		Payload: make([]byte, 600), Users: nil})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	raw, _ := Encode(&Event{ID: 123456, Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT",
		ChannelArn: "arn:aws:chime:us-east-1:123456789012:app-instance/0123456789abcdef/channel/0123456789abcdef", Members: true,
		Payload: make([]byte, 600), Users: nil})
	b.ReportAllocs()
	for b.Loop() {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			b.Fatal(err)
		}
	}
}
