package service

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/belfryhq/belfry/chime"
)

// sendParams are the parameters of a SendChannelMessage its fingerprint
// covers; the fingerprints kept in the store are of this struct's JSON,
// so its fields, their order and names must not change.
type sendParams struct {
	Content, Metadata, ContentType, SubChannelID *string
	Type                                         chime.ChannelMessageType
	Persistence                                  chime.ChannelMessagePersistenceType
	Attrs                                        map[string]chime.MessageAttributeValue
	Push                                         *chime.PushNotificationConfiguration
	Target                                       []chime.Target
}

// sendFingerprint is fingerprint(sendParams of in). The common send, with
// no attributes, push configuration or target, has its JSON written
// here, byte for byte what json.Marshal writes, without reflection: the
// fingerprint was a third of a send's time in the service outside its
// transaction.
func sendFingerprint(in *chime.SendChannelMessageRequest) string {
	if in.MessageAttributes != nil || in.PushNotification != nil || in.Target != nil {
		return fingerprint(sendParams{in.Content, in.Metadata, in.ContentType, in.SubChannelId, in.Type, in.Persistence, in.MessageAttributes, in.PushNotification, in.Target})
	}
	var buf [512]byte
	b := append(buf[:0], `{"Content":`...)
	b = appendJSONStringOrNull(b, in.Content)
	b = append(b, `,"Metadata":`...)
	b = appendJSONStringOrNull(b, in.Metadata)
	b = append(b, `,"ContentType":`...)
	b = appendJSONStringOrNull(b, in.ContentType)
	b = append(b, `,"SubChannelID":`...)
	b = appendJSONStringOrNull(b, in.SubChannelId)
	b = append(b, `,"Type":`...)
	b = chime.AppendJSONString(b, string(in.Type))
	b = append(b, `,"Persistence":`...)
	b = chime.AppendJSONString(b, string(in.Persistence))
	b = append(b, `,"Attrs":null,"Push":null,"Target":null}`...)
	sum := sha256.Sum256(b)
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], sum[:])
	return string(digits[:])
}

func appendJSONStringOrNull(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return chime.AppendJSONString(b, *s)
}
