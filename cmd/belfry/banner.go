package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"github.com/belfryhq/belfry/console"
)

// endpoints are the URLs a start-up banner points people at.
type endpoints struct {
	API     string // AWS_ENDPOINT_URL: the plain listener, else the TLS one
	TLS     string // https://… or ""
	Console string // the console on the TLS listener (its websocket is wss anyway), else the plain one
	CAFile  string // the generated CA, absolute; "" with --tls-cert or TLS off
}

func newEndpoints(httpAddr, tlsAddr, caFile string) endpoints {
	var e endpoints
	if httpAddr != "" {
		e.API = "http://" + dialHost(httpAddr)
	}
	if tlsAddr != "" {
		e.TLS = "https://" + dialHost(tlsAddr)
		if e.API == "" {
			e.API = e.TLS
		}
		e.Console = e.TLS + console.Prefix
	} else {
		e.Console = e.API + console.Prefix
	}
	if caFile != "" {
		if abs, err := filepath.Abs(caFile); err == nil {
			caFile = abs
		}
		e.CAFile = caFile
	}
	return e
}

// dialHost is a listen address as a client dials it: an unspecified host
// (0.0.0.0, ::, "") becomes loopback.
func dialHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// printFirstStart is the banner of the start that generated the root
// credential: every line after "export" can be pasted into a shell as is.
func printFirstStart(w io.Writer, root rootKey, region string, e endpoints) {
	fmt.Fprintf(w, `
Belfry generated a root credential. The secret is shown only this once; it is kept in
%s.
Point the AWS CLI and SDKs at this server by pasting these lines into your shell:

  export AWS_ACCESS_KEY_ID=%s
  export AWS_SECRET_ACCESS_KEY=%s
  export AWS_REGION=%s
  export AWS_DEFAULT_REGION=%s
  export AWS_ENDPOINT_URL=%s

`, root.file, root.AccessKeyID, root.SecretAccessKey, region, region, e.API)
	printWhere(w, e)
}

// printStart is the banner of every later start: where things are, never the secret.
func printStart(w io.Writer, root rootKey, region string, e endpoints) {
	fmt.Fprintf(w, "\nBelfry is ready (region %s, root access key ID %s", region, root.AccessKeyID)
	if root.file != "" {
		fmt.Fprintf(w, "; its secret is in %s", root.file)
	}
	fmt.Fprintf(w, ").\n  export AWS_ENDPOINT_URL=%s\n", e.API)
	printWhere(w, e)
}

func printWhere(w io.Writer, e endpoints) {
	var b strings.Builder
	fmt.Fprintf(&b, "Web console: %s (sign in with the key pair)\n", e.Console)
	if e.TLS != "" {
		fmt.Fprintf(&b, "TLS listener: %s (amazon-chime-sdk-js's messaging session is wss:// there)\n", e.TLS)
	}
	if e.CAFile != "" {
		fmt.Fprintf(&b, `Trust the local CA to use https:// and wss:// without warnings:
  Node:    export NODE_EXTRA_CA_CERTS=%s
  Python:  export AWS_CA_BUNDLE=%s
  Browser: import %s as a trusted authority
           (Debian/Ubuntu system-wide: sudo cp %s /usr/local/share/ca-certificates/belfry.crt && sudo update-ca-certificates)
`, e.CAFile, e.CAFile, e.CAFile, e.CAFile)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}
