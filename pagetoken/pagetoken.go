// Package pagetoken seals list cursors into opaque, tamper-evident
// NextTokens.
//
// A token carries the cursor in the clear (it is only a position in a list,
// not a secret) followed by an HMAC-SHA256 over the scope and the cursor.
// The scope names the list the token belongs to: the operation and the
// parameters that select the list (say "ListAppInstanceUsers" and the app
// instance ARN). Open recomputes the MAC for the scope it is given, so a
// token that was forged, truncated, altered, or issued for another list
// (another operation, another app instance) fails, and the service answers
// BadRequestException instead of paging through something else.
//
// The key must be the same on every node that may receive the next request,
// so callers keep it in the store (see store.ServerSecretReader).
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// version is the first byte of every token, so the format can change
// without old tokens being misread.
const version byte = 1

// macSize is the length of the HMAC-SHA256 tag.
const macSize = sha256.Size

// MinKeySize is the smallest key Seal and Open accept.
const MinKeySize = 16

// ErrInvalid is returned by Open for any token it cannot vouch for. It
// deliberately says nothing about why.
var ErrInvalid = errors.New("invalid page token")

// Strict: a token with non-zero padding bits decodes to the same bytes as
// the canonical one, and must be refused like any other altered token.
var enc = base64.RawURLEncoding.Strict()

// Seal returns the token for cursor in the list named by scope.
func Seal(key []byte, scope string, cursor []byte) string {
	if len(key) < MinKeySize {
		panic("pagetoken: key too short")
	}
	b := make([]byte, 0, 1+len(cursor)+macSize)
	b = append(b, version)
	b = append(b, cursor...)
	b = append(b, mac(key, scope, cursor)...)
	return enc.EncodeToString(b)
}

// Open returns the cursor sealed in token for the list named by scope, or
// ErrInvalid.
func Open(key []byte, scope, token string) ([]byte, error) {
	if len(key) < MinKeySize {
		panic("pagetoken: key too short")
	}
	// The base64 decoder skips '\r' and '\n'; refusing them keeps one
	// token per cursor (found by FuzzOpen).
	if strings.ContainsAny(token, "\r\n") {
		return nil, ErrInvalid
	}
	b, err := enc.DecodeString(token)
	if err != nil || len(b) < 1+macSize || b[0] != version {
		return nil, ErrInvalid
	}
	cursor, tag := b[1:len(b)-macSize], b[len(b)-macSize:]
	if !hmac.Equal(tag, mac(key, scope, cursor)) {
		return nil, ErrInvalid
	}
	return cursor, nil
}

// mac authenticates version, scope and cursor. The scope is
// length-prefixed so that no (scope, cursor) pair can be re-split into
// another with the same bytes.
func mac(key []byte, scope string, cursor []byte) []byte {
	h := hmac.New(sha256.New, key)
	var n [9]byte
	n[0] = version
	binary.BigEndian.PutUint64(n[1:], uint64(len(scope)))
	h.Write(n[:])
	h.Write([]byte(scope))
	h.Write(cursor)
	return h.Sum(nil)
}

// SealInt64 seals an integer cursor, such as a store.Page's After.
func SealInt64(key []byte, scope string, cursor int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(cursor))
	return Seal(key, scope, b[:])
}

// OpenInt64 opens a token made by SealInt64.
func OpenInt64(key []byte, scope, token string) (int64, error) {
	b, err := Open(key, scope, token)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, ErrInvalid
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}
