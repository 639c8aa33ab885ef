package filterrule_test

import (
	"fmt"

	"github.com/belfryhq/belfry/filterrule"
)

// The rule the developer guide suggests so that senders do not get a push
// for their own messages: the sender puts its ARN in an attribute and every
// member's rule excludes its own ARN.
func ExampleParse() {
	me := "arn:aws:chime:us-east-1:111122223333:app-instance/app/user/alice"
	rule, err := filterrule.Parse(`{"sender":[{"anything-but":["` + me + `"]}]}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule.Match(map[string][]string{"sender": {me}}))
	fmt.Println(rule.Match(map[string][]string{"sender": {"arn:aws:chime:us-east-1:111122223333:app-instance/app/user/bob"}}))
	// Output:
	// false
	// true
}

// Refusals explain themselves, for the caller of PutChannelMembershipPreferences.
func ExampleParse_errors() {
	for _, s := range []string{
		`{"type":[{"prefix":"urg"}]}`,
		`{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]},{"d":["4"]},{"e":["5"]},{"f":["6"]}]}`,
		`{"type":["urgent"],"type":["casual"]}`,
	} {
		_, err := filterrule.Parse(s)
		fmt.Println(err)
	}
	// Output:
	// FilterRule: operator "prefix" (in "type") is not supported; only exact strings and "anything-but" are
	// FilterRule: "$or" has 6 constraints; at most 5 are allowed
	// FilterRule: duplicate key "type"
}

// Keys are ANDed, "$or" branches are ORed, and an attribute with several
// values matches when any one of them does.
func ExampleRule_Match() {
	rule, err := filterrule.Parse(`{"channel":["general"],"$or":[{"type":["urgent"]},{"mention":["bob"]}]}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule.Match(map[string][]string{"channel": {"general"}, "mention": {"alice", "bob"}}))
	fmt.Println(rule.Match(map[string][]string{"channel": {"general"}, "type": {"casual"}}))
	fmt.Println(rule.Match(map[string][]string{"channel": {"random"}, "type": {"urgent"}}))
	// Output:
	// true
	// false
	// false
}
