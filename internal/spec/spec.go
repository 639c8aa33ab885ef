// Package spec finds the AWS service models of Chime SDK Identity and
// Messaging (botocore service-2 JSON) that the API layer is generated from
// and that tests consult. The models are read where they are, never copied
// into the repository. Places, in order:
//
//  1. $BELFRY_SPEC_DIR, holding chime-sdk-<service>.service-2.json;
//  2. ../shared/spec beside the repository (the same layout);
//  3. the data directory of an installed botocore (the boto3 tests need it
//     anyway): botocore/data/chime-sdk-<service>/<api-version>/service-2.json
//     or service-2.json.gz.
package spec

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Services are the two models Belfry implements, as botocore names them.
var Services = []string{"chime-sdk-messaging", "chime-sdk-identity"}

// Source is a place holding both models.
type Source struct {
	// Dir is the directory: a flat spec dir, or botocore's data dir.
	Dir string
	// Botocore says Dir uses botocore's data layout.
	Botocore bool
}

func (s Source) String() string {
	if s.Botocore {
		return "botocore data at " + s.Dir
	}
	return s.Dir
}

// ErrNotFound says no place holds the models.
var ErrNotFound = errors.New("the Chime SDK service models were not found")

// Locate finds the models. repoRoot is the directory holding go.mod;
// getenv reads the environment (os.Getenv outside tests).
func Locate(repoRoot string, getenv func(string) string) (Source, error) {
	var tried []string
	if d := getenv("BELFRY_SPEC_DIR"); d != "" {
		s := Source{Dir: d}
		if s.complete() {
			return s, nil
		}
		// An explicit setting that is wrong is a mistake, not a reason to
		// look elsewhere.
		return Source{}, fmt.Errorf("%w in $BELFRY_SPEC_DIR=%s (want %s.service-2.json and %s.service-2.json)", ErrNotFound, d, Services[0], Services[1])
	}
	shared := Source{Dir: filepath.Join(repoRoot, "..", "shared", "spec")}
	if shared.complete() {
		return shared, nil
	}
	tried = append(tried, shared.Dir)
	for _, d := range botocoreDataDirs(getenv) {
		s := Source{Dir: d, Botocore: true}
		if s.complete() {
			return s, nil
		}
		tried = append(tried, d)
	}
	tried = append(tried, "an installed botocore (python3 -c 'import botocore')")
	return Source{}, fmt.Errorf("%w: set $BELFRY_SPEC_DIR, or put shared/spec beside the repository, or install boto3 (tried %s)", ErrNotFound, strings.Join(tried, ", "))
}

// LocateFrom is Locate with the repository root found by walking up from
// dir to the directory holding go.mod.
func LocateFrom(dir string) (Source, error) {
	root, err := RepoRoot(dir)
	if err != nil {
		return Source{}, err
	}
	return Locate(root, os.Getenv)
}

// RepoRoot is the nearest directory at or above dir holding go.mod.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
		d = parent
	}
}

func (s Source) complete() bool {
	for _, svc := range Services {
		if s.path(svc) == "" {
			return false
		}
	}
	return true
}

// path is the model file of service, or "" when s has none.
func (s Source) path(service string) string {
	if !s.Botocore {
		p := filepath.Join(s.Dir, service+".service-2.json")
		if fileExists(p) {
			return p
		}
		return ""
	}
	// botocore keeps one directory per API version, named by date; the
	// newest is the model boto3 uses.
	versions, _ := filepath.Glob(filepath.Join(s.Dir, service, "*"))
	sort.Sort(sort.Reverse(sort.StringSlice(versions)))
	for _, v := range versions {
		for _, name := range []string{"service-2.json", "service-2.json.gz"} {
			if p := filepath.Join(v, name); fileExists(p) {
				return p
			}
		}
	}
	return ""
}

// Path is the file the model of service is read from.
func (s Source) Path(service string) (string, error) {
	p := s.path(service)
	if p == "" {
		return "", fmt.Errorf("%w: no %s model in %s", ErrNotFound, service, s)
	}
	return p, nil
}

// Read returns the model of service ("chime-sdk-messaging" or
// "chime-sdk-identity") as JSON, uncompressed.
func (s Source) Read(service string) ([]byte, error) {
	p, err := s.Path(service)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil || !strings.HasSuffix(p, ".gz") {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// botocoreDataDirs asks the Python that the boto3 tests use
// ($BELFRY_PYTHON, else python3) where botocore is installed.
func botocoreDataDirs(getenv func(string) string) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, py := range []string{getenv("BELFRY_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" || seen[py] {
			continue
		}
		seen[py] = true
		out, err := exec.Command(py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			continue
		}
		if d := filepath.Join(strings.TrimSpace(string(out)), "data"); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}
