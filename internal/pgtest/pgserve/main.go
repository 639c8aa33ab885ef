// Command pgserve runs a throwaway PostgreSQL cluster for the end-to-end
// tests, as internal/pgtest does for the Go tests: Debian's server
// binaries, a temporary directory, the unprivileged user nobody when run as
// root, no fsync. It listens on 127.0.0.1 at a free port, prints the
// connection URL of its postgres database's server (append /DBNAME) as
// one line on stdout once it accepts connections, and stops, removing its
// directory, when stdin closes or on SIGINT/SIGTERM.
//
// Exit status 3 means PostgreSQL is not installed (the caller may skip).
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/belfryhq/belfry/internal/pgtest"
)

func main() {
	if !pgtest.Available() {
		fmt.Fprintln(os.Stderr, "pgserve: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); install Debian's postgresql package")
		os.Exit(3)
	}
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		os.Exit(1)
	}
	s, err := pgtest.Launch(port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		os.Exit(1)
	}
	fmt.Println(strings.TrimSuffix(s.URL(""), "/")) // the server's URL: append /DBNAME
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	s.Stop()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
