// Package filterrule parses and evaluates the FilterRule of a channel
// membership's push-notification preferences.
//
// A member whose PushNotifications.AllowNotifications is FILTERED only gets
// a push for a message when the message's MessageAttributes pass the
// member's FilterRule. The rule is a JSON string in the subset of the
// EventBridge event-pattern language that Chime accepts:
//
//	{"type":["urgent","mention"]}               exact match of any listed string
//	{"sender":[{"anything-but":["arn:...:me"]}]} any value except these
//	{"sender":[{"anything-but":"arn:...:me"}]}   the same, with one string
//	{"type":["urgent"],"mention":["Bob"]}        keys are ANDed
//	{"$or":[{"type":["urgent"]},{"mention":["Bob"]}]}
//
// An object may mix "$or" with plain keys (they are ANDed), and the branches
// of an "$or" may hold an "$or" of their own. Chime limits a rule to 2 KB,
// five branches per "$or" and a complexity (keys plus values) of 20; only
// exact string matching exists, so EventBridge's numeric, prefix, exists and
// similar operators are refused rather than silently ignored, as a member
// who writes them expects them to work.
//
// A message attribute holds a list of strings and, as in EventBridge, a key
// matches when any one of those strings matches. So
// {"sender":[{"anything-but":["me"]}]} still passes a message whose
// "sender" attribute is ["me","you"]. A message without the attribute
// matches neither an exact list nor an "anything-but": a member who
// excludes themselves by sender gets no pushes for messages that carry no
// sender at all.
//
// Parse validates a rule once, when PutChannelMembershipPreferences stores
// it, and reports problems in messages meant for the API caller; Match is
// then cheap enough to run for every member on every message.
package filterrule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The limits Chime documents for a filter rule.
const (
	// MaxSize is the largest rule, in bytes of its JSON text.
	MaxSize = 2048
	// MaxOrConstraints is the most branches one "$or" may have.
	MaxOrConstraints = 5
	// MaxComplexity bounds the number of attribute keys plus the number of
	// listed strings (including those of "anything-but") in the whole rule.
	MaxComplexity = 20
)

// minOrConstraints: an "$or" of one branch is the branch itself; EventBridge
// refuses it, and accepting it here would let rules pass Belfry that AWS
// rejects.
const minOrConstraints = 2

// Error is a rule that Parse refused. Message names the problem, starts
// with "FilterRule: ", and is safe to send back to the API caller as the
// message of a BadRequestException.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: "FilterRule: " + fmt.Sprintf(format, args...)}
}

// Rule is a parsed filter rule. It is immutable, so one Rule may be shared
// by concurrent Match calls.
type Rule struct {
	root node
	// complexity is kept for tests, which check it against the guide's
	// worked example.
	complexity int
}

// node is one JSON object of the rule: all of its conditions must hold and,
// when it has an "$or", at least one of the branches too.
type node struct {
	conds []condition
	or    []node
}

func (n *node) empty() bool { return len(n.conds) == 0 && len(n.or) == 0 }

func (n *node) match(attrs map[string][]string) bool {
	for i := range n.conds {
		if !n.conds[i].match(attrs[n.conds[i].key]) {
			return false
		}
	}
	if len(n.or) == 0 {
		return true
	}
	for i := range n.or {
		if n.or[i].match(attrs) {
			return true
		}
	}
	return false
}

// condition is one key of a rule object with the patterns of its array.
type condition struct {
	key string
	// equal are the plain strings of the array.
	equal []string
	// anythingBut has one exclusion list per "anything-but" object: the
	// array may hold several, and each is a pattern of its own.
	anythingBut [][]string
}

// match reports whether any of an attribute's values matches any of the
// patterns. No values (a missing attribute) never matches, which is what
// EventBridge does for "anything-but" too.
func (c *condition) match(values []string) bool {
	for _, v := range values {
		if slices.Contains(c.equal, v) {
			return true
		}
		for _, ex := range c.anythingBut {
			if !slices.Contains(ex, v) {
				return true
			}
		}
	}
	return false
}

// Match reports whether a message with these attributes passes the rule,
// that is whether the member gets a push for it. A nil Rule matches every
// message, like having no filter at all.
func (r *Rule) Match(attrs map[string][]string) bool {
	if r == nil {
		return true
	}
	return r.root.match(attrs)
}

// unsupported are the EventBridge operators outside Chime's subset. Naming
// them lets the error say "not supported" instead of "unknown".
var unsupported = map[string]bool{
	"prefix":             true,
	"suffix":             true,
	"equals-ignore-case": true,
	"wildcard":           true,
	"numeric":            true,
	"exists":             true,
	"cidr":               true,
}

// Parse parses and validates a filter rule. Every refusal is an *Error.
func Parse(s string) (*Rule, error) {
	// Size first: it is the documented limit and bounds all the work below.
	if len(s) > MaxSize {
		return nil, errorf("is %d bytes; at most %d are allowed", len(s), MaxSize)
	}
	if strings.TrimSpace(s) == "" {
		return nil, errorf("must not be empty")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, leaving a
	// rule that can never match what the caller meant.
	if !utf8.ValidString(s) {
		return nil, errorf("is not valid UTF-8")
	}
	// Validating the whole text up front means a syntax error is always
	// reported as such, even when the walk below would have stopped earlier
	// on a semantic problem; it also rejects trailing data.
	var raw json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, syntaxError(err)
	}

	// A token walk rather than Unmarshal into a map: maps lose duplicate
	// keys, which must be refused because a caller who writes a key twice
	// cannot know which of the two AWS honours.
	p := &parser{dec: json.NewDecoder(bytes.NewReader(raw))}
	p.dec.UseNumber()
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errorf("must be a JSON object, not %s", describe(tok))
	}
	root, err := p.object()
	if err != nil {
		return nil, err
	}
	if root.empty() {
		return nil, errorf("must have at least one condition")
	}
	if p.complexity > MaxComplexity {
		return nil, errorf("has complexity %d; at most %d is allowed (each key and each value counts 1)", p.complexity, MaxComplexity)
	}
	return &Rule{root: root, complexity: p.complexity}, nil
}

func syntaxError(err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errorf("is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return errorf("is not valid JSON: %v", err)
}

type parser struct {
	dec        *json.Decoder
	complexity int
}

func (p *parser) next() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		// The text was validated already, so only a bug gets here; answer
		// with an error all the same rather than trust that.
		return nil, errorf("is not valid JSON: %v", err)
	}
	return tok, nil
}

// object parses the members of an object whose '{' was just read, and its
// closing '}'.
func (p *parser) object() (node, error) {
	var n node
	seen := make(map[string]bool)
	for p.dec.More() {
		tok, err := p.next()
		if err != nil {
			return node{}, err
		}
		key, _ := tok.(string) // valid JSON: object keys are strings
		if seen[key] {
			return node{}, errorf("duplicate key %s", quote(key))
		}
		seen[key] = true
		switch {
		case key == "":
			return node{}, errorf("keys must not be empty")
		case key == "$or":
			if n.or, err = p.or(); err != nil {
				return node{}, err
			}
		case strings.HasPrefix(key, "$"):
			// EventBridge has no other "$" operator; treating "$and" as an
			// attribute name would fail later with a baffling message.
			return node{}, errorf("unknown operator %s; only \"$or\" is supported", quote(key))
		default:
			c, err := p.condition(key)
			if err != nil {
				return node{}, err
			}
			n.conds = append(n.conds, c)
		}
	}
	if _, err := p.next(); err != nil { // '}'
		return node{}, err
	}
	return n, nil
}

func (p *parser) or() ([]node, error) {
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, errorf("\"$or\" must be an array of objects, not %s", describe(tok))
	}
	var branches []node
	for p.dec.More() {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') {
			return nil, errorf("\"$or\" must be an array of objects, but constraint %d is %s", len(branches)+1, describe(tok))
		}
		b, err := p.object()
		if err != nil {
			return nil, err
		}
		if b.empty() {
			return nil, errorf("\"$or\" constraint %d is empty", len(branches)+1)
		}
		branches = append(branches, b)
	}
	if _, err := p.next(); err != nil { // ']'
		return nil, err
	}
	switch n := len(branches); {
	case n < minOrConstraints:
		return nil, errorf("\"$or\" has %s; at least %d are required", plural(n, "constraint"), minOrConstraints)
	case n > MaxOrConstraints:
		return nil, errorf("\"$or\" has %s; at most %d are allowed", plural(n, "constraint"), MaxOrConstraints)
	}
	return branches, nil
}

// condition parses the array of an attribute key.
func (p *parser) condition(key string) (condition, error) {
	tok, err := p.next()
	if err != nil {
		return condition{}, err
	}
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		// EventBridge would read this as a nested event field; message
		// attributes are flat, so it could never match.
		return condition{}, errorf("the value of %s must be an array, not an object: message attributes have no nested fields", quote(key))
	default:
		return condition{}, errorf("the value of %s must be a non-empty array, not %s", quote(key), describe(tok))
	}
	c := condition{key: key}
	p.complexity++
	for p.dec.More() {
		tok, err := p.next()
		if err != nil {
			return condition{}, err
		}
		switch t := tok.(type) {
		case string:
			c.equal = append(c.equal, t)
			p.complexity++
		case json.Delim: // '{' or '['; a closing delimiter ends More first
			if t != '{' {
				return condition{}, errorf("the array of %s holds an array; list the strings directly", quote(key))
			}
			ex, err := p.operator(key)
			if err != nil {
				return condition{}, err
			}
			c.anythingBut = append(c.anythingBut, ex)
		case json.Number:
			return condition{}, errorf("the array of %s holds the number %s; only exact string matching is supported, so quote it", quote(key), t)
		default:
			return condition{}, errorf("the array of %s holds %s; only strings and {\"anything-but\": ...} are allowed", quote(key), describe(tok))
		}
	}
	if _, err := p.next(); err != nil { // ']'
		return condition{}, err
	}
	if len(c.equal) == 0 && len(c.anythingBut) == 0 {
		return condition{}, errorf("the value of %s must be a non-empty array", quote(key))
	}
	return c, nil
}

// operator parses an operator object whose '{' was just read, in the array
// of key. Only "anything-but" is accepted; it returns the excluded strings.
func (p *parser) operator(key string) ([]string, error) {
	if !p.dec.More() {
		return nil, errorf("the array of %s holds an empty object; expected {\"anything-but\": ...}", quote(key))
	}
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	op, _ := tok.(string) // valid JSON: object keys are strings
	if op != "anything-but" {
		if unsupported[op] {
			return nil, errorf("operator %s (in %s) is not supported; only exact strings and \"anything-but\" are", quote(op), quote(key))
		}
		return nil, errorf("unknown operator %s in %s; only \"anything-but\" is supported", quote(op), quote(key))
	}
	ex, err := p.anythingBut(key)
	if err != nil {
		return nil, err
	}
	if p.dec.More() {
		return nil, errorf("an operator object in %s must hold exactly one operator", quote(key))
	}
	if _, err := p.next(); err != nil { // '}'
		return nil, err
	}
	return ex, nil
}

// anythingBut parses the value of an "anything-but": one string, as
// EventBridge allows, or a non-empty array of strings.
func (p *parser) anythingBut(key string) ([]string, error) {
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	bad := func(tok json.Token) error {
		return errorf("\"anything-but\" in %s takes a string or an array of strings, not %s; only exact string matching is supported", quote(key), describe(tok))
	}
	if s, ok := tok.(string); ok {
		p.complexity++
		return []string{s}, nil
	}
	if tok != json.Delim('[') {
		return nil, bad(tok)
	}
	var ex []string
	for p.dec.More() {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		s, ok := tok.(string)
		if !ok {
			return nil, bad(tok)
		}
		ex = append(ex, s)
		p.complexity++
	}
	if _, err := p.next(); err != nil { // ']'
		return nil, err
	}
	if len(ex) == 0 {
		return nil, errorf("\"anything-but\" in %s must not be an empty array", quote(key))
	}
	return ex, nil
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
	case string:
		return "the string " + quote(t)
	case json.Number:
		return "the number " + t.String()
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// quote shortens what it quotes: a key can be as long as the rule, and the
// message only needs enough of it to find the spot. %q-style escaping keeps
// control characters out of responses and logs.
func quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return strconv.Quote(s)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
