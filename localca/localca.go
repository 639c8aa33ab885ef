// Package localca gives Belfry a TLS listener with no configuration.
//
// The amazon-chime-sdk-js messaging client hard-codes wss:// for the
// messaging-session websocket, so Belfry always needs TLS, even on a
// developer's laptop. With no certificate configured, [Ensure] creates a
// private certificate authority and a server ("leaf") certificate for
// localhost in Belfry's data directory on first start; the user trusts the
// CA once (for example with NODE_EXTRA_CA_CERTS=<data-dir>/tls/ca.pem) and
// every later start, including ones that need a new leaf, stays trusted
// because the CA is kept. Users with their own certificate use
// [LoadKeyPair] instead.
//
// The file layout under <data-dir>/tls/ is a contract other code and user
// documentation depend on:
//
//	ca.pem       the CA certificate (the file users trust)
//	ca-key.pem   the CA private key (0600)
//	cert.pem     the server certificate (0644)
//	key.pem      the server private key (0600)
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the directory passed to Ensure. They are part of the
// package's contract (the CA at <data-dir>/tls/ca.pem is what users are
// told to trust), so they never change.
const (
	caCertName   = "ca.pem"
	caKeyName    = "ca-key.pem"
	leafCertName = "cert.pem"
	leafKeyName  = "key.pem"
)

const (
	// caValidity is long so that a CA trusted once keeps working for the
	// lifetime of a development setup.
	caValidity = 10 * 365 * 24 * time.Hour
	// leafValidity stays under the 398-day maximum that browsers and
	// Apple platforms enforce for TLS server certificates.
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a leaf may get before Ensure
	// replaces it, so a long-running server does not cross the expiry.
	renewBefore = 30 * 24 * time.Hour
	// backdate absorbs small clock differences between Belfry and its
	// clients (containers, VMs) so a fresh certificate is not "not yet valid".
	backdate = time.Hour
)

// defaultHosts are always in the leaf, because local clients reach Belfry
// by any of them.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Bundle is the result of Ensure: the paths of the files it manages and
// the parsed material, so the caller needs no further file handling.
type Bundle struct {
	// CAFile is the CA certificate the user must trust, e.g. via
	// NODE_EXTRA_CA_CERTS; the caller prints it in trust instructions.
	CAFile string
	// CertFile and KeyFile are the leaf certificate and key, for tools
	// that want files rather than a tls.Config.
	CertFile, KeyFile string
	// Created is true when this call created the CA, so the caller prints
	// trust instructions exactly once, on the first start.
	Created bool
	// Certificate is the leaf followed by the CA certificate, with its
	// private key and parsed Leaf, ready for tls.Config.Certificates.
	Certificate tls.Certificate
	// CAPool holds only the local CA, for clients (tests, health checks)
	// that must verify Belfry's certificate without system roots.
	CAPool *x509.CertPool
}

// TLSConfig returns a new server tls.Config serving b.Certificate.
//
// TLS 1.2 is the minimum because older versions are broken and every
// supported client speaks 1.2. ALPN offers only "http/1.1" because
// websockets upgrade over HTTP/1.1 (RFC 6455); a client that negotiated h2
// could not open the messaging-session websocket. Note that
// http.Server.ServeTLS adds "h2" back unless http.Server.Protocols allows
// HTTP/1 only; serving on tls.NewListener(ln, cfg) with http.Server.Serve
// keeps the list as returned.
func (b *Bundle) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		Certificates: []tls.Certificate{b.Certificate},
	}
}

// Ensure loads, or creates on first use, a local CA and a server leaf
// certificate in dir (e.g. <data-dir>/tls), creating dir with mode 0700.
//
// Files: ca.pem, ca-key.pem (0600), cert.pem, key.pem (0600). The leaf's
// subject alternative names are "localhost", 127.0.0.1 and ::1 plus
// extraHosts: hostnames or IP addresses (e.g. the configured public
// websocket host); a trailing ":port" is ignored, so a host[:port] setting
// can be passed as is.
//
// Re-running with the same inputs reuses the files. If the leaf lacks a
// requested name, is expired, expires within 30 days, is not signed by the
// CA, or is missing or unreadable, a new leaf (with a new key) is issued
// from the same CA: the CA is kept so users who trusted it once stay
// trusted. The CA itself is created only when both ca.pem and ca-key.pem
// are absent; a corrupt, mismatched, half-present or expired CA is an
// error naming the file, never silently replaced, because replacing it
// would silently break every client that trusted it. To start over, the
// user removes dir.
//
// Ensure is meant to be called once at startup by a single process; it
// does not lock dir against concurrent callers.
func Ensure(dir string, extraHosts []string) (*Bundle, error) {
	return ensure(dir, extraHosts, time.Now)
}

// ensure is Ensure with an injectable clock, so tests can issue
// certificates in the past and watch them be renewed.
func ensure(dir string, extraHosts []string, now func() time.Time) (*Bundle, error) {
	hosts, err := normalizeHosts(append(append([]string(nil), defaultHosts...), extraHosts...))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localca: creating TLS directory %s: %w", dir, err)
	}
	b := &Bundle{
		CAFile:   filepath.Join(dir, caCertName),
		CertFile: filepath.Join(dir, leafCertName),
		KeyFile:  filepath.Join(dir, leafKeyName),
	}
	caKeyFile := filepath.Join(dir, caKeyName)

	caCert, caKey, created, err := loadOrCreateCA(b.CAFile, caKeyFile, now())
	if err != nil {
		return nil, err
	}
	b.Created = created
	b.CAPool = x509.NewCertPool()
	b.CAPool.AddCert(caCert)

	leaf, leafKey, ok := loadLeaf(b.CertFile, b.KeyFile, b.CAPool, hosts, now())
	if !ok {
		leaf, leafKey, err = issueLeaf(b.CertFile, b.KeyFile, caCert, caKey, hosts, now())
		if err != nil {
			return nil, err
		}
	}
	b.Certificate = tls.Certificate{
		Certificate: [][]byte{leaf.Raw, caCert.Raw},
		PrivateKey:  leafKey,
		Leaf:        leaf,
	}
	return b, nil
}

// host is one requested subject alternative name: either a DNS name or an IP.
type host struct {
	dns string
	ip  net.IP
}

// normalizeHosts turns user-supplied names into SANs: ports and IPv6
// brackets are stripped, DNS names lower-cased, duplicates and empty
// entries dropped. Invalid names are rejected here rather than producing a
// certificate that clients refuse to parse.
func normalizeHosts(in []string) ([]host, error) {
	var out []host
	seen := map[string]bool{}
	for _, raw := range in {
		h := strings.TrimSpace(raw)
		if hp, _, err := net.SplitHostPort(h); err == nil {
			h = hp
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			continue
		}
		var e host
		if ip := net.ParseIP(h); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			e.ip = ip
			h = ip.String()
		} else {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if !validDNSName(h) {
				return nil, fmt.Errorf("localca: %q is not a valid hostname or IP address for the TLS certificate", raw)
			}
			e.dns = h
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, e)
	}
	return out, nil
}

// validDNSName accepts LDH labels (plus '_', common in local setups) and a
// leading "*." wildcard, which is what certificate verifiers accept.
func validDNSName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// loadOrCreateCA returns the CA in certFile/keyFile, creating it only when
// both files are absent (created reports that).
func loadOrCreateCA(certFile, keyFile string, now time.Time) (cert *x509.Certificate, key crypto.Signer, created bool, err error) {
	certPEM, certErr := os.ReadFile(certFile)
	keyPEM, keyErr := os.ReadFile(keyFile)
	certMissing := errors.Is(certErr, fs.ErrNotExist)
	keyMissing := errors.Is(keyErr, fs.ErrNotExist)
	switch {
	case certMissing && keyMissing:
		cert, key, err = createCA(certFile, keyFile, now)
		return cert, key, err == nil, err
	case certMissing:
		return nil, nil, false, fmt.Errorf("localca: CA certificate %s is missing but its key %s exists; restore it, or remove the directory to create a new CA (clients must then trust the new one)", certFile, keyFile)
	case keyMissing:
		return nil, nil, false, fmt.Errorf("localca: CA key %s is missing but the CA certificate %s exists; restore it, or remove the directory to create a new CA (clients must then trust the new one)", keyFile, certFile)
	case certErr != nil:
		return nil, nil, false, fmt.Errorf("localca: reading CA certificate %s: %w", certFile, certErr)
	case keyErr != nil:
		return nil, nil, false, fmt.Errorf("localca: reading CA key %s: %w", keyFile, keyErr)
	}

	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, nil, false, fmt.Errorf("localca: CA certificate %s: %w", certFile, err)
	}
	cert = certs[0]
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, false, fmt.Errorf("localca: CA certificate %s is not a CA certificate (no CA basic constraint or certificate-signing key usage)", certFile)
	}
	if now.Before(cert.NotBefore) {
		return nil, nil, false, fmt.Errorf("localca: CA certificate %s is not valid until %s (was the clock wrong when it was created?); fix the clock, or remove the directory to create a new CA (clients must then trust the new one)", certFile, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return nil, nil, false, fmt.Errorf("localca: CA certificate %s expired on %s; remove the directory to create a new CA (clients must then trust the new one)", certFile, cert.NotAfter.Format(time.DateOnly))
	}
	key, err = parsePrivateKey(keyPEM)
	if err != nil {
		return nil, nil, false, fmt.Errorf("localca: CA key %s: %w", keyFile, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, nil, false, fmt.Errorf("localca: CA key %s does not match the CA certificate %s", keyFile, certFile)
	}
	return cert, key, false, nil
}

// createCA makes a new self-signed CA and writes it, key first: once
// ca.pem is visible (and perhaps trusted) its key is already on disk.
func createCA(certFile, keyFile string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: generating CA key: %w", err)
	}
	// A per-install suffix keeps two installs' CAs distinguishable in one
	// trust store (same subject would make them look like one CA).
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, fmt.Errorf("localca: generating CA name: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "Belfry Local CA " + hex.EncodeToString(id),
			Organization: []string{"Belfry local development CA"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA signs leaves only, never intermediates.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: parsing new CA certificate: %w", err)
	}
	if err := writeKey(keyFile, key); err != nil {
		return nil, nil, err
	}
	if err := writeCert(certFile, der); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// loadLeaf returns the existing leaf if it can be reused as is. Any
// problem (missing, unreadable, not from this CA, wrong names, near
// expiry) means "issue a new one", never an error: the leaf is derived
// data that nobody trusts directly.
func loadLeaf(certFile, keyFile string, roots *x509.CertPool, hosts []host, now time.Time) (*x509.Certificate, crypto.Signer, bool) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, false
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, false
	}
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, nil, false
	}
	leaf := certs[0]
	key, err := parsePrivateKey(keyPEM)
	if err != nil || !publicKeysEqual(key.Public(), leaf.PublicKey) {
		return nil, nil, false
	}
	if now.Add(renewBefore).After(leaf.NotAfter) {
		return nil, nil, false
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, nil, false
	}
	for _, h := range hosts {
		if !hasSAN(leaf, h) {
			return nil, nil, false
		}
	}
	return leaf, key, true
}

// hasSAN reports whether h is literally among the leaf's SANs. (Wildcard
// matching is deliberately not used: the request is for that exact name.)
func hasSAN(leaf *x509.Certificate, h host) bool {
	if h.ip != nil {
		for _, ip := range leaf.IPAddresses {
			if ip.Equal(h.ip) {
				return true
			}
		}
		return false
	}
	for _, d := range leaf.DNSNames {
		if strings.EqualFold(d, h.dns) {
			return true
		}
	}
	return false
}

// issueLeaf signs a new server certificate for hosts with a fresh key and
// writes it. Key first: a crash between the writes leaves a mismatched
// pair, which the next start detects and reissues.
func issueLeaf(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, hosts []host, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: generating server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(ca.NotAfter) {
		// A leaf outliving its CA would fail verification anyway.
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Belfry local development"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if h.ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, h.ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h.dns)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: creating server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("localca: parsing new server certificate: %w", err)
	}
	if err := writeKey(keyFile, key); err != nil {
		return nil, nil, err
	}
	if err := writeCert(certFile, der); err != nil {
		return nil, nil, err
	}
	return leaf, key, nil
}

// randomSerial returns a random positive 128-bit serial number, as the
// CA/Browser Forum requires unpredictable serials (and two installs must
// not collide).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("localca: generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// parseCertificates decodes every CERTIFICATE block in data; at least one
// is required, and anything else in the file is an error so a key pasted
// into the wrong file is reported rather than ignored.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q (want CERTIFICATE)", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM-encoded CERTIFICATE found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the last PEM certificate")
	}
	return certs, nil
}

// parsePrivateKey decodes the first PEM private key in data, accepting the
// encodings openssl and other tools commonly write (PKCS#8, SEC 1, PKCS#1).
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM-encoded private key found")
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the private key is encrypted; provide an unencrypted key")
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PARAMETERS":
			continue // openssl ecparam -genkey writes this before the key
		default:
			return nil, fmt.Errorf("unexpected PEM block %q (want a private key)", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
		return s, nil
	}
}

// publicKeysEqual compares public keys of any stdlib type.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func writeCert(path string, der []byte) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("localca: encoding key for %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes data to a temporary file in the same directory
// and renames it into place, so a crash never leaves a truncated file and
// a key is never readable with looser permissions, even briefly.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("localca: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("localca: writing %s: %w", path, err)
		}
	}()
	// CreateTemp makes the file 0600; Chmod sets the final mode
	// independent of the umask.
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Persist the rename itself; best effort, as not every platform
	// supports syncing a directory.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadKeyPair loads a user-supplied certificate and key (the --tls-cert
// and --tls-key flags). Unlike tls.LoadX509KeyPair, every error names the
// file at fault, so a misconfigured path or swapped flags are obvious.
// certFile may hold the leaf followed by intermediates; an expired leaf is
// rejected up front because clients would refuse it with a less clear
// message.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("localca: reading TLS certificate %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("localca: reading TLS key %s: %w", keyFile, err)
	}
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("localca: TLS certificate %s: %w", certFile, err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("localca: TLS key %s: %w", keyFile, err)
	}
	leaf := certs[0]
	if !publicKeysEqual(key.Public(), leaf.PublicKey) {
		return tls.Certificate{}, fmt.Errorf("localca: TLS key %s does not match the certificate in %s (the first certificate must be the server's)", keyFile, certFile)
	}
	if time.Now().After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("localca: TLS certificate %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	out := tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}
