package chime

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

const (
	userArn    = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/user/alice"
	channelArn = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/channel/c1"
)

func validSend() *SendChannelMessageRequest {
	return &SendChannelMessageRequest{
		ChannelArn: ptr(channelArn), ChimeBearer: ptr(userArn), ClientRequestToken: ptr("token-1"),
		Content: ptr("hello"), Type: ChannelMessageTypeStandard, Persistence: ChannelMessagePersistenceTypePersistent,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		in     interface{ Validate() error }
		kind   ErrorKind
		substr string
	}{
		{"valid send", validSend(), "", ""},
		{"required member", func() *SendChannelMessageRequest { r := validSend(); r.Content = nil; return r }(), BadRequest, "'Content' failed to satisfy constraint: Member must not be null"},
		{"required enum", func() *SendChannelMessageRequest { r := validSend(); r.Type = ""; return r }(), BadRequest, "'Type'"},
		{"enum value", func() *SendChannelMessageRequest { r := validSend(); r.Type = "SYSTEM"; return r }(), BadRequest, "enum value set: [STANDARD, CONTROL]"},
		{"min length", func() *SendChannelMessageRequest { r := validSend(); r.Content = ptr(""); return r }(), BadRequest, "'Content' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"max length counts characters", func() *SendChannelMessageRequest {
			r := validSend()
			r.Metadata = ptr(strings.Repeat("é", 1024)) // 2048 bytes, 1024 characters
			return r
		}(), "", ""},
		{"max length", func() *SendChannelMessageRequest {
			r := validSend()
			r.Metadata = ptr(strings.Repeat("m", 1025))
			return r
		}(), BadRequest, "'Metadata' failed to satisfy constraint: Member must have length less than or equal to 1024"},
		{"pattern", func() *SendChannelMessageRequest { r := validSend(); r.ClientRequestToken = ptr("has space"); return r }(), BadRequest, "'ClientRequestToken' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"invalid UTF-8", func() *SendChannelMessageRequest { r := validSend(); r.Content = ptr("\xff"); return r }(), BadRequest, "valid UTF-8"},
		{"list size", func() *SendChannelMessageRequest {
			r := validSend()
			r.Target = []Target{{MemberArn: ptr(userArn)}, {MemberArn: ptr(userArn)}}
			return r
		}(), BadRequest, "'Target' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"list element", func() *SendChannelMessageRequest {
			r := validSend()
			r.Target = []Target{{MemberArn: ptr("x")}}
			return r
		}(), BadRequest, "'Target[0].MemberArn'"},
		{"nested structure", func() *SendChannelMessageRequest {
			r := validSend()
			r.PushNotification = &PushNotificationConfiguration{Title: ptr(strings.Repeat("t", 51))}
			return r
		}(), BadRequest, "'PushNotification.Title'"},
		{"map key and value", func() *SendChannelMessageRequest {
			r := validSend()
			r.MessageAttributes = map[string]MessageAttributeValue{"": {StringValues: []string{""}}}
			return r
		}(), BadRequest, "2 validation errors detected"},
		{"missing bearer is unauthorized", func() *SendChannelMessageRequest { r := validSend(); r.ChimeBearer = nil; return r }(), UnauthorizedClient, "x-amz-chime-bearer"},
		{"malformed bearer is unauthorized", func() *SendChannelMessageRequest { r := validSend(); r.ChimeBearer = ptr("alice"); return r }(), UnauthorizedClient, "invalid app instance user ARN"},
		{"optional bearer absent", &SearchChannelsRequest{Fields: []SearchField{{Key: SearchFieldKeyMembers, Operator: SearchFieldOperatorEquals, Values: []string{userArn}}}}, "", ""},
		{"integer range", &ListAppInstancesRequest{MaxResults: ptr(int32(51))}, BadRequest, "'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"integer range low", &ListAppInstancesRequest{MaxResults: ptr(int32(0))}, BadRequest, "greater than or equal to 1"},
		{"identity enum is narrower", &PutAppInstanceUserExpirationSettingsRequest{
			AppInstanceUserArn: ptr(userArn),
			ExpirationSettings: &IdentityExpirationSettings{ExpirationDays: ptr(int32(1)), ExpirationCriterion: "LAST_MESSAGE_TIMESTAMP"},
		}, BadRequest, "[CREATED_TIMESTAMP]"},
		{"user id pattern", &CreateAppInstanceUserRequest{AppInstanceArn: ptr("arn:aws:chime:us-east-1:1:app-instance/a"), AppInstanceUserId: ptr("-bad"), Name: ptr("n"), ClientRequestToken: ptr("tok1")}, BadRequest, "'AppInstanceUserId'"},
		{"user name needs a non-space", &CreateAppInstanceUserRequest{AppInstanceArn: ptr("arn:aws:chime:us-east-1:1:app-instance/a"), AppInstanceUserId: ptr("u"), Name: ptr("   "), ClientRequestToken: ptr("tok1")}, BadRequest, "'Name'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if KindOf(err) != tt.kind {
				t.Fatalf("Validate() = %v, want kind %q", err, tt.kind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.substr)
			}
		})
	}
}

func TestValidationReportsAtMostTen(t *testing.T) {
	r := &BatchCreateChannelMembershipRequest{ChannelArn: ptr(channelArn), ChimeBearer: ptr(userArn)}
	for i := 0; i < 30; i++ {
		r.MemberArns = append(r.MemberArns, "x")
	}
	err := r.Validate()
	if err == nil || !strings.Contains(err.Error(), "30 validation errors detected") || strings.Count(err.Error(), "Value at") != maxReported {
		t.Errorf("Validate() = %v", err)
	}
}

func TestTimeWire(t *testing.T) {
	var tm Time
	if err := tm.UnmarshalJSON([]byte("1650878984.123")); err != nil || tm.UnixMilli() != 1650878984123 {
		t.Fatalf("UnmarshalJSON = %v, %v", tm, err)
	}
	b, _ := tm.MarshalJSON()
	if string(b) != "1650878984.123" {
		t.Errorf("MarshalJSON = %s", b)
	}
	b, _ = NewTime(tm.Truncate(1e9)).MarshalJSON()
	if string(b) != "1650878984" {
		t.Errorf("MarshalJSON of a whole second = %s", b)
	}
	for _, bad := range []string{`"2021-01-01"`, "1e300", "NaN", "true"} {
		if err := tm.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s) accepted", bad)
		}
	}
	for in, want := range map[string]int64{"2021-01-01T00:00:00Z": 1609459200000, "2021-01-01T00:00:00.5Z": 1609459200500, "2021-01-01T01:00:00+01:00": 1609459200000, "1609459200": 1609459200000} {
		got, err := ParseQueryTime(in)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("ParseQueryTime(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseQueryTime("yesterday"); err == nil {
		t.Error("ParseQueryTime accepted nonsense")
	}
}

func TestMatchesRemembersOnlyMatches(t *testing.T) {
	arn := "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u"
	for range 3 { // the second and third answers come from memory
		if !matches(ruleChimeArn, arn) {
			t.Fatalf("%s does not match ChimeArn", arn)
		}
	}
	for range 2 {
		if matches(ruleChimeArn, "arn:aws:chime::/x") || matches(ruleChimeArn, "not an arn") {
			t.Fatal("a value that does not match was accepted")
		}
	}
	if !matches(ruleContentType, "anything at all\n") {
		t.Error("[\\s\\S]* refused a string")
	}
	if !matches(ruleChimeArn, arn+strings.Repeat("x", matchedMaxLen)) == ruleChimeArn.pattern.MatchString(arn+strings.Repeat("x", matchedMaxLen)) {
		t.Error("long values are not matched by the pattern itself")
	}
}

func TestTimeJSONFractions(t *testing.T) {
	for ms, want := range map[int64]string{
		0: "0", 1500: "1.5", 1050: "1.05", 1005: "1.005", 1100: "1.1", 1123: "1.123", 999: "0.999",
		-1500: "-1.5", -1: "0.001", 1764640000010: "1764640000.01",
	} {
		b, _ := Time{time.UnixMilli(ms)}.MarshalJSON()
		if string(b) != want {
			t.Errorf("MarshalJSON(%d ms) = %s, want %s", ms, b, want)
		}
	}
}

func TestFastMatchersAgreeWithRegexp(t *testing.T) {
	rules := map[string]stringRule{"ChimeArn": ruleChimeArn, "Metadata": ruleMetadata, "ClientRequestToken": ruleClientRequestToken}
	for name, r := range rules {
		if r.fast == nil {
			t.Fatalf("%s has no fast matcher", name)
		}
	}
	cases := []string{
		"", "arn", "arn:", "arn:aws:chime:us-east-1:111122223333:app-instance/a1/user/alice", userArn, channelArn,
		"arn::chime:r:1:x", "arn:aws::::x", "arn:aws::::/x", "arn:aws::::\nx", "arn:aws::::x\n", "arn:aws::::", "arn:aws:::x",
		"arn:AWS:chime:r:1:x", "arn:aws:chime:r:1:x/y/z", "arn:" + strings.Repeat("a", 63) + "::::x", "arn:" + strings.Repeat("a", 64) + "::::x",
		"arn:a:" + strings.Repeat("b", 64) + ":::x", "arn:a::::x" + strings.Repeat("é", 1023), "arn:a::::x" + strings.Repeat("é", 1024),
		"arn:a::::x" + strings.Repeat("\xff", 1023), "arn:a::::x" + strings.Repeat("\xff", 1024), "arn:a::::\xff", "arn:a::::\n",
		"arn:a.b-c::::x", "arn:a_b::::x", "arn:a::::é", "-_aZ09", "a b", "tok\xff", "line\nbreak", "\n",
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"arn:", "a", "z", "0", "-", ".", ":", "/", "\n", "é", "\xff", "A", "_", " "}
	for range 20000 {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteString("arn:")
		}
		for range r.IntN(16) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for name, rule := range rules {
		for _, s := range cases {
			if got, want := rule.fast(s), rule.pattern.MatchString(s); got != want {
				t.Errorf("%s on %q: fast %v, regexp %v", name, s, got, want)
			}
		}
	}
}
