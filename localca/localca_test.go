package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustEnsure(t *testing.T, dir string, hosts []string, now func() time.Time) *Bundle {
	t.Helper()
	b, err := ensure(dir, hosts, now)
	if err != nil {
		t.Fatalf("ensure(%s, %q): %v", dir, hosts, err)
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestEnsureCreates(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "tls")
	now := time.Now()
	b := mustEnsure(t, dir, []string{"belfry.test", "10.1.2.3"}, clockAt(now))

	if !b.Created {
		t.Error("Created = false on first call, want true")
	}
	if want := filepath.Join(dir, "ca.pem"); b.CAFile != want {
		t.Errorf("CAFile = %s, want %s", b.CAFile, want)
	}
	if want := filepath.Join(dir, "cert.pem"); b.CertFile != want {
		t.Errorf("CertFile = %s, want %s", b.CertFile, want)
	}
	if want := filepath.Join(dir, "key.pem"); b.KeyFile != want {
		t.Errorf("KeyFile = %s, want %s", b.KeyFile, want)
	}

	for _, tc := range []struct {
		name string
		mode os.FileMode
	}{
		{".", os.ModeDir | 0o700},
		{"ca.pem", 0o644},
		{"ca-key.pem", 0o600},
		{"cert.pem", 0o644},
		{"key.pem", 0o600},
	} {
		fi, err := os.Stat(filepath.Join(dir, tc.name))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if fi.Mode() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.name, fi.Mode(), tc.mode)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("dir holds %d entries (temp files left behind?): %v", len(entries), entries)
	}

	certs, err := parseCertificates(readFile(t, b.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	ca := certs[0]
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("CA basic constraints: IsCA=%v valid=%v MaxPathLen=%d zero=%v", ca.IsCA, ca.BasicConstraintsValid, ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA KeyUsage = %v", ca.KeyUsage)
	}
	if !strings.HasPrefix(ca.Subject.CommonName, "Belfry Local CA ") || len(ca.Subject.CommonName) <= len("Belfry Local CA ") {
		t.Errorf("CA name = %q", ca.Subject.CommonName)
	}
	if got := ca.NotAfter.Sub(now); got < 9*365*24*time.Hour || got > 11*365*24*time.Hour {
		t.Errorf("CA valid for %v, want ~10 years", got)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}

	leaf := b.Certificate.Leaf
	if leaf == nil {
		t.Fatal("Certificate.Leaf is nil")
	}
	if len(b.Certificate.Certificate) != 2 || !bytes.Equal(b.Certificate.Certificate[0], leaf.Raw) || !bytes.Equal(b.Certificate.Certificate[1], ca.Raw) {
		t.Error("Certificate chain is not [leaf, CA]")
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("leaf usage: IsCA=%v KeyUsage=%v ExtKeyUsage=%v", leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got >= 398*24*time.Hour || got < 360*24*time.Hour {
		t.Errorf("leaf validity %v, want ~1 year and under 398 days", got)
	}
	if !slices.Equal(leaf.DNSNames, []string{"localhost", "belfry.test"}) {
		t.Errorf("leaf DNSNames = %q", leaf.DNSNames)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"127.0.0.1", "::1", "10.1.2.3"}) {
		t.Errorf("leaf IPs = %q", ips)
	}
	for _, c := range []*x509.Certificate{ca, leaf} {
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Errorf("%s serial %v not a positive 128-bit number", c.Subject.CommonName, c.SerialNumber)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: b.CAPool, DNSName: "localhost"}); err != nil {
		t.Errorf("leaf does not verify against CAPool: %v", err)
	}

	// A second install gets a distinct CA name, so both can sit in one
	// trust store.
	other := mustEnsure(t, t.TempDir(), nil, time.Now)
	if other.Certificate.Leaf.Issuer.CommonName == leaf.Issuer.CommonName {
		t.Errorf("two installs share CA name %q", leaf.Issuer.CommonName)
	}
}

func TestEnsureReuseAndReissue(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name string
		// firstIssued is when the initial files were created.
		firstIssued time.Time
		firstHosts  []string
		// mutate runs between the two calls; dir is the TLS directory.
		mutate      func(t *testing.T, dir string)
		secondHosts []string
		wantReissue bool
		wantDNS     []string // subset the final leaf must hold
	}{
		{name: "same inputs reuse", firstIssued: now, wantReissue: false},
		{name: "same extra hosts reuse", firstIssued: now, firstHosts: []string{"belfry.test"}, secondHosts: []string{"belfry.test"}},
		{name: "port and case ignored", firstIssued: now, firstHosts: []string{"belfry.test"}, secondHosts: []string{"Belfry.Test:8443", "[::1]:443", "127.0.0.1"}},
		{name: "dropped extra host reuse", firstIssued: now, firstHosts: []string{"belfry.test"}, secondHosts: nil},
		{name: "new extra host", firstIssued: now, secondHosts: []string{"ws.belfry.test"}, wantReissue: true, wantDNS: []string{"localhost", "ws.belfry.test"}},
		{name: "new extra IP", firstIssued: now, secondHosts: []string{"192.168.1.20"}, wantReissue: true},
		{name: "leaf expires within 30 days", firstIssued: now.Add(-340 * 24 * time.Hour), wantReissue: true},
		{name: "leaf expires in 40 days reuse", firstIssued: now.Add(-325 * 24 * time.Hour), wantReissue: false},
		{name: "leaf expired", firstIssued: now.Add(-400 * 24 * time.Hour), wantReissue: true},
		{
			name: "leaf not yet valid", firstIssued: now, wantReissue: true,
			mutate: func(t *testing.T, dir string) {
				key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "cert.pem"), signLeaf(t, dir, key.Public(), now.Add(48*time.Hour)), 0o644)
				if err := writeKey(filepath.Join(dir, "key.pem"), key); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "leaf corrupt", firstIssued: now, wantReissue: true,
			mutate: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o644) },
		},
		{
			name: "leaf key missing", firstIssued: now, wantReissue: true,
			mutate: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "key.pem")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "leaf key mismatched", firstIssued: now, wantReissue: true,
			mutate: func(t *testing.T, dir string) {
				other := mustEnsure(t, t.TempDir(), nil, time.Now)
				writeFile(t, filepath.Join(dir, "key.pem"), readFile(t, other.KeyFile), 0o600)
			},
		},
		{
			name: "leaf from another CA", firstIssued: now, wantReissue: true,
			mutate: func(t *testing.T, dir string) {
				other := mustEnsure(t, t.TempDir(), nil, time.Now)
				writeFile(t, filepath.Join(dir, "cert.pem"), readFile(t, other.CertFile), 0o644)
				writeFile(t, filepath.Join(dir, "key.pem"), readFile(t, other.KeyFile), 0o600)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			first := mustEnsure(t, dir, tc.firstHosts, clockAt(tc.firstIssued))
			if !first.Created {
				t.Fatal("first call: Created = false")
			}
			caBefore := readFile(t, first.CAFile)
			caKeyBefore := readFile(t, filepath.Join(dir, "ca-key.pem"))
			leafBefore := readFile(t, first.CertFile)
			keyBefore := readFile(t, first.KeyFile)
			if tc.mutate != nil {
				tc.mutate(t, dir)
			}

			second := mustEnsure(t, dir, tc.secondHosts, clockAt(now))
			if second.Created {
				t.Error("second call: Created = true, want false (CA must be kept)")
			}
			if !bytes.Equal(readFile(t, second.CAFile), caBefore) || !bytes.Equal(readFile(t, filepath.Join(dir, "ca-key.pem")), caKeyBefore) {
				t.Error("CA files changed")
			}
			leafAfter := readFile(t, second.CertFile)
			keyAfter := readFile(t, second.KeyFile)
			reissued := !bytes.Equal(leafAfter, leafBefore)
			if reissued != tc.wantReissue {
				t.Errorf("leaf reissued = %v, want %v", reissued, tc.wantReissue)
			}
			if reissued && bytes.Equal(keyAfter, keyBefore) {
				t.Error("reissued leaf kept the old key")
			}
			if !reissued && !bytes.Equal(keyAfter, keyBefore) {
				t.Error("leaf kept but key.pem changed")
			}
			if !bytes.Equal(second.Certificate.Leaf.Raw, pemDER(t, leafAfter)) {
				t.Error("Bundle leaf differs from cert.pem")
			}
			leaf := second.Certificate.Leaf
			opts := x509.VerifyOptions{Roots: second.CAPool, CurrentTime: now}
			for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, tc.secondHosts...) {
				if hp, _, err := net.SplitHostPort(h); err == nil {
					h = hp
				}
				opts.DNSName = h
				if _, err := leaf.Verify(opts); err != nil {
					t.Errorf("final leaf does not verify for %q: %v", h, err)
				}
			}
			if leaf.NotAfter.Sub(now) < renewBefore {
				t.Errorf("final leaf expires %v, within the renewal window", leaf.NotAfter)
			}
			for _, d := range tc.wantDNS {
				if !slices.Contains(leaf.DNSNames, d) {
					t.Errorf("final leaf DNSNames %q lack %q", leaf.DNSNames, d)
				}
			}
			// Reissued files keep their modes.
			for name, mode := range map[string]os.FileMode{"cert.pem": 0o644, "key.pem": 0o600} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode() != mode {
					t.Errorf("%s mode after second call: %v %v, want %v", name, fi.Mode(), err, mode)
				}
			}
		})
	}
}

func pemDER(t *testing.T, data []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

func TestEnsureCAErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mutate   func(t *testing.T, dir string)
		now      time.Time
		wantFile string // base name the error must contain
		wantText string
	}{
		{
			name: "corrupt CA certificate",
			mutate: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca.pem"), []byte("not a certificate\n"), 0o644)
			},
			wantFile: "ca.pem",
		},
		{
			name: "truncated CA certificate",
			mutate: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "ca.pem")
				data := readFile(t, p)
				writeFile(t, p, data[:len(data)/2], 0o644)
			},
			wantFile: "ca.pem",
		},
		{
			name: "corrupt CA key",
			mutate: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca-key.pem"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
			},
			wantFile: "ca-key.pem",
		},
		{
			name: "CA key missing",
			mutate: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
					t.Fatal(err)
				}
			},
			wantFile: "ca-key.pem",
			wantText: "missing",
		},
		{
			name: "CA certificate missing",
			mutate: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "ca.pem")); err != nil {
					t.Fatal(err)
				}
			},
			wantFile: "ca.pem",
			wantText: "missing",
		},
		{
			name: "CA key from another install",
			mutate: func(t *testing.T, dir string) {
				other := t.TempDir()
				mustEnsure(t, other, nil, time.Now)
				writeFile(t, filepath.Join(dir, "ca-key.pem"), readFile(t, filepath.Join(other, "ca-key.pem")), 0o600)
			},
			wantFile: "ca-key.pem",
			wantText: "does not match",
		},
		{
			name: "leaf in place of CA",
			mutate: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca.pem"), readFile(t, filepath.Join(dir, "cert.pem")), 0o644)
				writeFile(t, filepath.Join(dir, "ca-key.pem"), readFile(t, filepath.Join(dir, "key.pem")), 0o600)
			},
			wantFile: "ca.pem",
			wantText: "not a CA",
		},
		{
			name:     "CA not yet valid (clock went back)",
			now:      time.Now().Add(-48 * time.Hour),
			wantFile: "ca.pem",
			wantText: "not valid until",
		},
		{
			name:     "CA expired",
			now:      time.Now().Add(11 * 365 * 24 * time.Hour),
			wantFile: "ca.pem",
			wantText: "expired",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			mustEnsure(t, dir, nil, time.Now)
			if tc.mutate != nil {
				tc.mutate(t, dir)
			}
			snapshot := map[string][]byte{}
			for _, n := range []string{"ca.pem", "ca-key.pem"} {
				if data, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
					snapshot[n] = data
				}
			}
			now := tc.now
			if now.IsZero() {
				now = time.Now()
			}
			b, err := ensure(dir, nil, clockAt(now))
			if err == nil {
				t.Fatalf("ensure succeeded (Created=%v), want error naming %s", b.Created, tc.wantFile)
			}
			if want := filepath.Join(dir, tc.wantFile); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			// Nothing was silently replaced or recreated.
			for _, n := range []string{"ca.pem", "ca-key.pem"} {
				data, err := os.ReadFile(filepath.Join(dir, n))
				switch before, existed := snapshot[n]; {
				case existed && !bytes.Equal(data, before):
					t.Errorf("%s was modified after error", n)
				case !existed && err == nil:
					t.Errorf("%s was recreated", n)
				}
			}
		})
	}
}

func TestEnsureRejectsInvalidHost(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"bad host", "exa mple.com", "-lead.example", "a..b", "fe80::1%eth0", "ünïcode.example"} {
		t.Run(h, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "tls")
			_, err := Ensure(dir, []string{h})
			if err == nil || !strings.Contains(err.Error(), h) {
				t.Fatalf("Ensure(%q) error = %v, want one naming the host", h, err)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("directory created despite invalid input")
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	b := mustEnsure(t, t.TempDir(), nil, time.Now)
	cfg := b.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	if !slices.Equal(cfg.NextProtos, []string{"http/1.1"}) {
		t.Errorf("NextProtos = %q", cfg.NextProtos)
	}
	if len(cfg.Certificates) != 1 {
		t.Errorf("%d certificates", len(cfg.Certificates))
	}
	// Each call returns an independent config.
	cfg.NextProtos[0] = "h2"
	if b.TLSConfig().NextProtos[0] != "http/1.1" {
		t.Error("TLSConfig shares state between calls")
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	b := mustEnsure(t, t.TempDir(), []string{"ws.belfry.test"}, time.Now)
	other := mustEnsure(t, t.TempDir(), nil, time.Now)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.TLS = b.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		addr       string
		serverName string // "" verifies the dialled IP
		roots      *x509.CertPool
		wantErr    bool
	}{
		{name: "localhost", addr: "127.0.0.1", serverName: "localhost", roots: b.CAPool},
		{name: "IP 127.0.0.1", addr: "127.0.0.1", roots: b.CAPool},
		{name: "extra host", addr: "127.0.0.1", serverName: "ws.belfry.test", roots: b.CAPool},
		{name: "unknown host", addr: "127.0.0.1", serverName: "elsewhere.test", roots: b.CAPool, wantErr: true},
		{name: "other install's CA", addr: "127.0.0.1", serverName: "localhost", roots: other.CAPool, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := &tls.Config{
				RootCAs:    tc.roots,
				ServerName: tc.serverName,
				NextProtos: []string{"h2", "http/1.1"},
			}
			if tc.serverName == "" {
				cfg.ServerName = tc.addr
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort(tc.addr, port), cfg)
			if tc.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded, want verification failure")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			state := conn.ConnectionState()
			conn.Close()
			if state.NegotiatedProtocol != "http/1.1" {
				t.Errorf("ALPN = %q, want http/1.1", state.NegotiatedProtocol)
			}
			if state.Version < tls.VersionTLS12 {
				t.Errorf("TLS version %x", state.Version)
			}

			// And a full HTTP request, as a wss:// client would make.
			client := &http.Client{
				Timeout:   5 * time.Second,
				Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true},
			}
			resp, err := client.Get("https://" + net.JoinHostPort(tc.addr, port) + "/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "HTTP/1.1" {
				t.Errorf("server saw %q, want HTTP/1.1", body)
			}
			client.CloseIdleConnections()
		})
	}

	// The server refuses TLS 1.1 clients.
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{RootCAs: b.CAPool, ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}
}

func TestHandshakeIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	b := mustEnsure(t, t.TempDir(), nil, time.Now)
	tl := tls.NewListener(ln, b.TLSConfig())
	t.Cleanup(func() { tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: b.CAPool, ServerName: "::1"})
	if err != nil {
		t.Fatalf("handshake on [::1]: %v", err)
	}
	conn.Close()
}

func TestOpenSSLVerify(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not found on PATH; skipping cross-check of the certificates with openssl verify")
	}
	b := mustEnsure(t, t.TempDir(), []string{"ws.belfry.test"}, time.Now)
	for _, args := range [][]string{
		{"verify", "-CAfile", b.CAFile, b.CertFile},
		{"verify", "-CAfile", b.CAFile, "-purpose", "sslserver", "-verify_hostname", "localhost", b.CertFile},
		{"verify", "-CAfile", b.CAFile, "-purpose", "sslserver", "-verify_hostname", "ws.belfry.test", b.CertFile},
		{"verify", "-CAfile", b.CAFile, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", b.CertFile},
		{"verify", "-x509_strict", "-CAfile", b.CAFile, b.CertFile},
	} {
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// And openssl must reject a wrong hostname, or the checks above prove nothing.
	out, err := exec.Command(openssl, "verify", "-CAfile", b.CAFile, "-verify_hostname", "elsewhere.test", b.CertFile).CombinedOutput()
	if err == nil && strings.Contains(string(out), ": OK") {
		t.Errorf("openssl accepted a wrong hostname:\n%s", out)
	}
}

func TestLoadKeyPair(t *testing.T) {
	t.Parallel()
	b := mustEnsure(t, t.TempDir(), nil, time.Now)
	other := mustEnsure(t, t.TempDir(), nil, time.Now)
	expired := mustEnsure(t, t.TempDir(), nil, clockAt(time.Now().Add(-400*24*time.Hour)))

	// A SEC 1 key with the EC PARAMETERS block openssl ecparam writes.
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecDir := t.TempDir()
	sec1File := filepath.Join(ecDir, "sec1.pem")
	writeFile(t, sec1File, append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), 0o600)
	sec1Cert := filepath.Join(ecDir, "sec1-cert.pem")
	writeFile(t, sec1Cert, signLeaf(t, filepath.Dir(b.CAFile), ecKey.Public(), time.Now().Add(-time.Hour)), 0o644)

	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("hello\n"), 0o644)
	encrypted := filepath.Join(dir, "encrypted.pem")
	writeFile(t, encrypted, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	chain := filepath.Join(dir, "chain.pem")
	writeFile(t, chain, append(readFile(t, b.CertFile), readFile(t, b.CAFile)...), 0o644)

	tests := []struct {
		name      string
		cert, key string
		wantErr   []string // substrings; nil means success
		wantChain int
	}{
		{name: "bundle files", cert: b.CertFile, key: b.KeyFile, wantChain: 1},
		{name: "leaf plus chain", cert: chain, key: b.KeyFile, wantChain: 2},
		{name: "SEC 1 key with EC PARAMETERS", cert: sec1Cert, key: sec1File, wantChain: 1},
		{name: "missing cert", cert: missing, key: b.KeyFile, wantErr: []string{missing}},
		{name: "missing key", cert: b.CertFile, key: missing, wantErr: []string{missing}},
		{name: "garbage cert", cert: garbage, key: b.KeyFile, wantErr: []string{garbage}},
		{name: "garbage key", cert: b.CertFile, key: garbage, wantErr: []string{garbage}},
		{name: "swapped flags", cert: b.KeyFile, key: b.CertFile, wantErr: []string{b.KeyFile}},
		{name: "encrypted key", cert: b.CertFile, key: encrypted, wantErr: []string{encrypted, "encrypted"}},
		{name: "mismatched key", cert: b.CertFile, key: other.KeyFile, wantErr: []string{b.CertFile, other.KeyFile, "does not match"}},
		{name: "expired cert", cert: expired.CertFile, key: expired.KeyFile, wantErr: []string{expired.CertFile, "expired"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := LoadKeyPair(tc.cert, tc.key)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("LoadKeyPair: %v", err)
				}
				if len(c.Certificate) != tc.wantChain || c.Leaf == nil || c.PrivateKey == nil {
					t.Errorf("got chain %d leaf %v key %T", len(c.Certificate), c.Leaf != nil, c.PrivateKey)
				}
				// Usable by crypto/tls as is.
				if _, err := tls.X509KeyPair(readFile(t, tc.cert), readFile(t, tc.key)); err != nil {
					t.Errorf("crypto/tls disagrees: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadKeyPair succeeded, want error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// signLeaf signs a localhost server certificate for pub with the CA in
// caDir, valid from notBefore for a year, and returns it as PEM.
func signLeaf(t *testing.T, caDir string, pub crypto.PublicKey, notBefore time.Time) []byte {
	t.Helper()
	caCert, caKey, _, err := loadOrCreateCA(filepath.Join(caDir, "ca.pem"), filepath.Join(caDir, "ca-key.pem"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(leafValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestNodeTrustsCA checks the trust instructions users get: Node (which
// runs amazon-chime-sdk-js in tests and tooling) accepts the server once
// NODE_EXTRA_CA_CERTS points at ca.pem.
func TestNodeTrustsCA(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found on PATH; skipping the NODE_EXTRA_CA_CERTS check")
	}
	b := mustEnsure(t, t.TempDir(), nil, time.Now)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = b.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Dial 127.0.0.1 but verify the name "localhost", so the test does not
	// depend on how this machine resolves localhost.
	script := `require("https").get({host: "127.0.0.1", port: process.argv[1], servername: "localhost", path: "/"}, r => { let b = ""; r.on("data", d => b += d); r.on("end", () => console.log(b)); }).on("error", e => { console.error(e.code || e.message); process.exit(1); });`
	for _, tc := range []struct {
		name, caFile string
		wantOK       bool
	}{
		{"trusted", b.CAFile, true},
		{"untrusted", "", false},
	} {
		cmd := exec.Command(node, "-e", script, port)
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+tc.caFile, "NODE_TLS_REJECT_UNAUTHORIZED=1")
		out, err := cmd.CombinedOutput()
		if ok := err == nil && strings.TrimSpace(string(out)) == "ok"; ok != tc.wantOK {
			t.Errorf("%s: node https.get ok=%v, want %v: %v\n%s", tc.name, ok, tc.wantOK, err, out)
		}
	}
}

// TestEnsureStartOver covers the documented way to reset: removing the CA
// files creates a new CA (Created again) and replaces the old CA's leaf.
func TestEnsureStartOver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := mustEnsure(t, dir, nil, time.Now)
	for _, n := range []string{"ca.pem", "ca-key.pem"} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	second := mustEnsure(t, dir, nil, time.Now)
	if !second.Created {
		t.Error("Created = false after the CA was removed")
	}
	if second.Certificate.Leaf.Issuer.CommonName == first.Certificate.Leaf.Issuer.CommonName {
		t.Error("leaf still issued by the removed CA")
	}
	if _, err := second.Certificate.Leaf.Verify(x509.VerifyOptions{Roots: second.CAPool, DNSName: "localhost"}); err != nil {
		t.Errorf("new leaf does not verify against the new CA: %v", err)
	}
}
