// Package connlimit bounds what one client can hold open: TCP connections
// per client address (at the listener, before any byte is read), requests
// in flight per client behind a trusted proxy (by X-Forwarded-For), and
// concurrent executions of a handler (the websocket handshake).
package connlimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// Listener closes, at once, connections from an address that already holds
// Max open connections. Addresses in Exempt (trusted proxies, which carry
// many clients' connections) are not counted.
type Listener struct {
	net.Listener
	Max    int
	Exempt []netip.Prefix
	// Refused, if set, is called for every connection closed at accept.
	Refused func()

	mu     sync.Mutex
	counts map[netip.Addr]int
}

// Accept returns the next connection within the limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.Max <= 0 {
			return c, err
		}
		ip := addrOf(c.RemoteAddr())
		if !ip.IsValid() || contains(l.Exempt, ip) {
			return c, nil
		}
		l.mu.Lock()
		if l.counts == nil {
			l.counts = map[netip.Addr]int{}
		}
		if l.counts[ip] >= l.Max {
			l.mu.Unlock()
			c.Close()
			if l.Refused != nil {
				l.Refused()
			}
			continue
		}
		l.counts[ip]++
		l.mu.Unlock()
		return &conn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[ip]--; l.counts[ip] <= 0 {
		delete(l.counts, ip)
	}
}

// Open is the number of connections counted for addr.
func (l *Listener) Open(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[addr]
}

type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func addrOf(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func contains(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes or bare
// addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ClientAddr is the address a request comes from: the peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For address that is
// not itself a trusted proxy (addresses further left are whatever the
// client chose to send, and cannot be believed).
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := netip.Addr{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		peer = ap.Addr().Unmap()
	}
	if !peer.IsValid() || !contains(trusted, peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed hop: stop believing the header
		}
		if a = a.Unmap(); !contains(trusted, a) {
			return a
		}
	}
	return peer
}

// PerClient bounds the requests in flight per client address behind a
// trusted proxy (where the listener sees only the proxy). Requests not from
// a trusted proxy pass through: the Listener already bounds their
// connections, and with them their requests. Over the limit, refuse
// answers.
func PerClient(next http.Handler, max int, trusted []netip.Prefix, refuse http.HandlerFunc) http.Handler {
	if max <= 0 || len(trusted) == 0 {
		return next
	}
	var mu sync.Mutex
	inflight := map[netip.Addr]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !contains(trusted, ap.Addr().Unmap()) {
			next.ServeHTTP(w, r)
			return
		}
		ip := ClientAddr(r, trusted)
		mu.Lock()
		if inflight[ip] >= max {
			mu.Unlock()
			refuse(w, r)
			return
		}
		inflight[ip]++
		mu.Unlock()
		defer func() {
			mu.Lock()
			if inflight[ip]--; inflight[ip] <= 0 {
				delete(inflight, ip)
			}
			mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// Concurrent lets at most max executions of next run at once; the others
// are answered by refuse at once rather than queued, so a flood cannot
// build a backlog of goroutines.
func Concurrent(next http.Handler, max int, refuse http.HandlerFunc) http.Handler {
	if max <= 0 {
		return next
	}
	sem := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		default:
			refuse(w, r)
			return
		}
		defer func() { <-sem }()
		next.ServeHTTP(w, r)
	})
}

// NetConn is the counted connection, for code that needs the socket under
// it (the messaging sessions' poller).
func (c *conn) NetConn() net.Conn { return c.Conn }
