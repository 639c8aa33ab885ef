package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/textproto"
	"strings"
	"testing"
)

// The allocation-free helpers must agree with the library code they
// replace on every input.

func TestHMACSHA256PaddedMatchesCryptoHMAC(t *testing.T) {
	key := sha256.Sum256([]byte("k"))
	for _, msg := range []string{"", "a", strings.Repeat("x", 63), strings.Repeat("y", 64), strings.Repeat("z", 1000)} {
		buf := append(make([]byte, sha256.BlockSize), msg...)
		got := hmacSHA256Padded(key[:], buf)
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte(msg))
		if !hmac.Equal(got[:], m.Sum(nil)) {
			t.Errorf("HMAC of %d bytes differs from crypto/hmac", len(msg))
		}
	}
}

func TestCanonicalKeyMatchesTextproto(t *testing.T) {
	for _, name := range []string{"host", "x-amz-date", "X-AMZ-CHIME-BEARER", "content-type", "a", "-x-", "x1-2y", "sec-websocket-key", "x_y", "x y", "é", ""} {
		var buf [64]byte
		got, ok := canonicalKey(buf[:0], name)
		want := textproto.CanonicalMIMEHeaderKey(name)
		if ok && string(got) != want {
			t.Errorf("canonicalKey(%q) = %q, textproto says %q", name, got, want)
		}
		if !ok && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == "" && name != "" {
			t.Errorf("canonicalKey(%q) refused a plain name", name)
		}
	}
}

func TestParseCredentialElements(t *testing.T) {
	for cred, ok := range map[string]bool{
		"AKID/20260101/us-east-1/chime/aws4_request":   true,
		"AKID/20260101/us-east-1/chime/aws4_request/":  false,
		"/20260101/us-east-1/chime/aws4_request":       false,
		"AKID/20260101/us-east-1/chime":                false,
		"AKID/20260101//chime/aws4_request":            false,
		"AKID/20260101/us-east-1/chime/aws4_request/x": false,
		"a/b/c/d/e": true,
		"":          false,
	} {
		sc, e := parseCredential(cred)
		if (e == nil) != ok {
			t.Errorf("parseCredential(%q): error %v, want ok=%v", cred, e, ok)
		}
		if ok && sc.accessKeyID+"/"+sc.String() != cred {
			t.Errorf("parseCredential(%q) = %+v", cred, sc)
		}
	}
}
