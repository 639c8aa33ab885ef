package pagetoken

import (
	"bytes"
	"strings"
	"testing"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestRoundTrip(t *testing.T) {
	for _, c := range []int64{0, 1, 50, 1 << 40} {
		tok := SealInt64(key, "ListAppInstanceUsers arn:x", c)
		got, err := OpenInt64(key, "ListAppInstanceUsers arn:x", tok)
		if err != nil || got != c {
			t.Errorf("OpenInt64(SealInt64(%d)) = %d, %v", c, got, err)
		}
	}
}

func TestRejects(t *testing.T) {
	tok := SealInt64(key, "ListAppInstanceUsers arn:a", 42)
	otherKey := bytes.Repeat([]byte{7}, 32)
	flipped := []byte(tok)
	flipped[3] ^= 1
	tests := []struct{ name, scope, token string }{
		{"other scope (operation)", "ListAppInstanceBots arn:a", tok},
		{"other scope (parameters)", "ListAppInstanceUsers arn:b", tok},
		{"truncated", "ListAppInstanceUsers arn:a", tok[:len(tok)-2]},
		{"altered", "ListAppInstanceUsers arn:a", string(flipped)},
		{"empty", "ListAppInstanceUsers arn:a", ""},
		{"garbage", "ListAppInstanceUsers arn:a", "not a token!"},
		{"other key", "ListAppInstanceUsers arn:a", SealInt64(otherKey, "ListAppInstanceUsers arn:a", 42)},
		{"appended", "ListAppInstanceUsers arn:a", tok + "AA"},
	}
	for _, tt := range tests {
		if _, err := OpenInt64(key, tt.scope, tt.token); err != ErrInvalid {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestOpaque(t *testing.T) {
	tok := SealInt64(key, "s", 1)
	if strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not URL-safe", tok)
	}
}

// FuzzOpen: no input makes Open panic or accept a token it did not seal.
func FuzzOpen(f *testing.F) {
	f.Add("s", SealInt64(key, "s", 3))
	f.Add("s", "")
	f.Add("", "AQ")
	f.Fuzz(func(t *testing.T, scope, token string) {
		c, err := Open(key, scope, token)
		if err != nil {
			return
		}
		if Seal(key, scope, c) != token {
			t.Fatalf("Open accepted %q for scope %q, which Seal would not produce", token, scope)
		}
	})
}

// FuzzRoundTrip: every sealed cursor opens to itself, and only in its scope.
func FuzzRoundTrip(f *testing.F) {
	f.Add("ListAppInstances", []byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, scope string, cursor []byte) {
		tok := Seal(key, scope, cursor)
		got, err := Open(key, scope, tok)
		if err != nil || !bytes.Equal(got, cursor) {
			t.Fatalf("round trip: %v %v", got, err)
		}
		if _, err := Open(key, scope+"x", tok); err == nil {
			t.Fatalf("token opened in another scope")
		}
	})
}
