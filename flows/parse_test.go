package flows

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParseWebhooks(t *testing.T) {
	const (
		a = "arn:aws:lambda:us-east-1:111122223333:function:moderate"
		b = "arn:aws:lambda:eu-central-1:444455556666:function:translate.v2:$LATEST"
		c = "arn:aws:lambda:us-east-1:111122223333:function:moderate:prod"
	)
	tests := []struct {
		in   string
		want map[string]string
	}{
		{in: "", want: map[string]string{}},
		{in: " , ,", want: map[string]string{}},
		{in: a + "=https://hooks.example/flow", want: map[string]string{a: "https://hooks.example/flow"}},
		{in: " " + a + " = http://127.0.0.1:8080/f ,\n" + b + "=https://h.example/x?sig=a=b&k=v,",
			want: map[string]string{a: "http://127.0.0.1:8080/f", b: "https://h.example/x?sig=a=b&k=v"}},
		// A qualified ARN is a different processor from the unqualified one.
		{in: a + "=https://h.example/1," + c + "=https://h.example/2",
			want: map[string]string{a: "https://h.example/1", c: "https://h.example/2"}},
		{in: a + "=HTTPS://user:pw@[::1]:8443/p%2Cq", want: map[string]string{a: "HTTPS://user:pw@[::1]:8443/p%2Cq"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseWebhooks(tt.in)
			if err != nil {
				t.Fatalf("ParseWebhooks: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseWebhooks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseWebhooksErrors(t *testing.T) {
	const a = "arn:aws:lambda:us-east-1:111122223333:function:moderate"
	tests := []struct {
		name, in string
	}{
		{name: "no equals", in: a},
		{name: "no URL", in: a + "="},
		{name: "no ARN", in: "=https://hooks.example/"},
		{name: "not lambda", in: "arn:aws:sqs:us-east-1:111122223333:queue=https://h.example/"},
		{name: "other partition", in: "arn:aws-cn:lambda:cn-north-1:111122223333:function:f=https://h.example/"},
		{name: "GovCloud region (not in the model pattern)", in: "arn:aws:lambda:us-gov-west-1:111122223333:function:f=https://h.example/"},
		{name: "short account", in: "arn:aws:lambda:us-east-1:1111:function:f=https://h.example/"},
		{name: "layer not function", in: "arn:aws:lambda:us-east-1:111122223333:layer:f=https://h.example/"},
		{name: "bad qualifier", in: a + ":v.1=https://h.example/"},
		{name: "empty function name", in: "arn:aws:lambda:us-east-1:111122223333:function:=https://h.example/"},
		{name: "bare function name", in: "moderate=https://h.example/"},
		{name: "ftp URL", in: a + "=ftp://h.example/"},
		{name: "relative URL", in: a + "=/flow"},
		{name: "no host", in: a + "=https:///flow"},
		{name: "opaque URL", in: a + "=https:h.example"},
		{name: "fragment", in: a + "=https://h.example/#frag"},
		{name: "space in host", in: a + "=https://h example/"},
		{name: "comma splits the URL", in: a + "=https://h.example/a,b"},
		{name: "duplicate ARN", in: a + "=https://h.example/1," + a + "=https://h.example/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhooks(tt.in)
			if err == nil {
				t.Fatalf("ParseWebhooks(%q) = %v, want an error", tt.in, got)
			}
		})
	}
}

func TestParseWebhooksErrorsHidePasswords(t *testing.T) {
	for _, in := range []string{
		"https://user:hunter2@h.example/=arn:aws:lambda:us-east-1:111122223333:function:f", // swapped pair
		"arn:aws:lambda:us-east-1:111122223333:function:f=ftp://user:hunter2@h.example/",
		"arn:aws:lambda:us-east-1:111122223333:function:f=https://user:hunter2@h.example/#x",
	} {
		_, err := ParseWebhooks(in)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseWebhooks(%q) error %v: want an error without the password", in, err)
		}
	}
}

// FuzzParseWebhooks checks that the parser never panics, accepts only what
// it promises, and that the flag form it reads round-trips.
func FuzzParseWebhooks(f *testing.F) {
	for _, seed := range []string{
		"",
		"arn:aws:lambda:us-east-1:111122223333:function:moderate=https://hooks.example/flow",
		"arn:aws:lambda:us-east-1:111122223333:function:m:$LATEST=http://[::1]:80/x?a=b, arn:aws:lambda:eu-central-1:111122223333:function:n=https://h/",
		"arn:aws:lambda:us-east-1:111122223333:function:m=https://h/,arn:aws:lambda:us-east-1:111122223333:function:m=https://h/",
		"=,=,==",
		"arn:aws:lambda:us-east-1:111122223333:function:m=https://u:p@h/%2C#f",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseWebhooks(in)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with a non-nil map", err)
			}
			return
		}
		var entries []string
		for arn, raw := range got {
			if validateFunctionArn(arn) != nil {
				t.Fatalf("accepted invalid ARN %q", arn)
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("accepted invalid URL %q", raw)
			}
			if strings.TrimSpace(raw) != raw || strings.Contains(raw, ",") {
				t.Fatalf("URL %q keeps surrounding space or a comma", raw)
			}
			entries = append(entries, arn+"="+raw)
		}
		slices.Sort(entries)
		again, err := ParseWebhooks(strings.Join(entries, ","))
		if err != nil || !maps.Equal(again, got) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
	})
}
