package chime

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseARN(t *testing.T) {
	tests := []struct {
		in      string
		want    ARN
		wantErr bool
	}{
		{in: "arn:aws:chime:us-east-1:111122223333:app-instance/abc", want: ARN{"aws", "us-east-1", "111122223333", "abc", ResourceAppInstance, ""}},
		{in: "arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/alice", want: ARN{"aws", "us-east-1", "111122223333", "abc", ResourceAppInstanceUser, "alice"}},
		{in: "arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/a:b@c.d", want: ARN{"aws", "us-east-1", "111122223333", "abc", ResourceAppInstanceUser, "a:b@c.d"}},
		{in: "arn:aws:chime:eu-central-1:111122223333:app-instance/abc/channel/ch1", want: ARN{"aws", "eu-central-1", "111122223333", "abc", ResourceChannel, "ch1"}},
		{in: "arn:aws:chime:us-east-1:1:app-instance/abc/bot/b", want: ARN{"aws", "us-east-1", "1", "abc", ResourceAppInstanceBot, "b"}},
		{in: "arn:aws:chime:us-east-1:1:app-instance/abc/channel-flow/f", want: ARN{"aws", "us-east-1", "1", "abc", ResourceChannelFlow, "f"}},
		{in: "arn:aws:s3:us-east-1:1:app-instance/abc", wantErr: true},
		{in: "arn:aws:chime:us-east-1:1:meeting/abc", wantErr: true},
		{in: "arn:aws:chime:us-east-1:1:app-instance/", wantErr: true},
		{in: "arn:aws:chime:us-east-1:1:app-instance/abc/user/", wantErr: true},
		{in: "arn:aws:chime:us-east-1:1:app-instance/abc/widget/x", wantErr: true},
		{in: "arn:aws:chime:us-east-1:1:app-instance/abc/user/x/extra", wantErr: true},
		{in: "not-an-arn", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseARN(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseARN(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil {
			if got != tt.want {
				t.Errorf("ParseARN(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("ParseARN(%q).String() = %q, want the input back", tt.in, got.String())
			}
		}
	}
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/alice")
	f.Add("arn:aws:chime:::app-instance/a")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err == nil && a.String() != s {
			t.Fatalf("round trip: %q -> %q", s, a.String())
		}
	})
}

// parseARNBefore is ParseARN as it was written first, with strings.Split:
// the allocation-free version must agree with it on everything.
func parseARNBefore(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "chime" || parts[1] == "" {
		return ARN{}, fmt.Errorf("%q is not a Chime ARN (arn:aws:chime:region:account:app-instance/…)", s)
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4]}
	res := strings.Split(parts[5], "/")
	if res[0] != string(ResourceAppInstance) || len(res) < 2 || res[1] == "" {
		return ARN{}, fmt.Errorf("%q does not name an app-instance resource", s)
	}
	a.AppInstanceID = res[1]
	switch len(res) {
	case 2:
		a.Type = ResourceAppInstance
	case 4:
		switch t := ResourceType(res[2]); t {
		case ResourceAppInstanceUser, ResourceAppInstanceBot, ResourceChannel, ResourceChannelFlow:
			if res[3] == "" {
				return ARN{}, fmt.Errorf("%q has an empty %s id", s, t)
			}
			a.Type, a.ID = t, res[3]
		default:
			return ARN{}, fmt.Errorf("%q names an unknown resource type %q", s, res[2])
		}
	default:
		return ARN{}, fmt.Errorf("%q is not a Chime resource ARN", s)
	}
	return a, nil
}

func TestParseARNAgreesWithSplitVersion(t *testing.T) {
	pieces := []string{"arn", ":", "aws", "chime", "app-instance", "/", "user", "channel", "bot", "channel-flow", "widget", "x", "", "a:b"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 50000 {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteString("arn:aws:chime:r:1:app-instance/")
		}
		for range r.IntN(10) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		got, gotErr := ParseARN(s)
		want, wantErr := parseARNBefore(s)
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("ParseARN(%q) = %+v, %v; before: %+v, %v", s, got, gotErr, want, wantErr)
		}
		if gotErr == nil {
			if old := fmt.Sprintf("arn:%s:chime:%s:%s:app-instance/%s", got.Partition, got.Region, got.Account, got.AppInstanceID); got.Type == ResourceAppInstance && got.String() != old {
				t.Fatalf("String() = %q, want %q", got.String(), old)
			}
		}
	}
}
