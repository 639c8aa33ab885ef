package jsonscan

import "testing"

func TestPlainString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want string
		next int
		ok   bool
	}{
		{`"abc",`, 0, "abc", 5, true},
		{`x "héllo"`, 2, "héllo", 10, true},
		{`""`, 0, "", 2, true},
		{`"a\"b"`, 0, "", 0, false},    // an escape: encoding/json decides
		{"\"a\x01\"", 0, "", 0, false}, // a control character
		{"\"\xff\"", 0, "", 0, false},  // invalid UTF-8 is replaced, not kept
		{`"open`, 0, "", 0, false},
		{`abc`, 0, "", 0, false},
		{`"a"`, 3, "", 0, false},
	} {
		s, next, ok := PlainString([]byte(tc.in), tc.at)
		if ok != tc.ok || string(s) != tc.want || next != tc.next {
			t.Errorf("PlainString(%q, %d) = %q, %d, %v; want %q, %d, %v", tc.in, tc.at, s, next, ok, tc.want, tc.next, tc.ok)
		}
	}
}

func TestSkipSpace(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{{" \t\r\n{", 0, 4}, {"{", 0, 0}, {"  ", 1, 2}, {"", 0, 0}} {
		if got := SkipSpace([]byte(tc.in), tc.at); got != tc.want {
			t.Errorf("SkipSpace(%q, %d) = %d, want %d", tc.in, tc.at, got, tc.want)
		}
	}
}
