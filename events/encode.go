package events

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"

	"github.com/belfryhq/belfry/chime"
)

// Hand-written JSON encoders for the two encodings a send makes inside
// the store's single writer (the message event's payload, and the event
// as the outbox keeps it): encoding/json's reflection cost about 6 µs of
// the writer's serial time per send. Their output is byte for byte what
// json.Marshal writes for the same values (tested), so either decodes the
// other's.

// AppendJSON appends m as json.Marshal encodes it.
func (m *ChannelMessage) AppendJSON(b []byte) []byte {
	b = append(b, `{"ChannelArn":`...)
	b = appendString(b, m.ChannelArn)
	b = append(b, `,"MessageId":`...)
	b = appendString(b, m.MessageId)
	if m.Content != nil {
		b = append(b, `,"Content":`...)
		b = appendString(b, *m.Content)
	}
	if m.Metadata != nil {
		b = append(b, `,"Metadata":`...)
		b = appendString(b, *m.Metadata)
	}
	b = append(b, `,"Type":`...)
	b = appendString(b, m.Type)
	b = appendTime(b, `,"CreatedTimestamp":`, m.CreatedTimestamp)
	b = appendTime(b, `,"LastEditedTimestamp":`, m.LastEditedTimestamp)
	b = appendTime(b, `,"LastUpdatedTimestamp":`, m.LastUpdatedTimestamp)
	if m.Sender != nil {
		b = append(b, `,"Sender":{`...)
		comma := false
		if m.Sender.Arn != "" {
			b = append(b, `"Arn":`...)
			b = appendString(b, m.Sender.Arn)
			comma = true
		}
		if m.Sender.Name != "" {
			if comma {
				b = append(b, ',')
			}
			b = append(b, `"Name":`...)
			b = appendString(b, m.Sender.Name)
		}
		b = append(b, '}')
	}
	b = append(b, `,"Redacted":`...)
	b = strconv.AppendBool(b, m.Redacted)
	if m.Persistence != "" {
		b = append(b, `,"Persistence":`...)
		b = appendString(b, m.Persistence)
	}
	if m.Status != nil {
		b = append(b, `,"Status":{"Value":`...)
		b = appendString(b, m.Status.Value)
		if m.Status.Detail != "" {
			b = append(b, `,"Detail":`...)
			b = appendString(b, m.Status.Detail)
		}
		b = append(b, '}')
	}
	if len(m.MessageAttributes) > 0 {
		b = append(b, `,"MessageAttributes":{`...)
		keys := make([]string, 0, len(m.MessageAttributes))
		for k := range m.MessageAttributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, `:{"StringValues":`...)
			b = appendStrings(b, m.MessageAttributes[k].StringValues)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if m.SubChannelId != "" {
		b = append(b, `,"SubChannelId":`...)
		b = appendString(b, m.SubChannelId)
	}
	if m.ContentType != "" {
		b = append(b, `,"ContentType":`...)
		b = appendString(b, m.ContentType)
	}
	if len(m.Target) > 0 {
		b = append(b, `,"Target":[`...)
		for i, t := range m.Target {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"MemberArn":`...)
			b = appendString(b, t.MemberArn)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSON appends e as json.Marshal encodes it.
func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"ID":`...)
	b = strconv.AppendUint(b, e.ID, 10)
	b = append(b, `,"Type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"MessageType":`...)
	b = appendString(b, e.MessageType)
	b = append(b, `,"Reason":`...)
	b = appendString(b, e.Reason)
	b = append(b, `,"Persistence":`...)
	b = appendString(b, e.Persistence)
	b = append(b, `,"ChannelArn":`...)
	b = appendString(b, e.ChannelArn)
	b = append(b, `,"SubChannelID":`...)
	b = appendString(b, e.SubChannelID)
	b = append(b, `,"FromSubChannelID":`...)
	b = appendString(b, e.FromSubChannelID)
	b = append(b, `,"Payload":`...)
	if e.Payload == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, e.Payload)
		b = append(b, '"')
	}
	b = append(b, `,"Members":`...)
	b = strconv.AppendBool(b, e.Members)
	b = append(b, `,"Users":`...)
	b = appendStrings(b, e.Users)
	b = append(b, `,"Joined":`...)
	b = appendStrings(b, e.Joined)
	b = append(b, `,"Left":`...)
	b = appendStrings(b, e.Left)
	b = append(b, `,"ChannelDeleted":`...)
	b = strconv.AppendBool(b, e.ChannelDeleted)
	return append(b, '}')
}

// appendTime appends key and t, as Time.MarshalJSON writes it, unless t
// is nil.
func appendTime(b []byte, key string, t *Time) []byte {
	if t == nil {
		return b
	}
	b = append(b, key...)
	return appendISO(b, t.Time)
}

// appendISO appends t as a quoted "2006-01-02T15:04:05.000Z" in UTC, as
// Time.MarshalJSON does, without time.Format's layout parsing.
func appendISO(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return append(append(append(b, '"'), t.Format("2006-01-02T15:04:05.000Z")...), '"')
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z', '"')
}

// appendStrings appends ss as a JSON array, or null for a nil slice.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string exactly as encoding/json does.
func appendString(b []byte, s string) []byte { return chime.AppendJSONString(b, s) }
