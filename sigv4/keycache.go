package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// keyCacheSize bounds the cache. A signing key is valid for one UTC day per
// (secret, region, service), so even a busy server needs only about one entry
// per active credential; the bound just stops a flood of distinct keys or
// dates from growing memory without limit.
const keyCacheSize = 1024

// keyCache memoises signing-key derivation (four chained HMACs) across
// requests. It is keyed by a hash of the secret rather than the secret itself
// so that no plaintext secret is retained by the cache, and so that a rotated
// secret can never be served a stale key.
type keyCache struct {
	mu    sync.Mutex
	keys  map[keyID][]byte
	order []keyID // FIFO ring for eviction
	next  int
}

// keyID names a signing key: the secret's hash and the scope.
type keyID struct {
	secret                [sha256.Size]byte
	date, region, service string
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// secretHash hashes a secret without copying it to the heap.
func secretHash(secret string) [sha256.Size]byte {
	var buf [128]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(append(buf[:0], secret...))
	}
	return sha256.Sum256([]byte(secret))
}

func (c *keyCache) get(secret, date, region, service string) []byte {
	id := keyID{secretHash(secret), date, region, service}

	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}

	k = deriveKey(secret, date, region, service)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[keyID][]byte, 64)
		c.order = make([]keyID, keyCacheSize)
	}
	if _, dup := c.keys[id]; dup {
		return k
	}
	if old := c.order[c.next]; old != (keyID{}) {
		delete(c.keys, old)
	}
	c.order[c.next] = id
	c.next = (c.next + 1) % keyCacheSize
	c.keys[id] = k
	return k
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}
