package chime

import "testing"

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
