package spec

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLocate(t *testing.T) {
	tmp := t.TempDir()
	flat := filepath.Join(tmp, "flat")
	for _, s := range Services {
		write(t, filepath.Join(flat, s+".service-2.json"), []byte(`{"flat":"`+s+`"}`))
	}
	repo := filepath.Join(tmp, "repo")
	shared := filepath.Join(tmp, "shared", "spec")
	boto := filepath.Join(tmp, "py", "botocore")
	write(t, filepath.Join(boto, "__init__.py"), nil)
	write(t, filepath.Join(boto, "data", "chime-sdk-messaging", "2020-01-01", "service-2.json"), []byte(`{"old":1}`))
	write(t, filepath.Join(boto, "data", "chime-sdk-messaging", "2021-05-15", "service-2.json.gz"), gz(t, []byte(`{"new":"messaging"}`)))
	write(t, filepath.Join(boto, "data", "chime-sdk-identity", "2021-04-20", "service-2.json"), []byte(`{"new":"identity"}`))
	// A fake python3 that reports the fake botocore.
	py := filepath.Join(tmp, "python")
	write(t, py, []byte("#!/bin/sh\necho "+boto+"\n"))
	os.Chmod(py, 0o755)
	nopy := filepath.Join(tmp, "nopython")
	write(t, nopy, []byte("#!/bin/sh\nexit 1\n"))
	os.Chmod(nopy, 0o755)
	t.Setenv("PATH", tmp) // no real python3 on PATH; /usr/bin/python3 may still answer

	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name      string
		getenv    func(string) string
		withShare bool
		wantMsg   string
		wantErr   bool
	}{
		{name: "BELFRY_SPEC_DIR wins", getenv: env("BELFRY_SPEC_DIR", flat, "BELFRY_PYTHON", py), withShare: true, wantMsg: `{"flat":"chime-sdk-messaging"}`},
		{name: "wrong BELFRY_SPEC_DIR is an error", getenv: env("BELFRY_SPEC_DIR", tmp, "BELFRY_PYTHON", py), withShare: true, wantErr: true},
		{name: "../shared/spec", getenv: env("BELFRY_PYTHON", py), withShare: true, wantMsg: `{"flat":"chime-sdk-messaging"}`},
		{name: "botocore, newest version, gzipped", getenv: env("BELFRY_PYTHON", py), wantMsg: `{"new":"messaging"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(tmp, "shared"))
			if tt.withShare {
				for _, s := range Services {
					write(t, filepath.Join(shared, s+".service-2.json"), []byte(`{"flat":"`+s+`"}`))
				}
			}
			src, err := Locate(repo, tt.getenv)
			if tt.wantErr {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Locate = %v, %v; want ErrNotFound", src, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := src.Read("chime-sdk-messaging")
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantMsg {
				t.Errorf("messaging model from %s = %s, want %s", src, b, tt.wantMsg)
			}
		})
	}
}

func TestLocateNothing(t *testing.T) {
	tmp := t.TempDir()
	nopy := filepath.Join(tmp, "nopython")
	write(t, nopy, []byte("#!/bin/sh\nexit 1\n"))
	os.Chmod(nopy, 0o755)
	t.Setenv("PATH", tmp)
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		t.Skip("/usr/bin/python3 exists and may have botocore")
	}
	_, err := Locate(filepath.Join(tmp, "repo"), func(k string) string {
		if k == "BELFRY_PYTHON" {
			return nopy
		}
		return ""
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Locate = %v, want ErrNotFound", err)
	}
}
