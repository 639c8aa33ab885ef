package postgres

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNULEscape checks that escaping is undone exactly, that what is
// stored never holds NUL, and that different strings stay different.
func FuzzNULEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\uFFFF", "\uFFFF0", "\uFFFF1\x00", "\x00\uFFFF"} {
		f.Add(s, "other")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := escapeNUL(a), escapeNUL(b)
		if strings.IndexByte(ea, 0) >= 0 {
			t.Fatalf("escapeNUL(%q) = %q holds NUL", a, ea)
		}
		if utf8.ValidString(a) && !utf8.ValidString(ea) {
			t.Fatalf("escapeNUL(%q) = %q is not valid UTF-8", a, ea)
		}
		if got := unescapeNUL(ea); got != a {
			t.Fatalf("unescapeNUL(escapeNUL(%q)) = %q", a, got)
		}
		if (a == b) != (ea == eb) {
			t.Fatalf("escapeNUL(%q) = %q, escapeNUL(%q) = %q", a, ea, b, eb)
		}
		if !needsEscape(a) && ea != a {
			t.Fatalf("escapeNUL(%q) = %q changed a string that needs no escape", a, ea)
		}
	})
}

func TestEscapeArgs(t *testing.T) {
	s := "a\x00"
	in := []any{"plain", s, &s, int64(1), []byte{0}}
	out := escapeArgs(in)
	if out[0] != "plain" || out[1] != "a\uFFFF0" || out[2] != "a\uFFFF0" || out[3] != int64(1) {
		t.Fatalf("escapeArgs = %#v", out)
	}
	if in[1] != s {
		t.Fatalf("escapeArgs changed its argument: %#v", in)
	}
	plain := []any{"x", int64(2)}
	if got := escapeArgs(plain); &got[0] != &plain[0] {
		t.Fatalf("escapeArgs copied arguments that need no escape")
	}
}
