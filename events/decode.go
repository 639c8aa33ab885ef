package events

import (
	"encoding/base64"
	"strconv"

	"github.com/belfryhq/belfry/internal/jsonscan"
)

// decodeFast decodes the outbox form of an event, what json.Marshal writes
// for an Event, without encoding/json's reflection: the relay decodes every
// committed event, and encoding/json was most of its time. It accepts only
// a strict subset of JSON on which encoding/json gives the same result:
// exact member names, strings without escapes, control characters or
// invalid UTF-8, unsigned integer IDs. On anything else it reports false,
// leaving e possibly half set; Decode then starts over with encoding/json.
func decodeFast(b []byte, e *Event) bool {
	i := jsonscan.SkipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return jsonscan.SkipSpace(b, i+1) == len(b)
	}
	for {
		key, next, ok := jsonscan.PlainString(b, i)
		if !ok {
			return false
		}
		i = jsonscan.SkipSpace(b, next)
		if i == len(b) || b[i] != ':' {
			return false
		}
		i = jsonscan.SkipSpace(b, i+1)
		switch string(key) {
		case "ID":
			e.ID, i, ok = unsignedNumber(b, i)
		case "Type":
			e.Type, i, ok = stringValue(b, i)
		case "MessageType":
			e.MessageType, i, ok = stringValue(b, i)
		case "Reason":
			e.Reason, i, ok = stringValue(b, i)
		case "Persistence":
			e.Persistence, i, ok = stringValue(b, i)
		case "ChannelArn":
			e.ChannelArn, i, ok = stringValue(b, i)
		case "SubChannelID":
			e.SubChannelID, i, ok = stringValue(b, i)
		case "FromSubChannelID":
			e.FromSubChannelID, i, ok = stringValue(b, i)
		case "Payload":
			e.Payload, i, ok = bytesValue(b, i)
		case "Members":
			e.Members, i, ok = boolValue(b, i)
		case "Users":
			e.Users, i, ok = stringsValue(b, i)
		case "Joined":
			e.Joined, i, ok = stringsValue(b, i)
		case "Left":
			e.Left, i, ok = stringsValue(b, i)
		case "ChannelDeleted":
			e.ChannelDeleted, i, ok = boolValue(b, i)
		default:
			// encoding/json matches names case-insensitively and skips
			// unknown members; it decides those.
			return false
		}
		if !ok {
			return false
		}
		i = jsonscan.SkipSpace(b, i)
		if i == len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case '}':
			return jsonscan.SkipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// unsignedNumber reads a JSON number that is a uint64 without sign,
// fraction or exponent.
func unsignedNumber(b []byte, i int) (uint64, int, bool) {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i || (b[i] == '0' && j > i+1) {
		return 0, 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(string(b[i:j]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return n, j, true
}

func stringValue(b []byte, i int) (string, int, bool) {
	s, next, ok := jsonscan.PlainString(b, i)
	if !ok {
		return "", 0, false
	}
	return intern(s), next, true
}

// intern returns the constant strings most events carry without
// allocating them again for each event.
func intern(s []byte) string {
	switch string(s) {
	case "":
		return ""
	case "CREATE_CHANNEL_MESSAGE":
		return "CREATE_CHANNEL_MESSAGE"
	case "STANDARD":
		return "STANDARD"
	case "CONTROL":
		return "CONTROL"
	case "SYSTEM":
		return "SYSTEM"
	case "PERSISTENT":
		return "PERSISTENT"
	case "NON_PERSISTENT":
		return "NON_PERSISTENT"
	}
	return string(s)
}

// bytesValue reads a []byte as encoding/json does: null, or a base64
// string decoded with the standard encoding.
func bytesValue(b []byte, i int) ([]byte, int, bool) {
	if isNull(b, i) {
		return nil, i + 4, true
	}
	s, next, ok := jsonscan.PlainString(b, i)
	if !ok {
		return nil, 0, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, 0, false
	}
	return out[:n], next, true
}

func boolValue(b []byte, i int) (bool, int, bool) {
	switch {
	case hasLiteral(b, i, "true"):
		return true, i + 4, true
	case hasLiteral(b, i, "false"):
		return false, i + 5, true
	}
	return false, 0, false
}

// stringsValue reads a []string: null, or an array of plain strings.
func stringsValue(b []byte, i int) ([]string, int, bool) {
	if isNull(b, i) {
		return nil, i + 4, true
	}
	if i == len(b) || b[i] != '[' {
		return nil, 0, false
	}
	out := []string{}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, i + 1, true
	}
	for {
		s, next, ok := jsonscan.PlainString(b, i)
		if !ok {
			return nil, 0, false
		}
		out = append(out, string(s))
		i = jsonscan.SkipSpace(b, next)
		if i == len(b) {
			return nil, 0, false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case ']':
			return out, i + 1, true
		default:
			return nil, 0, false
		}
	}
}

func isNull(b []byte, i int) bool { return hasLiteral(b, i, "null") }

// hasLiteral reports whether the JSON literal lit starts at b[i] and ends
// there (a letter after it would make it another, invalid token).
func hasLiteral(b []byte, i int, lit string) bool {
	end := i + len(lit)
	if end > len(b) || string(b[i:end]) != lit {
		return false
	}
	return end == len(b) || !isLetter(b[end])
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
