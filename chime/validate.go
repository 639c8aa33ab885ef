package chime

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// anyString is the models' pattern for "any string"; the UTF-8 check
// already covers it.
const anyString = `[\s\S]*`

// matched remembers values that matched a rule's pattern. ARNs in paths and
// the x-amz-chime-bearer header repeat on every call, and the models'
// counted repetitions (ChimeArn's .{0,1023}) make Go's regexp spend tens of
// microseconds on each. The memory is bounded: when full it starts over.
var matched struct {
	sync.RWMutex
	m map[matchKey]struct{}
}

type matchKey struct {
	re *regexp.Regexp
	s  string
}

const (
	matchedMax    = 8192 // values remembered
	matchedMaxLen = 2048 // longer values are matched every time
)

// matches reports whether s matches r's pattern.
func matches(r stringRule, s string) bool {
	if r.source == anyString {
		return true
	}
	if r.fast != nil {
		return r.fast(s)
	}
	if len(s) > matchedMaxLen {
		return r.pattern.MatchString(s)
	}
	k := matchKey{r.pattern, s}
	matched.RLock()
	_, ok := matched.m[k]
	matched.RUnlock()
	if ok {
		return true
	}
	if !r.pattern.MatchString(s) {
		return false
	}
	matched.Lock()
	if matched.m == nil || len(matched.m) >= matchedMax {
		matched.m = make(map[matchKey]struct{}, 64)
	}
	matched.m[k] = struct{}{}
	matched.Unlock()
	return true
}

// stringRule is a string shape's constraints from the model.
type stringRule struct {
	min, max int64 // max < 0: unbounded
	pattern  *regexp.Regexp
	source   string // the pattern as the model writes it, for messages
	// fast, when set, decides the pattern without the regexp, with the
	// same answer for every string.
	fast func(string) bool
}

// fastMatcher returns a hand-written matcher for the models' patterns
// that are checked on nearly every call (every ARN, the bearer, tokens
// and ids), or nil. Each agrees with the anchored regexp on every input,
// invalid UTF-8 included (TestFastMatchersAgreeWithRegexp).
func fastMatcher(source string) func(string) bool {
	switch source {
	case `arn:[a-z0-9-\.]{1,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[^/].{0,1023}`:
		return matchChimeArn
	case `.*`:
		return noNewline
	case `[-_a-zA-Z0-9]*`:
		return isTokenChars
	}
	return nil
}

// matchChimeArn is ChimeArn's pattern: "arn:" and four ':'-terminated
// segments of [a-z0-9-.] (the first non-empty, each at most 63), then a
// character other than '/' and at most 1023 more, none a newline ('.').
// Like the regexp, it counts an invalid UTF-8 byte as one character.
func matchChimeArn(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	for i := range 4 {
		n := 0
		for n < len(rest) && isArnSegmentByte(rest[n]) {
			n++
		}
		if (i == 0 && n == 0) || n > 63 || n == len(rest) || rest[n] != ':' {
			return false
		}
		rest = rest[n+1:]
	}
	if rest == "" {
		return false
	}
	if c, size := utf8.DecodeRuneInString(rest); c == '/' {
		return false
	} else {
		rest = rest[size:]
	}
	n := 0
	for _, c := range rest {
		if c == '\n' {
			return false
		}
		if n++; n > 1023 {
			return false
		}
	}
	return true
}

func isArnSegmentByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// noNewline is ".*": '.' matches anything but a newline.
func noNewline(s string) bool { return strings.IndexByte(s, '\n') < 0 }

// isTokenChars is "[-_a-zA-Z0-9]*".
func isTokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sizeRule bounds an integer's value or a list's or map's length.
type sizeRule struct{ min, max int64 }

// validator collects every violation of one input, so the caller learns all
// of them at once, in AWS's "N validation errors detected" form.
type validator struct {
	problems  []string
	bearerErr string
}

const maxReported = 10

func (v *validator) add(path, member, format string, args ...any) {
	if len(v.problems) < maxReported {
		v.problems = append(v.problems, fmt.Sprintf("Value at '%s' failed to satisfy constraint: ", join(path, member))+fmt.Sprintf(format, args...))
	} else {
		v.problems = append(v.problems, "")
	}
}

func join(path, member string) string {
	if member == "" {
		return path
	}
	return path + member
}

func elemPath(path, member string, idx any) string {
	return fmt.Sprintf("%s%s[%v]", path, member, idx)
}

func (v *validator) missing(path, member string) {
	v.add(path, member, "Member must not be null")
}

// str checks length in characters (Unicode code points, as the models count)
// and the pattern, anchored at both ends as AWS's validators match.
func (v *validator) str(path, member, s string, r stringRule) {
	n := int64(utf8.RuneCountInString(s))
	switch {
	case !utf8.ValidString(s):
		v.add(path, member, "Member must be valid UTF-8")
	case n < r.min:
		v.add(path, member, "Member must have length greater than or equal to %d", r.min)
	case r.max >= 0 && n > r.max:
		v.add(path, member, "Member must have length less than or equal to %d", r.max)
	case r.pattern != nil && !matches(r, s):
		v.add(path, member, "Member must satisfy regular expression pattern: %s", r.source)
	}
}

func (v *validator) num(path, member string, n int64, r sizeRule) {
	switch {
	case n < r.min:
		v.add(path, member, "Member must have value greater than or equal to %d", r.min)
	case n > r.max:
		v.add(path, member, "Member must have value less than or equal to %d", r.max)
	}
}

func (v *validator) size(path, member string, n int, r sizeRule) {
	switch {
	case int64(n) < r.min:
		v.add(path, member, "Member must have length greater than or equal to %d", r.min)
	case int64(n) > r.max:
		v.add(path, member, "Member must have length less than or equal to %d", r.max)
	}
}

func (v *validator) enum(path, member, val string, allowed []string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(path, member, "Member must satisfy enum value set: [%s]", strings.Join(allowed, ", "))
}

// bearer checks x-amz-chime-bearer. AWS answers a missing or malformed bearer
// with UnauthorizedClientException, not a validation error.
func (v *validator) bearer(s *string, required bool) {
	switch {
	case s == nil && required:
		v.bearerErr = "The x-amz-chime-bearer HTTP header is required: the ARN of the AppInstanceUser or AppInstanceBot that makes the API call."
	case s != nil && !matches(ruleChimeArn, *s):
		v.bearerErr = "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header."
	}
}

func (v *validator) err() error {
	if v.bearerErr != "" {
		return &Error{Kind: UnauthorizedClient, Message: v.bearerErr}
	}
	if len(v.problems) == 0 {
		return nil
	}
	shown := v.problems
	if len(shown) > maxReported {
		shown = shown[:maxReported]
	}
	noun := "errors"
	if len(v.problems) == 1 {
		noun = "error"
	}
	return &Error{Kind: BadRequest, Message: strconv.Itoa(len(v.problems)) + " validation " + noun + " detected: " + strings.Join(shown, "; ")}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
