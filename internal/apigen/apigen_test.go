package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/belfryhq/belfry/internal/spec"
)

func specSource(t *testing.T) spec.Source {
	t.Helper()
	src, err := spec.LocateFrom(".")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have the service models (.ci/run installs boto3): %v", err)
		}
		t.Skipf("skipped, no service model to read: %v", err)
	}
	return src
}

// TestGeneratedFilesAreCurrent fails when the committed generated code is not
// what the generator writes from the models today: run `go generate ./...`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	src := specSource(t)
	a, err := loadAPI(src)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(a)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"chime": "../../chime", "httpapi": "../../httpapi"}
	for _, f := range files {
		path := filepath.Join(dirs[f.pkg], f.name)
		have, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, f.src) {
			if src.Botocore {
				// An installed botocore may carry an older or newer model
				// than the one the code was generated from.
				t.Skipf("the models of %s generate a different %s: they are not the models the code was generated from, so staleness cannot be judged; set BELFRY_SPEC_DIR to the exact models", src, path)
			}
			t.Errorf("%s is stale: run go generate ./...", path)
		}
	}
}

func TestMergedModel(t *testing.T) {
	a, err := loadAPI(specSource(t))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range a.ops {
		for _, s := range o.services {
			count[s]++
		}
	}
	if len(a.ops) != 78 || count["Identity"] != 30 || count["Messaging"] != 51 {
		t.Errorf("%d operations (identity %d, messaging %d); want 78 (30, 51)", len(a.ops), count["Identity"], count["Messaging"])
	}
	// The services disagree on ExpirationCriterion: Identity allows only
	// CREATED_TIMESTAMP, so it and what reaches it get their own names.
	if got := a.shapes["IdentityExpirationCriterion"]; got == nil || len(got.Enum) != 1 {
		t.Errorf("IdentityExpirationCriterion = %+v, want the identity enum of one value", got)
	}
	if got := a.shapes["ExpirationCriterion"]; got == nil || len(got.Enum) != 2 {
		t.Errorf("ExpirationCriterion = %+v, want messaging's two values", got)
	}
	if a.shapes["IdentityExpirationSettings"] == nil {
		t.Error("identity's ExpirationSettings reaches the differing enum and must be renamed too")
	}
	if a.shapes["IdentityTag"] != nil {
		t.Error("Tag is identical in both services and must be generated once")
	}
	for _, o := range a.ops {
		if o.Name == "RedactChannelMessage" && (o.path != "/channels/{channelArn}/messages/{messageId}" || o.queryKey != "operation" || o.queryVal != "redact") {
			t.Errorf("RedactChannelMessage route = %q ?%s=%s", o.path, o.queryKey, o.queryVal)
		}
	}
}

func TestGoPattern(t *testing.T) {
	tests := []struct {
		model       string
		match, miss []string
	}{
		{`[A-Za-z0-9]([A-Za-z0-9\:\-\_\.\@]{0,62}[A-Za-z0-9])?`, []string{"a", "alice", "a:b@c.d", "Ab9"}, []string{"", "-a", "a-", "a b", "é"}},
		{`[-_a-zA-Z0-9]*`, []string{"", "abc-_9"}, []string{"a b", "a/b"}},
		{`.*\S.*`, []string{"x", " x "}, []string{"", "   "}},
		{`[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]*`, []string{"hello", "tab\tnl\n", "emoji 😀", "ü"}, []string{"\x00", "\x07"}},
		{`arn:[a-z0-9-\.]{1,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[^/].{0,1023}`, []string{"arn:aws:chime:us-east-1:1:app-instance/x"}, []string{"xarn:aws:chime:::a", "arn:aws:chime:us-east-1:1:/x"}},
		{`^([A-Za-z]_?)+$`, []string{"Welcome_Intent", "Hi"}, []string{"_x", "a1"}},
	}
	for _, tt := range tests {
		re := regexp.MustCompile(goPattern(tt.model))
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%s should match %q", tt.model, s)
			}
		}
		for _, s := range tt.miss {
			if re.MatchString(s) {
				t.Errorf("%s should not match %q", tt.model, s)
			}
		}
	}
}
