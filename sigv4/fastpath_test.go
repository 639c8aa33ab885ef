package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"net/textproto"
	"strings"
	"testing"
	"time"
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

func TestParseAmzDateMatchesTimeParse(t *testing.T) {
	cases := []string{
		"20261122T213500Z", "20240229T000000Z", "20230229T000000Z", "20260431T120000Z", "20261301T000000Z",
		"20260001T000000Z", "20260100T000000Z", "20260101T240000Z", "20260101T236000Z", "20260101T235960Z",
		"20260101T235959Z", "00000101T000000Z", "99991231T235959Z", "2026-1-01T00000Z", "20260101 000000Z",
		"20260101T000000z", "+0260101T000000Z", "2026010lT000000Z", "20260101T000000", "", "20260101T000000ZZ",
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		b := []byte("20260615T123045Z")
		for range 1 + r.IntN(3) {
			b[r.IntN(len(b))] = "0123456789TZ+- 9"[r.IntN(16)]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		got, ok := parseAmzDate(s)
		want, err := time.Parse(amzDateFormat, s)
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
	}
}

func TestAppendTrimmed(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "  ends  ": "ends", "a  b": "a b", "a\tb": "a b", " a \t\r\n b ": "a b", "": "", "a b c": "a b c",
	} {
		if got := string(appendTrimmed(nil, in)); got != want {
			t.Errorf("appendTrimmed(%q) = %q, want %q", in, got, want)
		}
	}
}
