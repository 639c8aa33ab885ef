package filterrule

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name       string
		rule       string
		complexity int
	}{
		// The guide's worked example: keys "type" and "mention", values
		// "Room" and "Bob".
		{"guide example", `{"type":[{"anything-but": ["Room"]}],"mention":["Bob"]}`, 4},
		{"one exact", `{"type":["urgent"]}`, 2},
		{"several exact", `{"type":["a","b","c"]}`, 4},
		{"anything-but single string", `{"sender":[{"anything-but":"me"}]}`, 2},
		{"anything-but list", `{"sender":[{"anything-but":["me","you"]}]}`, 3},
		{"mixed array", `{"k":["a",{"anything-but":["b"]}]}`, 3},
		{"or", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, 4},
		{"or with keys", `{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}`, 6},
		{"keys after or", `{"$or":[{"a":["1"]},{"b":["2"]}],"c":["3"]}`, 6},
		{"or of five", `{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]},{"d":["4"]},{"e":["5"]}]}`, 10},
		{"nested or", `{"$or":[{"$or":[{"a":["1"]},{"b":["2"]}]},{"c":["3"]}]}`, 6},
		{"complexity at limit", `{"a":["1","2","3","4","5","6","7","8","9"],"b":["1","2","3","4","5","6","7","8","9"]}`, 20},
		{"whitespace", " \n{ \"a\" : [ \"b\" ] }\t", 2},
		{"escaped key", `{"\u0061":["b"]}`, 2},
		{"empty string value", `{"a":[""]}`, 2},
		{"unicode", `{"тип":["срочно"]}`, 2},
		{"duplicate values", `{"a":["x","x"]}`, 3},
		{"at size limit", `{"a":["` + strings.Repeat("x", MaxSize-10) + `"]}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			if r.complexity != tt.complexity {
				t.Errorf("complexity = %d, want %d", r.complexity, tt.complexity)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	orOf := func(n int) string {
		b := make([]string, n)
		for i := range b {
			b[i] = `{"k":["v"]}`
		}
		return `{"$or":[` + strings.Join(b, ",") + `]}`
	}
	tests := []struct {
		name, rule, want string
	}{
		{"empty", ``, `must not be empty`},
		{"blank", " \n", `must not be empty`},
		{"too big", `{"a":["` + strings.Repeat("x", MaxSize) + `"]}`, `is 2058 bytes; at most 2048 are allowed`},
		{"invalid utf8", "{\"a\":[\"\xff\"]}", `not valid UTF-8`},
		{"invalid json", `{"a":["b"]`, `not valid JSON`},
		{"syntax error", `{"a" ["b"]}`, `not valid JSON: invalid character`},
		{"trailing data", `{"a":["b"]} {}`, `not valid JSON`},
		{"array top level", `[{"a":["b"]}]`, `must be a JSON object, not an array`},
		{"string top level", `"a"`, `must be a JSON object, not the string "a"`},
		{"null top level", `null`, `must be a JSON object, not null`},
		{"empty object", `{}`, `must have at least one condition`},
		{"empty key", `{"":["b"]}`, `keys must not be empty`},
		{"duplicate key", `{"a":["b"],"a":["c"]}`, `duplicate key "a"`},
		{"duplicate key escaped", `{"a":["b"],"\u0061":["c"]}`, `duplicate key "a"`},
		{"duplicate or", `{"$or":[{"a":["1"]},{"b":["2"]}],"$or":[{"a":["1"]},{"b":["2"]}]}`, `duplicate key "$or"`},
		{"duplicate key in branch", `{"$or":[{"a":["1"],"a":["2"]},{"b":["2"]}]}`, `duplicate key "a"`},
		{"value string", `{"a":"b"}`, `the value of "a" must be a non-empty array, not the string "b"`},
		{"value number", `{"a":1}`, `the value of "a" must be a non-empty array, not the number 1`},
		{"value object", `{"a":{"b":["c"]}}`, `the value of "a" must be an array, not an object`},
		{"empty array", `{"a":[]}`, `the value of "a" must be a non-empty array`},
		{"number element", `{"a":[5]}`, `holds the number 5; only exact string matching is supported`},
		{"bool element", `{"a":[true]}`, `holds true; only strings`},
		{"null element", `{"a":[null]}`, `holds null; only strings`},
		{"nested array", `{"a":[["b"]]}`, `holds an array`},
		{"empty operator", `{"a":[{}]}`, `holds an empty object`},
		{"prefix", `{"a":[{"prefix":"b"}]}`, `operator "prefix" (in "a") is not supported`},
		{"numeric", `{"a":[{"numeric":[">",1]}]}`, `operator "numeric" (in "a") is not supported`},
		{"exists", `{"a":[{"exists":true}]}`, `operator "exists" (in "a") is not supported`},
		{"suffix", `{"a":[{"suffix":"b"}]}`, `operator "suffix" (in "a") is not supported`},
		{"equals-ignore-case", `{"a":[{"equals-ignore-case":"b"}]}`, `operator "equals-ignore-case" (in "a") is not supported`},
		{"unknown operator", `{"a":[{"like":"b"}]}`, `unknown operator "like" in "a"`},
		{"two operators", `{"a":[{"anything-but":"b","prefix":"c"}]}`, `must hold exactly one operator`},
		{"anything-but twice", `{"a":[{"anything-but":"b","anything-but":"c"}]}`, `must hold exactly one operator`},
		{"anything-but number", `{"a":[{"anything-but":1}]}`, `"anything-but" in "a" takes a string or an array of strings, not the number 1`},
		{"anything-but number in list", `{"a":[{"anything-but":["b",1]}]}`, `not the number 1`},
		{"anything-but prefix", `{"a":[{"anything-but":{"prefix":"b"}}]}`, `not an object`},
		{"anything-but empty", `{"a":[{"anything-but":[]}]}`, `"anything-but" in "a" must not be an empty array`},
		{"anything-but null", `{"a":[{"anything-but":null}]}`, `not null`},
		{"dollar operator", `{"$and":[{"a":["1"]},{"b":["2"]}]}`, `unknown operator "$and"; only "$or" is supported`},
		{"or not array", `{"$or":{"a":["1"]}}`, `"$or" must be an array of objects, not an object`},
		{"or of strings", `{"$or":["a","b"]}`, `"$or" must be an array of objects, but constraint 1 is the string "a"`},
		{"or empty", `{"$or":[]}`, `"$or" has 0 constraints; at least 2 are required`},
		{"or of one", orOf(1), `"$or" has 1 constraint; at least 2 are required`},
		{"or of six", orOf(6), `"$or" has 6 constraints; at most 5 are allowed`},
		{"or empty branch", `{"$or":[{"a":["1"]},{}]}`, `"$or" constraint 2 is empty`},
		{"or bad branch", `{"$or":[{"a":["1"]},{"b":[1]}]}`, `holds the number 1`},
		{"complexity", `{"a":["1","2","3","4","5","6","7","8","9"],"b":["1","2","3","4","5","6","7","8","9","10"]}`, `has complexity 21; at most 20 is allowed`},
		{"complexity anything-but", `{"a":[{"anything-but":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20"]}]}`, `has complexity 21`},
		{"complexity nested or", `{"$or":[{"$or":[{"a":["1","2","3"]},{"b":["1","2","3"]}]},{"$or":[{"c":["1","2","3"]},{"d":["1","2","3"]}]},{"e":["1","2","3","4"]}]}`, `has complexity 21`},
		{"long key shortened", `{"` + strings.Repeat("k", 100) + `":"v"}`, `"` + strings.Repeat("k", 40) + `…"`},
		{"control character quoted", "{\"a\\u0007\":1}", `"a\a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error containing %q", tt.rule, r, tt.want)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %T, want *Error", tt.rule, err)
			}
			if !strings.HasPrefix(err.Error(), "FilterRule: ") {
				t.Errorf("error %q lacks the FilterRule prefix", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tt.rule, err, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	type attrs = map[string][]string
	tests := []struct {
		name  string
		rule  string
		attrs attrs
		want  bool
	}{
		{"exact hit", `{"type":["urgent"]}`, attrs{"type": {"urgent"}}, true},
		{"exact miss", `{"type":["urgent"]}`, attrs{"type": {"casual"}}, false},
		{"exact any listed", `{"type":["a","b"]}`, attrs{"type": {"b"}}, true},
		{"exact any attribute value", `{"type":["b"]}`, attrs{"type": {"a", "b"}}, true},
		{"exact is case sensitive", `{"type":["Urgent"]}`, attrs{"type": {"urgent"}}, false},
		{"exact missing attribute", `{"type":["urgent"]}`, attrs{"other": {"urgent"}}, false},
		{"exact nil attrs", `{"type":["urgent"]}`, nil, false},
		{"exact empty value list", `{"type":["urgent"]}`, attrs{"type": {}}, false},
		{"empty string matches empty string", `{"type":[""]}`, attrs{"type": {""}}, true},
		{"anything-but hit", `{"sender":[{"anything-but":["me"]}]}`, attrs{"sender": {"you"}}, true},
		{"anything-but excluded", `{"sender":[{"anything-but":["me"]}]}`, attrs{"sender": {"me"}}, false},
		{"anything-but single string", `{"sender":[{"anything-but":"me"}]}`, attrs{"sender": {"me"}}, false},
		{"anything-but list", `{"sender":[{"anything-but":["me","you"]}]}`, attrs{"sender": {"you"}}, false},
		{"anything-but missing attribute", `{"sender":[{"anything-but":["me"]}]}`, attrs{}, false},
		{"anything-but empty value list", `{"sender":[{"anything-but":["me"]}]}`, attrs{"sender": nil}, false},
		// Any value matching is enough, so an exclusion does not veto.
		{"anything-but other value passes", `{"sender":[{"anything-but":["me"]}]}`, attrs{"sender": {"me", "you"}}, true},
		{"two anything-buts", `{"k":[{"anything-but":"a"},{"anything-but":"b"}]}`, attrs{"k": {"a"}}, true},
		{"mixed exact wins", `{"k":["a",{"anything-but":["a"]}]}`, attrs{"k": {"a"}}, true},
		{"and both", `{"type":["urgent"],"mention":["Bob"]}`, attrs{"type": {"urgent"}, "mention": {"Bob"}}, true},
		{"and one", `{"type":["urgent"],"mention":["Bob"]}`, attrs{"type": {"urgent"}}, false},
		{"guide example passes", `{"type":[{"anything-but": ["Room"]}],"mention":["Bob"]}`, attrs{"type": {"DM"}, "mention": {"Bob"}}, true},
		{"guide example fails", `{"type":[{"anything-but": ["Room"]}],"mention":["Bob"]}`, attrs{"type": {"Room"}, "mention": {"Bob"}}, false},
		{"or first", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"a": {"1"}}, true},
		{"or second", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"b": {"2"}}, true},
		{"or none", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"a": {"2"}, "b": {"1"}}, false},
		{"or and key both", `{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"c": {"3"}, "b": {"2"}}, true},
		{"or and key, key fails", `{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"c": {"4"}, "b": {"2"}}, false},
		{"or and key, or fails", `{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}`, attrs{"c": {"3"}}, false},
		{"or branch is an and", `{"$or":[{"a":["1"],"b":["2"]},{"c":["3"]}]}`, attrs{"a": {"1"}}, false},
		{"nested or", `{"$or":[{"$or":[{"a":["1"]},{"b":["2"]}]},{"c":["3"]}]}`, attrs{"b": {"2"}}, true},
		{"nested or none", `{"$or":[{"$or":[{"a":["1"]},{"b":["2"]}]},{"c":["3"]}]}`, attrs{"d": {"4"}}, false},
		{"not the sender", `{"sender":[{"anything-but":["arn:aws:chime:us-east-1:1:app-instance/a/user/me"]}]}`,
			attrs{"sender": {"arn:aws:chime:us-east-1:1:app-instance/a/user/you"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			if got := r.Match(tt.attrs); got != tt.want {
				t.Errorf("Match(%v) = %v, want %v", tt.attrs, got, tt.want)
			}
			if ref := refMatch(t, tt.rule, tt.attrs); ref != tt.want {
				t.Errorf("reference matcher disagrees with the table: %v", ref)
			}
		})
	}
}

func TestNilRuleMatchesEverything(t *testing.T) {
	var r *Rule
	if !r.Match(nil) || !r.Match(map[string][]string{"a": {"b"}}) {
		t.Error("nil Rule should match every message")
	}
}

// refMatch is a second, deliberately naive evaluator over the generic JSON
// decoding of an accepted rule, so the fuzzer can cross-check Match. It
// relies on Parse having refused everything outside the grammar (and
// duplicate keys, which a map would hide).
func refMatch(t testing.TB, rule string, attrs map[string][]string) bool {
	var m map[string]any
	if err := json.Unmarshal([]byte(rule), &m); err != nil {
		t.Fatalf("accepted rule %q does not decode: %v", rule, err)
	}
	return refObject(m, attrs)
}

func refObject(m map[string]any, attrs map[string][]string) bool {
	for k, v := range m {
		if k == "$or" {
			passed := false
			for _, b := range v.([]any) {
				if refObject(b.(map[string]any), attrs) {
					passed = true
				}
			}
			if !passed {
				return false
			}
			continue
		}
		hit := false
		for _, have := range attrs[k] {
			for _, p := range v.([]any) {
				switch p := p.(type) {
				case string:
					if p == have {
						hit = true
					}
				case map[string]any:
					excluded := false
					switch ab := p["anything-but"].(type) {
					case string:
						excluded = ab == have
					case []any:
						for _, x := range ab {
							if x.(string) == have {
								excluded = true
							}
						}
					}
					if !excluded {
						hit = true
					}
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// ruleStrings lists the keys and values of a parsed rule, so the fuzzer can
// build attributes that actually exercise it.
func ruleStrings(n *node, keys, values []string) ([]string, []string) {
	for _, c := range n.conds {
		keys = append(keys, c.key)
		values = append(values, c.equal...)
		for _, ex := range c.anythingBut {
			values = append(values, ex...)
		}
	}
	for i := range n.or {
		keys, values = ruleStrings(&n.or[i], keys, values)
	}
	return keys, values
}

// checkShape asserts the limits on an accepted rule's tree.
func checkShape(t *testing.T, n *node) {
	if n.empty() {
		t.Fatal("accepted an empty object")
	}
	if len(n.or) != 0 && (len(n.or) < minOrConstraints || len(n.or) > MaxOrConstraints) {
		t.Fatalf("accepted an $or of %d", len(n.or))
	}
	for _, c := range n.conds {
		if c.key == "" || strings.HasPrefix(c.key, "$") {
			t.Fatalf("accepted key %q", c.key)
		}
		if len(c.equal) == 0 && len(c.anythingBut) == 0 {
			t.Fatalf("accepted an empty condition for %q", c.key)
		}
	}
	for i := range n.or {
		checkShape(t, &n.or[i])
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":["urgent"]}`,
		`{"type":[{"anything-but": ["Room"]}],"mention":["Bob"]}`,
		`{"sender":[{"anything-but":"me"}]}`,
		`{"k":["a",{"anything-but":["b"]}]}`,
		`{"c":["3"],"$or":[{"a":["1"]},{"b":["2"]}]}`,
		`{"$or":[{"$or":[{"a":["1"]},{"b":["2"]}]},{"c":["3"]}]}`,
		`{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]},{"d":["4"]},{"e":["5"]},{"f":["6"]}]}`,
		`{"a":[{"prefix":"b"}]}`,
		`{"a":["b"],"a":["c"]}`,
		`{"a":[1,true,null,[],{}]}`,
		`[]`,
		``,
	} {
		f.Add(s, []byte{0, 1, 2, 3, 4, 5, 6, 7})
	}
	f.Fuzz(func(t *testing.T, rule string, choice []byte) {
		r, err := Parse(rule)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Message, "FilterRule: ") {
				t.Fatalf("Parse(%q) error %v (%T) is not a prefixed *Error", rule, err, err)
			}
			return
		}
		if len(rule) > MaxSize {
			t.Fatalf("accepted a rule of %d bytes", len(rule))
		}
		if r.complexity > MaxComplexity {
			t.Fatalf("accepted complexity %d", r.complexity)
		}
		checkShape(t, &r.root)

		// Attributes drawn mostly from the rule's own strings, with the
		// fuzzer choosing which keys are present and with which values.
		keys, values := ruleStrings(&r.root, nil, nil)
		values = append(values, "", "other")
		pick := func() int {
			if len(choice) == 0 {
				return 0
			}
			c := int(choice[0])
			choice = choice[1:]
			return c
		}
		attrs := make(map[string][]string)
		for _, k := range keys {
			switch n := pick() % 4; n {
			case 0: // absent
			default:
				vs := make([]string, 0, n)
				for range n - 1 {
					vs = append(vs, values[pick()%len(values)])
				}
				attrs[k] = vs // n == 1 gives an empty list
			}
		}
		got := r.Match(attrs)
		if want := refMatch(t, rule, attrs); got != want {
			t.Fatalf("Parse(%q).Match(%v) = %v, reference says %v", rule, attrs, got, want)
		}
		r.Match(nil)
	})
}
