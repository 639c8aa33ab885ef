// Command belfry is a self-hosted server that speaks the Amazon Chime SDK
// Identity and Messaging APIs, so unmodified AWS SDKs and amazon-chime-sdk-js
// can be pointed at it.
//
//	belfry serve                         run the server
//	belfry credentials create --user ARN create a key scoped to one AppInstanceUser
//	belfry serve --demo                  run it with demo data to look at
//	belfry version                       print the version and VCS revision
//
// Run `belfry --help` or `belfry COMMAND --help` for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "belfry:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError is a mistake on the command line.
type usageError struct{ error }

const usage = `Usage: belfry COMMAND [flags]

Belfry speaks the Amazon Chime SDK Identity and Messaging APIs.

Commands:
  serve         run the server (REST APIs, messaging-session websocket, /healthz, /metrics)
  credentials   manage access keys scoped to one AppInstanceUser (create, list, delete)
  version       print the version and VCS revision (also --version)

Every flag can also be set from the environment: --data-dir is BELFRY_DATA_DIR,
--tls-listen is BELFRY_TLS_LISTEN, and so on. Flags win over the environment.
Run "belfry COMMAND --help" for a command's flags.
`

// run is the whole program, with its environment passed in so tests can run
// it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("a command is required")}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "credentials":
		return runCredentials(ctx, args[1:], getenv, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		fmt.Fprint(stdout, "\nbelfry serve flags:\n")
		var cfg config
		fs := serveFlags(&cfg)
		fs.SetOutput(stdout)
		fs.VisitAll(func(f *flag.Flag) { f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name)) })
		fs.PrintDefaults()
		fmt.Fprint(stdout, "\nRoot credential: BELFRY_ACCESS_KEY_ID and BELFRY_SECRET_ACCESS_KEY; generated into <data-dir>/root-credential.json when unset.\n\n")
		fmt.Fprint(stdout, credentialsUsage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

// version is set at build time with -ldflags "-X main.version=…"; else the
// build info says it (see versionString).
var version = "dev"

// versionString is "belfry VERSION (REVISION[, modified], GOVERSION)": the
// -ldflags version, else the module version `go install` records, plus the
// VCS revision `go build` in a checkout records.
func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "belfry " + v
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var rev, at, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	details := info.GoVersion
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		details = "revision " + rev
		if at != "" {
			details += " " + at
		}
		details += modified + ", " + info.GoVersion
	}
	return fmt.Sprintf("belfry %s (%s)", v, details)
}
