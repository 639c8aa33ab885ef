package service

import (
	"testing"

	"github.com/belfryhq/belfry/chime"
)

// oldSendFingerprint is how SendChannelMessage fingerprinted before
// sendFingerprint: the fingerprints in existing stores are these.
func oldSendFingerprint(in *chime.SendChannelMessageRequest) string {
	return fingerprint(struct {
		Content, Metadata, ContentType, SubChannelID *string
		Type                                         chime.ChannelMessageType
		Persistence                                  chime.ChannelMessagePersistenceType
		Attrs                                        map[string]chime.MessageAttributeValue
		Push                                         *chime.PushNotificationConfiguration
		Target                                       []chime.Target
	}{in.Content, in.Metadata, in.ContentType, in.SubChannelId, in.Type, in.Persistence, in.MessageAttributes, in.PushNotification, in.Target})
}

func TestSendFingerprintUnchanged(t *testing.T) {
	s := func(v string) *string { return &v }
	for i, in := range []*chime.SendChannelMessageRequest{
		{},
		{Content: s("hello"), Type: "STANDARD", Persistence: "PERSISTENT"},
		{Content: s(`<a href="x">&amp;</a> "quoted" \ back` + "\x00\t\n\u2028\u2029é\xff"), Metadata: s(""), ContentType: s("text/plain"), SubChannelId: s("sub"), Type: "CONTROL", Persistence: "NON_PERSISTENT"},
		{Content: s("a"), MessageAttributes: map[string]chime.MessageAttributeValue{}},
		{Content: s("a"), MessageAttributes: map[string]chime.MessageAttributeValue{"k": {StringValues: []string{"v"}}}},
		{Content: s("a"), Target: []chime.Target{}},
		{Content: s("a"), PushNotification: &chime.PushNotificationConfiguration{}},
	} {
		if got, want := sendFingerprint(in), oldSendFingerprint(in); got != want {
			t.Errorf("request %d: fingerprint %s, want %s", i, got, want)
		}
	}
}

func FuzzSendFingerprint(f *testing.F) {
	f.Add("hello", "", "STANDARD", "PERSISTENT", true)
	f.Add("<&>\u2028\xff\"\\", "meta", "CONTROL", "", false)
	f.Fuzz(func(t *testing.T, content, metadata, typ, persistence string, withMeta bool) {
		in := &chime.SendChannelMessageRequest{Content: &content, Type: chime.ChannelMessageType(typ), Persistence: chime.ChannelMessagePersistenceType(persistence)}
		if withMeta {
			in.Metadata = &metadata
		}
		if got, want := sendFingerprint(in), oldSendFingerprint(in); got != want {
			t.Fatalf("%+v: fingerprint %s, want %s", in, got, want)
		}
	})
}

func BenchmarkSendFingerprint(b *testing.B) {
	content, token := "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. 0123456789", "t"
	in := &chime.SendChannelMessageRequest{Content: &content, ClientRequestToken: &token, Type: "STANDARD", Persistence: "PERSISTENT"}
	b.Run("old", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			oldSendFingerprint(in)
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sendFingerprint(in)
		}
	})
}
