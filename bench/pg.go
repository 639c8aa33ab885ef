package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// The PostgreSQL mode runs the measurements again with belfry on
// `--store postgres://…`: against the server given with -postgres, or
// else a throwaway cluster that internal/pgtest starts from Debian's
// postgresql server binaries in a temporary directory (as the unprivileged
// user nobody when the harness runs as root). Each measurement gets a
// fresh database.

// pgMode is the PostgreSQL the suite runs against.
type pgMode struct {
	external string // -postgres: postgres://USER[:PASSWORD]@HOST:PORT, no database
	// Absent says why there is no PostgreSQL mode in this run ("" when
	// there is one).
	Absent string
	// Server describes it for the report.
	Server string
}

// pgTB is the little of testing.TB that internal/pgtest calls outside a
// test (Helper, Fatalf, Skipf): a failure or skip becomes an error.
type pgTB struct {
	testing.TB // nil: pgtest.URL calls only the methods below
	err        error
}

func (t *pgTB) Helper() {}
func (t *pgTB) Fatalf(format string, args ...any) {
	t.err = fmt.Errorf(format, args...)
	panic(t)
}
func (t *pgTB) Skipf(format string, args ...any) {
	t.err = fmt.Errorf(format, args...)
	panic(t)
}

// pgtestURL is pgtest.URL with errors instead of a test's failure.
func pgtestURL() (u string, err error) {
	tb := &pgTB{}
	defer func() {
		if r := recover(); r != nil {
			if r != tb {
				panic(r)
			}
			err = tb.err
		}
	}()
	return pgtest.URL(tb), nil
}

// setupPostgres decides the PostgreSQL mode: -postgres, or a throwaway
// cluster when the server binaries are installed, or none (with why).
func (s *suite) setupPostgres(ctx context.Context, external string, disabled bool) {
	s.pg = &pgMode{external: external}
	switch {
	case disabled:
		s.pg.external = ""
		s.pg.Absent = "not run (`-postgres off`)"
	case external != "":
		s.pg.Server = "the server given with `-postgres` (its own settings)"
	case !pgtest.Available():
		s.pg.Absent = "**not run: PostgreSQL's server binaries are not installed** (no /usr/lib/postgresql/*/bin/initdb; Debian: `apt-get install postgresql`)"
	default:
		s.logf("postgres: starting a throwaway cluster (internal/pgtest)")
		u, err := pgtestURL()
		if err != nil {
			s.pg.Absent = "**not run: the throwaway PostgreSQL cluster did not start**: " + oneLine(err.Error())
			return
		}
		s.pg.Server = pgServerVersion(ctx, u) + ", a throwaway cluster of internal/pgtest on a unix socket, same disk; " +
			"fsync off, each database `synchronous_commit = on`: a commit is written to the kernel before it is acknowledged, as the SQLite store's WAL with synchronous=NORMAL (both survive a crash of the process, neither fsyncs each commit)"
		if pid := postmasterPid(u); pid > 0 {
			pgPostmaster.Store(int64(pid))
		} else {
			s.logf("postgres: no postmaster pid in the data dir of %s: its CPU is not measured", u)
		}
	}
}

// database returns the URL of a new, empty database.
func (p *pgMode) database(ctx context.Context, prefix string) (string, error) {
	if p.external != "" {
		return freshDatabase(ctx, p.external, prefix)
	}
	u, err := pgtestURL()
	if err != nil {
		return "", err
	}
	// pgtest's cluster runs for tests: synchronous_commit off. A database
	// setting overrides the server's command line.
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{dbNameOf(u)}.Sanitize()+" SET synchronous_commit = on"); err != nil {
		return "", err
	}
	return u, nil
}

// stopPostgres stops the throwaway cluster, if one started; once, whether
// the run ends or is interrupted.
func stopPostgres() { stopPGOnce.Do(pgtest.Stop) }

var stopPGOnce sync.Once

// freshDatabase creates a new database on the PostgreSQL server at base
// (postgres://USER[:PASSWORD]@HOST:PORT, no database) and returns its URL.
func freshDatabase(ctx context.Context, base, prefix string) (string, error) {
	base = strings.TrimSuffix(base, "/")
	conn, err := pgx.Connect(ctx, base+"/postgres")
	if err != nil {
		return "", fmt.Errorf("-postgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("-postgres: create database: %w", err)
	}
	return base + "/" + name, nil
}

func dbNameOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(p.Path, "/")
}

func pgServerVersion(ctx context.Context, u string) string {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return "PostgreSQL"
	}
	defer conn.Close(ctx)
	var v string
	if conn.QueryRow(ctx, "SHOW server_version").Scan(&v) != nil {
		return "PostgreSQL"
	}
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	return "PostgreSQL " + v
}

// pgPostmaster is the pid of the throwaway cluster's postmaster, whose
// processes' CPU the measurements report as the database's (0: unknown,
// as for -postgres).
var pgPostmaster atomic.Int64

// postmasterPid reads the postmaster's pid from the data directory of the
// cluster whose socket directory the URL names (pgtest: <dir>/data).
func postmasterPid(u string) int {
	p, err := url.Parse(u)
	if err != nil {
		return 0
	}
	dir := p.Query().Get("host")
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// dbCPU is the CPU time of the postmaster and its children (backends,
// WAL writer, checkpointer) so far; false without a local cluster.
func dbCPU() (time.Duration, bool) {
	pm := int(pgPostmaster.Load())
	if pm == 0 {
		return 0, false
	}
	total, ok := cpuTime(pm)
	if !ok {
		return 0, false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return total, true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		if parentPid(pid) == pm {
			if t, ok := cpuTime(pid); ok {
				total += t
			}
		}
	}
	return total, true
}

func parentPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
