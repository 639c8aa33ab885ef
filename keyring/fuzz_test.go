package keyring

import (
	"strings"
	"testing"
	"time"
)

// FuzzOpenSession: a session token is attacker input; opening one never
// panics and accepts only what the key sealed.
func FuzzOpenSession(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add("BSIAAAAAAAAAAAAAAAAA", "BST1.eyJrIjoiQlNJQSJ9.AAAA")
	f.Add("", "BST1..")
	f.Add("x", "BST1.%%%.***")
	f.Fuzz(func(t *testing.T, id, token string) {
		c, secret, err := openSession(key, id, token, time.Unix(0, 0))
		if err == nil {
			body, _, _ := strings.Cut(strings.TrimPrefix(token, sessionTokenPrefix), ".")
			if c.AccessKeyID != id || secret != sessionSecret(key, body) {
				t.Fatalf("opened a token that does not belong to %q: %q", id, token)
			}
			t.Fatalf("a fuzzed token was accepted: %q", token) // forging an HMAC-SHA256 is not expected
		}
	})
}
