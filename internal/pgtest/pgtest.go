// Package pgtest gives tests a real PostgreSQL: a throwaway cluster, started
// on first use from the server binaries of Debian's postgresql package
// (/usr/lib/postgresql/*/bin) in a temporary directory, listening on a unix
// socket only, shared by the tests of one test binary, with a fresh
// database per test.
//
// A test binary that uses it runs its tests through Main, which stops the
// cluster and removes its directory when they end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Where PostgreSQL is not installed, tests asking for it skip with a clear
// message; in CI (InCI) they fail instead, so that CI never passes by
// skipping.
//
// PostgreSQL refuses to run as root, and CI runs tests as root: then the
// server runs as the unprivileged user nobody, which owns the directory.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	once     sync.Once
	cluster  *server
	startErr error
	dbSeq    atomic.Int64
)

// server is a running cluster.
type server struct {
	dir    string // removed on stop
	socket string // the unix socket's directory
	port   int    // the loopback TCP port, 0 for the unix socket only
	cmd    *exec.Cmd
	done   chan struct{}
}

// Main runs the tests of m and then stops the cluster, if one started, and
// exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster, if one started. Main calls it.
func Stop() {
	if cluster == nil {
		return
	}
	cluster.stop()
	cluster = nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.dir)
}

// Server is a throwaway cluster of its own that also listens on a
// loopback TCP port, for processes other than the test binary (the
// end-to-end tests' `belfry serve` nodes): see cmd pgserve.
type Server struct{ s *server }

// Launch starts a Server on TCP port (127.0.0.1), in a new temporary
// directory, as Main's cluster is started.
func Launch(port int) (*Server, error) {
	s, err := start(port)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// URL is the TCP connection URL of database db, as user postgres (trust
// authentication: any local process may connect).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s", s.s.port, db)
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() { s.s.stop() }

// InCI reports whether the tests run in CI: $CI set to anything but "",
// "0" or "false" (CI systems set CI=true), as the end-to-end tests read it.
func InCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false":
		return false
	}
	return true
}

// Available reports whether the PostgreSQL server binaries are installed.
func Available() bool {
	_, err := binDir()
	return err == nil
}

// URL returns the connection URL of a new, empty database in the shared
// cluster, starting the cluster on first use. Without PostgreSQL it skips
// t, or fails it when CI=true.
func URL(t testing.TB) string {
	t.Helper()
	ready(t)
	u, err := createDatabase("")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// ready starts the cluster if needed, or skips or fails t without one.
func ready(t testing.TB) {
	t.Helper()
	if _, err := binDir(); err != nil {
		if InCI() {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("skipping: PostgreSQL is not installed (%v); install Debian's postgresql package to run this test", err)
	}
	once.Do(func() { cluster, startErr = start(0) })
	if startErr != nil {
		t.Fatalf("start PostgreSQL: %v", startErr)
	}
}

// templates are the databases URLFrom copies, by name.
var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

type template struct {
	once sync.Once
	name string
	err  error
}

// URLFrom is URL for a database that starts as a copy of template name,
// which prepare fills once, on first use, given its URL: a schema migrated
// once is copied (CREATE DATABASE … TEMPLATE) much faster than migrated
// again. prepare must close its connections before it returns.
func URLFrom(t testing.TB, name string, prepare func(ctx context.Context, url string) error) string {
	t.Helper()
	ready(t)
	templatesMu.Lock()
	tp := templates[name]
	if tp == nil {
		tp = &template{}
		templates[name] = tp
	}
	templatesMu.Unlock()
	tp.once.Do(func() {
		u, err := createDatabase("")
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err = prepare(ctx, u)
			cancel()
			tp.name = dbName(u)
		}
		tp.err = err
	})
	if tp.err != nil {
		t.Fatalf("pgtest: template %s: %v", name, tp.err)
	}
	u, err := createDatabase(tp.name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// createDatabase creates a new database, a copy of template if not "",
// and returns its URL.
func createDatabase(template string) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cluster.url("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	q := "CREATE DATABASE " + name
	if template != "" {
		q = "CREATE DATABASE " + name + " TEMPLATE " + template
	}
	// Copying a template fails while another copy of it is being made;
	// take turns.
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, q)
		if err == nil || template == "" || attempt == 50 || !strings.Contains(err.Error(), "is being accessed by other users") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return cluster.url(name), nil
}

func dbName(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(parsed.Path, "/")
}

func (s *server) url(db string) string {
	q := url.Values{"host": {s.socket}}
	if s.port != 0 { // the socket's name has the port
		q.Set("port", strconv.Itoa(s.port))
	}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// binDir finds the newest installed server's bin directory.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no /usr/lib/postgresql/*/bin/initdb")
}

func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// start starts a cluster listening on its unix socket and, unless port is
// 0, on 127.0.0.1:port.
func start(port int) (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	base := os.TempDir()
	if fi, err := os.Stat(base); cred != nil && (err != nil || fi.Mode().Perm()&0o001 == 0) {
		base = "/tmp" // the server's user must reach its directory
	}
	dir, err := os.MkdirTemp(base, "belfry-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// Durability is not what these tests check: skip the fsyncs.
	listen := []string{"-c", "listen_addresses="}
	if port != 0 {
		listen = []string{"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port)}
	}
	pg := exec.Command(filepath.Join(bin, "postgres"), append(append([]string{"-D", data, "-k", dir}, listen...),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "max_pred_locks_per_transaction=256")...)
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM, Setpgid: true}
	pg.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	pg.Stdout, pg.Stderr = logf, logf
	if err := pg.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &server{dir: dir, socket: dir, port: port, cmd: pg, done: make(chan struct{})}
	go func() { _ = pg.Wait(); _ = logf.Close(); close(s.done) }()
	// Ready once it accepts a connection.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("postgres did not accept connections: %v", err)
		}
	}
}

// runAs returns the credential of the user the server runs as: nil (this
// process's) unless this process is root, which PostgreSQL refuses.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user nobody to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
}
