package sigv4

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// isUnreserved reports the RFC 3986 unreserved set, the only bytes SigV4
// leaves unencoded.
func isUnreserved(c byte) bool { return unreserved[c] }

var unreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// appendAWSEncoded percent-encodes s the SigV4 way (upper-case hex,
// everything but unreserved bytes). keepSlash exists for paths, where '/'
// separates segments and must survive.
func appendAWSEncoded(b []byte, s string, keepSlash bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] || (keepSlash && c == '/') {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		start = i + 1
	}
	return append(b, s[start:]...)
}

func awsEncoded(s string, keepSlash bool) string {
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) && (!keepSlash || s[i] != '/') {
			return string(appendAWSEncoded(make([]byte, 0, len(s)+16), s, keepSlash))
		}
	}
	return s
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// queryUnescape decodes a query component the way Go's url.ParseQuery does
// ('+' is a space), because that is how our handlers will read the values:
// the signature must cover what the application sees. Unlike ParseQuery it
// never fails; a malformed escape is kept literally, so it is still covered
// by the signature (as %25...) instead of being silently dropped.
func queryUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					out = append(out, hi<<4|lo)
					i += 2
					continue
				}
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// queryPair is one '&'-separated element of a raw query string.
type queryPair struct {
	rawKey, rawValue string
	key, value       string // decoded
}

// splitQuery keeps both the raw and decoded forms because the two
// canonicalisation strategies need different ones. Empty elements ("a&&b",
// trailing '&') are skipped, as every SDK and url.ParseQuery do.
func splitQuery(raw string) []queryPair {
	if raw == "" {
		return nil
	}
	pairs := make([]queryPair, 0, strings.Count(raw, "&")+1)
	for piece := range strings.SplitSeq(raw, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		pairs = append(pairs, queryPair{
			rawKey: k, rawValue: v,
			key: queryUnescape(k), value: queryUnescape(v),
		})
	}
	return pairs
}

type kv struct{ k, v string }

func sortKV(list []kv) {
	slices.SortFunc(list, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
}

func joinKV(list []kv) string {
	n := 0
	for _, p := range list {
		n += len(p.k) + len(p.v) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range list {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// canonicalQueryStrict is the textbook SigV4 canonical query (strategy B):
// decode, re-encode with the AWS encoder, sort by key then value. It is what
// botocore, @smithy/signature-v4 and aws-sdk-go-v2 compute, so it is the
// primary form for header-signed requests.
func canonicalQueryStrict(pairs []queryPair, skip string) string {
	list := make([]kv, 0, len(pairs))
	for _, p := range pairs {
		if skip != "" && p.key == skip {
			continue
		}
		list = append(list, kv{awsEncoded(p.key, false), awsEncoded(p.value, false)})
	}
	sortKV(list)
	return joinKV(list)
}

// canonicalQueryRaw is strategy A from websocket-protocol.md §1.4: keep the
// client's own encoding and only sort. The Chime JS SDK signs
// encodeURIComponent output, which leaves !'()* unencoded, so re-encoding
// would produce a different string than the one it signed. A bare "k" is
// rendered "k=", as botocore's raw-URL path and the reference harness do.
func canonicalQueryRaw(pairs []queryPair, skip string) string {
	list := make([]kv, 0, len(pairs))
	for _, p := range pairs {
		if skip != "" && p.key == skip {
			continue
		}
		list = append(list, kv{p.rawKey, p.rawValue})
	}
	sortKV(list)
	return joinKV(list)
}

// requestTarget returns the path and query exactly as they came over the wire.
// RequestURI is preferred over r.URL because middleware may have rewritten
// r.URL, and because r.URL.Path is decoded (a %2F inside an ARN would become a
// separator).
func requestTarget(r *http.Request) (path, query string) {
	uri := r.RequestURI
	if uri != "" && uri != "*" {
		if !strings.HasPrefix(uri, "/") {
			// absolute-form ("GET http://host/p?q HTTP/1.1"): drop scheme and authority.
			if i := strings.Index(uri, "://"); i >= 0 {
				rest := uri[i+3:]
				j := strings.IndexAny(rest, "/?")
				if j < 0 {
					rest = ""
				} else {
					rest = rest[j:]
				}
				uri = rest
			}
		}
		path, query, _ = strings.Cut(uri, "?")
		return path, query
	}
	if r.URL == nil {
		return "", ""
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// canonicalPaths returns the canonical URI as the SDKs compute it: the wire
// path encoded once more (non-S3 "double" encoding). The second, optional
// result is the same after RFC 3986 dot-segment removal and empty-segment
// collapsing, which @smithy/signature-v4, botocore and the AWS test suite
// apply while aws-sdk-go-v2 does not; it is "" when identical to the first.
func canonicalPaths(raw string) (primary, normalized string) {
	if raw == "" {
		raw = "/"
	}
	primary = awsEncoded(raw, true)
	if n := normalizePath(raw); n != raw {
		normalized = awsEncoded(n, true)
	}
	return primary, normalized
}

// normalizePath mirrors @smithy/signature-v4 getCanonicalPath: drop empty and
// "." segments, let ".." pop, keep a leading '/' and keep a trailing '/' only
// when something remains.
func normalizePath(p string) string {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") && !strings.HasPrefix(p, ".") {
		return p
	}
	segs := make([]string, 0, strings.Count(p, "/")+1)
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	var b strings.Builder
	b.Grow(len(p))
	if strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(segs, "/"))
	if len(segs) > 0 && strings.HasSuffix(p, "/") {
		b.WriteByte('/')
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// splitSignedHeaders validates the SignedHeaders list. It returns nil when the
// list is empty or has an empty element, which the callers report as an
// incomplete signature.
func splitSignedHeaders(s string) []string {
	if s == "" {
		return nil
	}
	names := strings.Split(s, ";")
	for _, n := range names {
		if n == "" {
			return nil
		}
	}
	return names
}

func containsFold(list []string, want string) bool {
	for _, s := range list {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// canonicalHeaders builds the header block (one "name:value\n" per signed
// header, in the order the client listed them, since that is the order it
// hashed). Go's server moves Host into r.Host and Transfer-Encoding into
// r.TransferEncoding, and requests built in process (or rewritten by a proxy)
// may lack a Content-Length header while r.ContentLength is set, so those are
// reconstructed from the request fields.
func canonicalHeaders(r *http.Request, names []string) []byte {
	// Room for what SDKs sign (host, date, bearer ARN, token) at once.
	b := make([]byte, 0, 512)
	for _, name := range names {
		b = append(b, name...)
		b = append(b, ':')
		lower := strings.ToLower(name)
		values := headerValues(r.Header, name)
		switch {
		case lower == "host":
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			b = appendTrimmed(b, host)
			values = nil
		case len(values) == 0 && lower == "content-length" && r.ContentLength >= 0:
			b = strconv.AppendInt(b, r.ContentLength, 10)
		case len(values) == 0 && lower == "transfer-encoding" && len(r.TransferEncoding) > 0:
			values = []string{strings.Join(r.TransferEncoding, ",")}
		}
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTrimmed(b, v)
		}
		b = append(b, '\n')
	}
	return b
}

func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if key, ok := canonicalKey(buf[:0], name); ok {
		if v, ok := h[string(key)]; ok {
			return v
		}
	} else if v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v
	}
	// Requests built in memory (tests, proxies) may carry non-canonical keys.
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// canonicalKey appends the canonical MIME form of name (as
// textproto.CanonicalMIMEHeaderKey gives it) when name is made only of
// letters, digits and '-', which is every name SDKs sign, and fits in
// b's capacity; otherwise it reports false.
func canonicalKey(b []byte, name string) ([]byte, bool) {
	if name == "" || len(name) > cap(b) {
		return b, false
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9':
		case c == '-':
		default:
			return b, false
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b, true
}

// appendTrimmed applies SigV4 "trimall": strip the ends and collapse inner runs
// of whitespace to one space. Tabs count as whitespace, as in botocore and
// @smithy/signature-v4 (aws-sdk-go-v2 only collapses spaces; the two agree on
// everything real clients send).
func appendTrimmed(b []byte, v string) []byte {
	v = strings.Trim(v, " \t\r\n")
	if !strings.ContainsAny(v, "\t\r\n") && !strings.Contains(v, "  ") {
		return append(b, v...) // nothing to collapse: the usual case
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return b
}
