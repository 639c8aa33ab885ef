package httpapi

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// slowBodyGrace is how long a body may take to arrive without counting as
// slow. SDKs write the body right behind the headers, so a legitimate one
// is there after a packet or two; only a body still arriving after this
// needs one of its access key's slow-body slots.
const slowBodyGrace = 250 * time.Millisecond

// bodyGate bounds, per access key, the requests whose body is still
// arriving after slowBodyGrace. SigV4 covers the body's hash, so a client
// that knows an access key id (not a secret) can pass the header checks and
// then trickle the body; without the gate 2,000 such connections would be
// held until --body-read-timeout. With it, all but max are refused within
// the grace, and a client sending its body promptly never needs a slot.
type bodyGate struct {
	max  int
	mu   sync.Mutex
	busy map[string]int
}

func (g *bodyGate) acquire(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[key] >= g.max {
		return false
	}
	if g.busy == nil {
		g.busy = map[string]int{}
	}
	g.busy[key]++
	return true
}

func (g *bodyGate) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[key]--; g.busy[key] <= 0 {
		delete(g.busy, key)
	}
}

// watch starts the grace timer for one body read. If the read is still
// going when it fires, the request takes a slot of its access key, or, when
// none is free, its read is ended at once (the deadline set to now). A
// non-zero deadline is the read's own, set only then: the absolute time is
// the same, and the bodies that arrive within the grace (nearly all) cost
// no deadline changes on the connection. stop ends the watch once the read
// returns and reports whether the gate cut it and whether it set a
// deadline, which the caller must clear.
func (g *bodyGate) watch(w http.ResponseWriter, key string, deadline time.Time) (stop func() (refused, armed bool)) {
	var mu sync.Mutex
	done, holding, refused, armed := false, false, false, false
	t := time.AfterFunc(slowBodyGrace, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		if !deadline.IsZero() {
			setReadDeadline(w, deadline)
			armed = true
		}
		if g.acquire(key) {
			holding = true
			return
		}
		refused, armed = true, true
		setReadDeadline(w, time.Now())
	})
	return func() (bool, bool) {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		done = true
		if holding {
			g.release(key)
		}
		return refused, armed
	}
}

// accessKeyOf is the access key id of a header-signed request whose
// Authorization header has already been validated.
func accessKeyOf(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}
