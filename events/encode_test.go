package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// odd are strings encoding/json escapes: quotes, controls, HTML, invalid
// UTF-8, the line separators, multi-byte runes.
var odd = []string{"", "plain", `q"uo\te`, "tab\tnl\ncr\r\x00\x1f\x7f\b\f", "<a href='x'>&amp;</a>",
	"bad \xff\xfe utf8 \xc3", "sep\u2028par\u2029", "émoji 🎉 中文", "\u00e9\u0301"}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range odd {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range odd {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}

func TestChannelMessageAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		m    ChannelMessage
	}{
		{"empty", ChannelMessage{}},
		{"sent", ChannelMessage{ChannelArn: "arn:aws:chime:us-east-1:1:app-instance/a/channel/c", MessageId: "0123abcd",
			Content: str("hello <b>&</b>"), Type: "STANDARD", CreatedTimestamp: NewTime(at), LastUpdatedTimestamp: NewTime(at),
			Sender: &Identity{Arn: "arn:user/u", Name: "Ü \"name\""}, Persistence: "PERSISTENT", Status: &MessageStatus{Value: "SENT"}}},
		{"everything", ChannelMessage{ChannelArn: "c", MessageId: "m", Content: str(""), Metadata: str("meta\n"), Type: "CONTROL",
			CreatedTimestamp: NewTime(at), LastEditedTimestamp: NewTime(at.Add(time.Hour)), LastUpdatedTimestamp: NewTime(at),
			Sender: &Identity{Name: "only name"}, Redacted: true, Status: &MessageStatus{Value: "DENIED", Detail: "no \xff"},
			MessageAttributes: map[string]AttributeValue{"z": {StringValues: []string{"1", "2"}}, "a": {}, "m<": {StringValues: []string{}}},
			SubChannelId:      "sub", ContentType: "text/plain", Target: []Target{{MemberArn: "arn:t"}}}},
		{"sender arn only", ChannelMessage{Sender: &Identity{Arn: "a"}}},
		{"sender empty", ChannelMessage{Sender: &Identity{}}},
		{"two targets", ChannelMessage{Target: []Target{{MemberArn: "a"}, {MemberArn: "b"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.m.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		e    Event
	}{
		{"zero", Event{}},
		{"message", Event{ID: 1 << 60, Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT",
			ChannelArn: "arn:aws:chime:us-east-1:1:app-instance/a/channel/c", Payload: []byte(`{"MessageId":"x"}`), Members: true}},
		{"everything", Event{ID: 7, Type: "t", MessageType: "SYSTEM", Reason: "r<>", Persistence: "p", ChannelArn: "c",
			SubChannelID: "s", FromSubChannelID: "f", Payload: []byte{}, Users: []string{"u1", "u\"2"}, Joined: []string{},
			Left: []string{"l"}, ChannelDeleted: true}},
		{"binary payload", Event{Payload: []byte{0, 0xff, 0xfe, 1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Encode(&tc.e)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("got  %s (%v)\nwant %s", got, err, want)
			}
			back, err := Decode(got)
			if err != nil || back.ID != tc.e.ID || !bytes.Equal(back.Payload, tc.e.Payload) {
				t.Errorf("Decode: %+v, %v", back, err)
			}
		})
	}
}

func BenchmarkEncodeMessageEvent(b *testing.B) {
	at := time.Now()
	content := "hello, this is a message of a typical length"
	m := ChannelMessage{ChannelArn: "arn:aws:chime:us-east-1:111122223333:app-instance/61b9ee9b-74e3-4620-93dc-8b6e8e8c88a4/channel/986e0758adaf7c5ccbafeab9a1fa71a2228391dfb0eb42a457dac7412629e35d",
		MessageId: "13c1a39e42eda2d4e6625b8f45c158fd629094cac127aae8303ecb3457453692", Content: &content, Type: "STANDARD",
		CreatedTimestamp: NewTime(at), LastUpdatedTimestamp: NewTime(at), Sender: &Identity{Arn: "arn:aws:chime:us-east-1:111122223333:app-instance/61b9ee9b-74e3-4620-93dc-8b6e8e8c88a4/user/sender1", Name: "sender1"},
		Persistence: "PERSISTENT", Status: &MessageStatus{Value: "SENT"}}
	b.ReportAllocs()
	for b.Loop() {
		e := Event{Type: "CREATE_CHANNEL_MESSAGE", MessageType: "STANDARD", Persistence: "PERSISTENT", ChannelArn: m.ChannelArn,
			Payload: m.AppendJSON(nil), Members: true}
		if _, err := Encode(&e); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendISOMatchesMarshalJSON(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0), time.Now(),
	} {
		want, _ := Time{at}.MarshalJSON()
		if got := appendISO(nil, at); !bytes.Equal(got, want) {
			t.Errorf("%v: got %s, want %s", at, got, want)
		}
	}
}
