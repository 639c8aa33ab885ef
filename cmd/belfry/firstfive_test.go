package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFirstStartBanner checks the first start prints lines a shell accepts
// as they are, and a later start prints where things are but not the secret.
func TestFirstStartBanner(t *testing.T) {
	dir := t.TempDir()
	root, err := rootCredential(dir, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, dir, root)
	out := ts.stdout.String()
	ca, _ := filepath.Abs(filepath.Join(dir, "tls", "ca.pem"))
	for _, want := range []string{
		"  export AWS_ACCESS_KEY_ID=" + root.AccessKeyID + "\n",
		"  export AWS_SECRET_ACCESS_KEY=" + root.SecretAccessKey + "\n",
		"  export AWS_REGION=us-east-1\n",
		"  export AWS_DEFAULT_REGION=us-east-1\n",
		"  export AWS_ENDPOINT_URL=" + ts.httpURL + "\n",
		"Web console: " + ts.tlsURL + "/console/",
		"export NODE_EXTRA_CA_CERTS=" + ca + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first-start banner lacks %q:\n%s", want, out)
		}
	}
	// Every export line is NAME=value with nothing a shell would choke on.
	exportRE := regexp.MustCompile(`^  export [A-Z_]+=[A-Za-z0-9+/=:._-]+$`)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  export ") && !exportRE.MatchString(line) {
			t.Errorf("not a copy-pasteable export line: %q", line)
		}
	}
	// And a shell agrees: paste the export lines, read the variables back.
	var exports []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  export AWS_") {
			exports = append(exports, strings.TrimSpace(line))
		}
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		script := strings.Join(exports, "\n") + "\nprintf '%s|%s|%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_REGION\" \"$AWS_DEFAULT_REGION\" \"$AWS_ENDPOINT_URL\""
		got, err := exec.Command(sh, "-c", script).Output()
		want := strings.Join([]string{root.AccessKeyID, root.SecretAccessKey, "us-east-1", "us-east-1", ts.httpURL}, "|")
		if err != nil || string(got) != want {
			t.Errorf("pasting the export lines into sh gives %q (%v), want %q", got, err, want)
		}
	}
	ts.stop()

	root.generated = false // as rootCredential reads it back on the next start
	again := startServer(t, dir, root)
	out = again.stdout.String()
	if strings.Contains(out, root.SecretAccessKey) || strings.Contains(again.stderr.String(), root.SecretAccessKey) {
		t.Errorf("a later start printed the secret:\n%s", out)
	}
	for _, want := range []string{"export AWS_ENDPOINT_URL=" + again.httpURL, "Web console: " + again.tlsURL + "/console/", root.AccessKeyID} {
		if !strings.Contains(out, want) {
			t.Errorf("later-start banner lacks %q:\n%s", want, out)
		}
	}
}

// TestConsoleIsServed checks the console on both listeners and / sending a
// browser to it, while the API keeps every other path.
func TestConsoleIsServed(t *testing.T) {
	ts := startServer(t, t.TempDir(), rootKey{AccessKeyID: "AKIDROOT", SecretAccessKey: "rootsecret"})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, base := range []string{ts.httpURL, ts.tlsURL} {
		res, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Request.URL.Path != "/console/" || !bytes.Contains(body, []byte("Belfry console")) {
			t.Errorf("%s/ → %d %s, want the console", base, res.StatusCode, res.Request.URL)
		}
		status, hdr, _ := send(t, c, signedRequest(t, "GET", base+"/app-instances", "", "AKIDROOT", "rootsecret", nil))
		if status != 200 {
			t.Errorf("%s/app-instances: %d %v", base, status, hdr)
		}
	}
}

// TestCredentialsDeleteIgnoresRootVariable: BELFRY_ACCESS_KEY_ID is the
// root key's variable, never the key `credentials delete` removes.
func TestCredentialsDeleteIgnoresRootVariable(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		return map[string]string{"BELFRY_DATA_DIR": dir, "BELFRY_ACCESS_KEY_ID": "BKRTROOT", "BELFRY_USER": "arn:aws:chime:us-east-1:000000000000:app-instance/a/user/u"}[k]
	}
	err := run(context.Background(), []string{"credentials", "delete"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--access-key-id is required") {
		t.Errorf("credentials delete with only BELFRY_ACCESS_KEY_ID set = %v, want --access-key-id is required", err)
	}
	err = run(context.Background(), []string{"credentials", "create"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--user is required") {
		t.Errorf("credentials create with BELFRY_USER set = %v, want --user is required", err)
	}
	var help bytes.Buffer
	run(context.Background(), []string{"credentials", "delete", "--help"}, env, io.Discard, &help)
	if strings.Contains(help.String(), "BELFRY_ACCESS_KEY_ID") || !strings.Contains(help.String(), "BELFRY_DATA_DIR") {
		t.Errorf("credentials delete --help names the wrong variables:\n%s", help.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^belfry \S+ \(.*go1\.\d+.*\)\n$`).MatchString(out.String()) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

// TestDemo seeds the demo data once; a second start finds it.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	root := rootKey{AccessKeyID: "AKIDROOT", SecretAccessKey: "rootsecret"}
	for i, want := range []string{`users alice and bob, channel "general" with 3 messages`, `app instance "demo" is already there`} {
		ts := startServerWith(t, dir, root, func(c *config) { c.Demo = true })
		if out := ts.stdout.String(); !strings.Contains(out, want) || !strings.Contains(out, "list-app-instances") {
			t.Fatalf("start %d: output lacks %q:\n%s\n%s", i+1, want, out, ts.stderr)
		}
		c := &http.Client{}
		status, _, body := send(t, c, signedRequest(t, "GET", ts.httpURL+"/app-instances", "", "AKIDROOT", "rootsecret", nil))
		apps, _ := body["AppInstances"].([]any)
		if status != 200 || len(apps) != 1 {
			b, _ := json.Marshal(body)
			t.Fatalf("start %d: %d app instances, want 1: %s", i+1, len(apps), b)
		}
		ts.stop()
	}
	if _, err := os.Stat(filepath.Join(dir, "belfry.db")); err != nil {
		t.Fatal(err)
	}
}
