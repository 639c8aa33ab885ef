package service

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

// The service tests run once per store engine, as net/http's run the same
// bodies over HTTP/1 and HTTP/2: TestMain runs the whole package with each
// engine in turn, and every test opens its store through openStore, which
// takes the engine of the run.

// engine is a store engine the tests can run on.
type engine struct {
	name string
	// open returns a new, empty store, closed when t ends.
	open func(t testing.TB) store.Store
}

var engines = []engine{
	{"sqlite", func(t testing.TB) store.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
		if err != nil {
			t.Fatalf("open sqlite store: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"postgres", func(t testing.TB) store.Store { return pgtest.Store(t) }},
}

// current is the engine of this run of the package's tests.
var current = engines[0]

// openStore opens a new, empty store of engine e, closed when t ends.
func openStore(t testing.TB, e engine) store.Store {
	t.Helper()
	return e.open(t)
}

func TestMain(m *testing.M) {
	code := 0
	for _, e := range engines {
		if e.name == "postgres" && !pgtest.Available() && !pgtest.InCI() {
			fmt.Println("service: skipping the postgres run: PostgreSQL is not installed (Debian package postgresql)")
			continue
		}
		current = e
		fmt.Printf("service: running the tests on the %s store\n", e.name)
		if c := m.Run(); c != 0 {
			fmt.Printf("service: tests failed on the %s store\n", e.name)
			code = c
		}
	}
	pgtest.Stop()
	os.Exit(code)
}
