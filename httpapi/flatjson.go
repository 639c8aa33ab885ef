package httpapi

import (
	"reflect"
	"unicode/utf8"
)

// stringMembers is implemented by the inputs (chime, generated) whose body
// members include strings.
type stringMembers interface {
	SetJSONString(key []byte, val string) bool
}

// decodeFlat decodes the common body of the hot calls, a JSON object
// whose members are all plain strings, without encoding/json's reflection.
// It accepts only a strict subset of JSON on which encoding/json would
// give the same result: exact member names the input takes as strings,
// string values without escapes, control characters or invalid UTF-8.
// On anything else it reports false, leaving in possibly half set; the
// caller then resets it and lets encoding/json decide.
func decodeFlat(body []byte, in stringMembers) bool {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return skipSpace(body, i+1) == len(body)
	}
	for {
		key, next, ok := plainString(body, i)
		if !ok {
			return false
		}
		i = skipSpace(body, next)
		if i == len(body) || body[i] != ':' {
			return false
		}
		val, next, ok := plainString(body, skipSpace(body, i+1))
		if !ok || !in.SetJSONString(key, string(val)) {
			return false
		}
		i = skipSpace(body, next)
		if i == len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return skipSpace(body, i+1) == len(body)
		default:
			return false
		}
	}
}

// plainString returns the content of the JSON string at body[i] when it
// needs no unescaping or replacement, and the index after it.
func plainString(body []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(body) || body[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(body); j++ {
		switch c := body[j]; {
		case c == '"':
			s = body[i+1 : j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// resetInput zeroes what a failed decodeFlat left in in (a pointer to
// an input struct).
func resetInput(in any) {
	reflect.ValueOf(in).Elem().SetZero()
}
