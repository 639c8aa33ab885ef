package sqlstore

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Each engine has its own migrations (its SQL), read the same way.

// Migration is one schema step, read from a file named NNNN_description.sql.
type Migration struct {
	Version int
	Name    string // file name, recorded for operators
	SQL     string
}

// LoadMigrations reads the *.sql files in dir of fsys, sorted by version.
// Versions must start at 1 and have no gaps or duplicates, so that a
// database's highest applied version says exactly which steps it has had.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	// ReadDir sorts by name, which orders zero-padded versions numerically;
	// checking for the exact sequence 1..n also catches bad padding.
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions must run 1, 2, 3, ... without gaps or duplicates)", m.Name, i+1)
		}
	}
	return ms, nil
}
