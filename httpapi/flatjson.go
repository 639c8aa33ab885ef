package httpapi

import (
	"reflect"

	"github.com/belfryhq/belfry/internal/jsonscan"
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
	i := jsonscan.SkipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return false
	}
	i = jsonscan.SkipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return jsonscan.SkipSpace(body, i+1) == len(body)
	}
	for {
		key, next, ok := jsonscan.PlainString(body, i)
		if !ok {
			return false
		}
		i = jsonscan.SkipSpace(body, next)
		if i == len(body) || body[i] != ':' {
			return false
		}
		val, next, ok := jsonscan.PlainString(body, jsonscan.SkipSpace(body, i+1))
		if !ok || !in.SetJSONString(key, string(val)) {
			return false
		}
		i = jsonscan.SkipSpace(body, next)
		if i == len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = jsonscan.SkipSpace(body, i+1)
		case '}':
			return jsonscan.SkipSpace(body, i+1) == len(body)
		default:
			return false
		}
	}
}

// resetInput zeroes what a failed decodeFlat left in in (a pointer to
// an input struct).
func resetInput(in any) {
	reflect.ValueOf(in).Elem().SetZero()
}
