package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Lookup returns the secret for an access key id. sessionToken is the
// X-Amz-Security-Token presented ("" if none); return ErrUnknownKey (wrapped
// or not) for an unknown key or a token that does not match. Any other error
// is treated as an internal failure and returned to the caller unchanged
// (wrapped), so a storage outage is never reported to clients as bad
// credentials.
type Lookup func(ctx context.Context, accessKeyID, sessionToken string) (secret string, err error)

// Verifier checks AWS Signature Version 4 on incoming requests. Configure it
// once and share it; it is safe for concurrent use. It must not be copied
// after first use because it owns the signing-key cache.
type Verifier struct {
	// Lookup resolves access keys; required.
	Lookup Lookup
	// Service is the credential-scope service every request must name
	// ("chime" for both the REST APIs and the messaging websocket). An empty
	// Service matches nothing, so a misconfigured verifier fails closed.
	Service string
	// Regions lists the accepted credential-scope regions; empty accepts any,
	// which suits a single-tenant emulator where clients pick an arbitrary
	// region just to satisfy their SDK.
	Regions []string
	// MaxSkew is the tolerated clock difference between client and server
	// for header-signed requests and for the start of a presigned URL's
	// validity; zero or negative means 15 minutes, AWS's own tolerance.
	MaxSkew time.Duration
	// PresignGrace is how long after X-Amz-Date + X-Amz-Expires a presigned
	// URL is still accepted; zero or negative means DefaultPresignGrace, and
	// it is capped at one minute. AWS refuses an expired URL outright; the
	// grace only absorbs the network delay of a URL signed with a very short
	// expiry (amazon-chime-sdk-js presigns /connect for 10 s).
	PresignGrace time.Duration
	// Now replaces time.Now so tests can pin the clock; nil means time.Now.
	Now func() time.Time

	keys keyCache
}

const (
	amzDateFormat      = "20060102T150405Z"
	emptySHA256        = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload    = "UNSIGNED-PAYLOAD"
	maxPresignExpiry   = 604800 // one week, the SigV4 limit
	defaultMaxSkew     = 15 * time.Minute
	maxPresignGrace    = time.Minute
	terminator         = "aws4_request"
	signatureHexLength = 64
)

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// DefaultPresignGrace is the tolerance past a presigned URL's expiry.
const DefaultPresignGrace = 30 * time.Second

func (v *Verifier) grace() time.Duration {
	switch g := v.PresignGrace; {
	case g <= 0:
		return DefaultPresignGrace
	case g > maxPresignGrace:
		return maxPresignGrace
	default:
		return g
	}
}

func (v *Verifier) skew() time.Duration {
	if v.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return v.MaxSkew
}

// canonicalInput is everything needed to rebuild the string to sign. Paths,
// queries and payloads hold the acceptable variants, preferred first: real
// clients disagree on path normalisation and query encoding, and each variant
// is something a mainstream signer really produces for the same request.
type canonicalInput struct {
	method        string
	paths         variants
	queries       variants
	payloads      variants
	headers       []byte // "name:value\n" lines
	signedHeaders string
	amzDate       string
	scope         scope
}

// variants is a short list of distinct strings, kept inline so that a
// request's verification does not allocate one slice per list.
type variants struct {
	v [2]string
	n int
}

func variantsOf(list ...string) variants {
	var vs variants
	for _, s := range list {
		vs.add(s)
	}
	return vs
}

// add appends s unless it is already listed.
func (vs *variants) add(s string) {
	for _, have := range vs.v[:vs.n] {
		if have == s {
			return
		}
	}
	vs.v[vs.n] = s
	vs.n++
}

func (vs *variants) list() []string { return vs.v[:vs.n] }

// canonicalBufs recycles the buffers the canonical request and the string
// to sign are built in: every request needs one, and none outlives it.
var canonicalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (in *canonicalInput) appendCanonicalRequest(b []byte, path, query, payload string) []byte {
	b = append(b, in.method...)
	b = append(b, '\n')
	b = appendAWSEncoded(b, path, true)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	b = append(b, in.headers...)
	b = append(b, '\n')
	b = append(b, in.signedHeaders...)
	b = append(b, '\n')
	return append(b, payload...)
}

// signature computes the request's signature for one variant into out.
func (in *canonicalInput) signature(out *[sha256.Size]byte, key []byte, path, query, payload string) {
	bp := canonicalBufs.Get().(*[]byte)
	b := in.appendCanonicalRequest((*bp)[:0], path, query, payload)
	sum := sha256.Sum256(b)

	// The string to sign goes after a block's room for HMAC's inner pad.
	b = append(b[:0], make([]byte, sha256.BlockSize)...)
	b = append(b, algorithm...)
	b = append(b, '\n')
	b = append(b, in.amzDate...)
	b = append(b, '\n')
	b = in.scope.appendString(b)
	b = append(b, '\n')
	b = hex.AppendEncode(b, sum[:])
	*out = hmacSHA256Padded(key, b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		canonicalBufs.Put(bp)
	}
}

// hmacSHA256Padded is HMAC-SHA256 (RFC 2104) of buf[BlockSize:] without
// the allocations of crypto/hmac; buf's first block is overwritten with
// the inner pad. key must be at most a block long (signing keys are 32
// bytes).
func hmacSHA256Padded(key, buf []byte) [sha256.Size]byte {
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
		outer[i] = k ^ 0x5c
	}
	inner := sha256.Sum256(buf)
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// matches tries every variant. Each comparison is constant-time; the loop
// exits early, which reveals only which (public) canonical form matched.
func (in *canonicalInput) matches(key, sig []byte) bool {
	var got [sha256.Size]byte
	for _, p := range in.paths.list() {
		for _, q := range in.queries.list() {
			for _, pl := range in.payloads.list() {
				in.signature(&got, key, p, q, pl)
				if hmac.Equal(got[:], sig) {
					return true
				}
			}
		}
	}
	return false
}

// pathVariants lists the wire path and, when it differs, its normalised
// form (see canonicalPaths), still unencoded: the canonical request
// encodes them as it is written, with no string of their own.
func pathVariants(rawPath string) variants {
	if rawPath == "" {
		rawPath = "/"
	}
	return variantsOf(rawPath, normalizePath(rawPath))
}

// signed is the result of the parsing phase shared by both entry points.
type signed struct {
	scope     scope
	token     string
	signature string
	in        canonicalInput
	// claimed is the X-Amz-Content-Sha256 of a header-signed request: ""
	// (absent), UNSIGNED-PAYLOAD, or a hex digest still to be compared
	// with the body.
	claimed string
}

// VerifyRequest checks a header-signed request (Authorization:
// AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...). body is
// the full request body already read by the caller (the caller bounds its
// size). Returns the access key id on success; on failure the error is an
// *Error for anything the client did wrong, or a wrapped Lookup error.
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request, body []byte) (accessKeyID string, err error) {
	p, err := v.BeginRequest(ctx, r)
	if err != nil {
		return "", err
	}
	return p.Finish(body)
}

// Pending is a header-signed request whose headers have passed every check
// that does not need the body: the Authorization syntax, the date and its
// skew, the scope, the signed-header rules and the access key (and session
// token). When the client declared the payload hash (X-Amz-Content-Sha256)
// the signature itself has been checked too, and only the body's hash
// remains.
type Pending struct {
	s        *signed
	key      []byte
	verified bool // the signature matched over the claimed payload hash
}

// AccessKeyID is the key the request is signed with (known, not yet proven
// unless the whole request is verified).
func (p *Pending) AccessKeyID() string { return p.s.scope.accessKeyID }

// SessionToken is the X-Amz-Security-Token the request carries, if any.
func (p *Pending) SessionToken() string { return p.s.token }

// BeginRequest checks everything about a header-signed request that the
// headers alone decide, so that a server can refuse an unsigned, malformed
// or unknown-key request before reading (and waiting for) its body. Finish
// completes the verification with the body.
func (v *Verifier) BeginRequest(ctx context.Context, r *http.Request) (*Pending, error) {
	s, e := v.parseHeaderSigned(r)
	if e != nil {
		return nil, e
	}
	key, err := v.signingKey(ctx, s)
	if err != nil {
		return nil, err
	}
	p := &Pending{s: s, key: key}
	if s.claimed != "" {
		// The signature covers the declared hash, so it can be checked now;
		// Finish then only compares the body with the declaration.
		// A mismatch is left to Finish, which reports a wrong declared
		// hash before a wrong signature, as AWS does.
		s.in.payloads = variantsOf(s.claimed)
		p.verified = p.match() == nil
	}
	return p, nil
}

// Finish verifies the body against the signature (or against the declared
// payload hash) and returns the access key id.
func (p *Pending) Finish(body []byte) (string, error) {
	sum := sha256.Sum256(body)
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	switch {
	case p.s.claimed == unsignedPayload:
	case p.s.claimed != "":
		if p.s.claimed != string(hexSum[:]) {
			return "", &Error{Kind: InvalidSignature, Message: msgPayloadHash}
		}
		p.s.in.payloads = variantsOf(p.s.claimed)
	default:
		p.s.in.payloads = variantsOf(string(hexSum[:]))
	}
	if !p.verified {
		if err := p.match(); err != nil {
			return "", err
		}
	}
	return p.s.scope.accessKeyID, nil
}

func (p *Pending) match() error {
	sig, ok := decodeSignature(p.s.signature)
	if !ok || !p.s.in.matches(p.key, sig[:]) {
		return &Error{Kind: InvalidSignature, Message: msgMismatch}
	}
	return nil
}

// VerifyPresigned checks a presigned URL request (query X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Signature, optional X-Amz-Security-Token), such as the messaging
// websocket upgrade. The payload is taken to be empty, which is what every
// presigner signs for a GET. Returns the access key id.
func (v *Verifier) VerifyPresigned(ctx context.Context, r *http.Request) (accessKeyID string, err error) {
	s, e := v.parsePresigned(r)
	if e != nil {
		return "", e
	}
	return v.finish(ctx, s)
}

// finish does the steps that need the secret. Unknown keys are reported
// before the signature is even computed, as AWS does.
func (v *Verifier) finish(ctx context.Context, s *signed) (string, error) {
	key, err := v.signingKey(ctx, s)
	if err != nil {
		return "", err
	}
	p := &Pending{s: s, key: key}
	if err := p.match(); err != nil {
		return "", err
	}
	return s.scope.accessKeyID, nil
}

// signingKey looks the access key up and derives the day's signing key.
func (v *Verifier) signingKey(ctx context.Context, s *signed) ([]byte, error) {
	if v.Lookup == nil {
		return nil, errors.New("sigv4: Verifier.Lookup is nil")
	}
	secret, err := v.Lookup(ctx, s.scope.accessKeyID, s.token)
	if err != nil {
		switch {
		case errors.Is(err, ErrExpiredToken):
			return nil, &Error{Kind: ExpiredToken, Message: msgExpiredToken}
		case errors.Is(err, ErrUnknownKey):
			return nil, &Error{Kind: UnrecognizedClient, Message: msgUnknownKey}
		}
		return nil, fmt.Errorf("sigv4: credential lookup: %w", err)
	}
	return v.keys.get(secret, s.scope.date, s.scope.region, s.scope.service), nil
}

// decodeSignature accepts upper-case hex too; it only widens what a client
// may type, not what it can forge.
func decodeSignature(s string) (sig [signatureHexLength / 2]byte, ok bool) {
	if len(s) != signatureHexLength {
		return sig, false
	}
	for i := range sig {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return sig, false
		}
		sig[i] = hi<<4 | lo
	}
	return sig, true
}

// singleHeader rejects repeated security-relevant headers instead of picking
// one, because Go joins repeated values with ',' when canonicalising and a
// handler reading Header.Get would see a different value than the signer.
func singleHeader(h http.Header, name string) (string, *Error) {
	vals := h.Values(name)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", newError(IncompleteSignature, "The '%s' header must appear only once.", name)
}

// parseAmzDate reads the ISO-8601 basic form, "20060102T150405Z",
// accepting exactly what time.Parse(amzDateFormat, s) accepts (digits in
// every field, each field in its range, a day that exists in its month)
// without time.Parse's general layout walk.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateFormat) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(4, 2)
	d, ok3 := num(6, 2)
	h, ok4 := num(9, 2)
	mi, ok5 := num(11, 2)
	sec, ok6 := num(13, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 31 April, 29 February of a common year
		return time.Time{}, false
	}
	return t, true
}

// requestDate returns the timestamp the client signed, in the ISO-8601 basic
// form the string to sign uses even when the client sent only a Date header.
func requestDate(h http.Header) (amzDate string, at time.Time, e *Error) {
	xd, e := singleHeader(h, "X-Amz-Date")
	if e != nil {
		return "", time.Time{}, e
	}
	if xd != "" {
		t, ok := parseAmzDate(xd)
		if !ok {
			return "", time.Time{}, newError(IncompleteSignature,
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", echo(xd))
		}
		return xd, t, nil
	}
	d, e := singleHeader(h, "Date")
	if e != nil {
		return "", time.Time{}, e
	}
	if d == "" {
		return "", time.Time{}, newError(IncompleteSignature,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	t, ok := parseAmzDate(d)
	if !ok {
		var err error
		if t, err = http.ParseTime(d); err != nil {
			return "", time.Time{}, newError(IncompleteSignature,
				"Date must be in ISO-8601 'basic format' or RFC 1123. Got '%s'.", echo(d))
		}
	}
	t = t.UTC()
	return t.Format(amzDateFormat), t, nil
}

// checkScope compares the credential scope with the request date and the
// verifier's configuration; messages follow the real service's wording.
func (v *Verifier) checkScope(sc scope, amzDate string) *Error {
	if sc.date != amzDate[:8] {
		return newError(InvalidSignature,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			echo(sc.date), amzDate[:8], amzDate)
	}
	if len(v.Regions) > 0 && !slices.Contains(v.Regions, sc.region) {
		return newError(InvalidSignature, "Credential should be scoped to a valid region, not '%s'.", echo(sc.region))
	}
	if v.Service == "" || sc.service != v.Service {
		return newError(InvalidSignature, "Credential should be scoped to correct service: '%s'.", echo(v.Service))
	}
	if sc.terminator != terminator {
		return newError(InvalidSignature,
			"Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, echo(sc.terminator))
	}
	return nil
}

// checkWindow enforces notBefore - skew <= now <= notAfter + lateBy. For
// header signing both bounds are the signing time and lateBy is the skew;
// for presigned URLs notAfter adds X-Amz-Expires and lateBy is the grace.
func (v *Verifier) checkWindow(notBefore, notAfter time.Time, lateBy time.Duration) *Error {
	now := v.now().UTC()
	skew := v.skew()
	if earliest := now.Add(-lateBy); notAfter.Before(earliest) {
		if lateBy != skew {
			return newError(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s)",
				notAfter.Format(amzDateFormat), earliest.Format(amzDateFormat), now.Format(amzDateFormat), skewText(lateBy))
		}
		return newError(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s)",
			notAfter.Format(amzDateFormat), earliest.Format(amzDateFormat), now.Format(amzDateFormat), skewText(skew))
	}
	if latest := now.Add(skew); notBefore.After(latest) {
		return newError(InvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s)",
			notBefore.Format(amzDateFormat), latest.Format(amzDateFormat), now.Format(amzDateFormat), skewText(skew))
	}
	return nil
}

func (v *Verifier) parseHeaderSigned(r *http.Request) (*signed, *Error) {
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 || (len(authz) == 1 && strings.TrimSpace(authz[0]) == "") {
		return nil, &Error{Kind: MissingAuthenticationToken, Message: msgMissingToken}
	}
	if len(authz) > 1 {
		return nil, newError(IncompleteSignature, "The 'Authorization' header must appear only once.")
	}
	a, e := parseAuthorization(authz[0])
	if e != nil {
		return nil, e
	}
	sc, e := parseCredential(a.credential)
	if e != nil {
		return nil, e
	}
	amzDate, at, e := requestDate(r.Header)
	if e != nil {
		return nil, e
	}
	if e := v.checkScope(sc, amzDate); e != nil {
		return nil, e
	}
	if e := v.checkWindow(at, at, v.skew()); e != nil {
		return nil, e
	}
	names := splitSignedHeaders(a.signedHeaders)
	if names == nil {
		return nil, newError(IncompleteSignature, "Authorization header has a malformed 'SignedHeaders' parameter: '%s'.", echo(a.signedHeaders))
	}
	if !containsFold(names, "host") {
		return nil, &Error{Kind: IncompleteSignature, Message: msgHostUnsigned}
	}
	token, e := singleHeader(r.Header, "X-Amz-Security-Token")
	if e != nil {
		return nil, e
	}
	if e := checkBearerSigned(r.Header, names); e != nil {
		return nil, e
	}
	claimed, e := singleHeader(r.Header, "X-Amz-Content-Sha256")
	if e != nil {
		return nil, e
	}
	if claimed != "" && claimed != unsignedPayload {
		if _, ok := decodeSignature(claimed); !ok || strings.ToLower(claimed) != claimed { // a lower-case SHA-256 hex digest
			return nil, &Error{Kind: InvalidSignature, Message: msgPayloadHash}
		}
	}

	rawPath, rawQuery := requestTarget(r)
	pairs := splitQuery(rawQuery)
	return &signed{
		scope:     sc,
		token:     token,
		signature: a.signature,
		in: canonicalInput{
			method: r.Method,
			paths:  pathVariants(rawPath),
			// Strict re-encoding is what every AWS SDK signs; the raw form
			// covers hand-rolled signers that, like the Chime JS websocket
			// signer, sign their own encoding.
			queries:       variantsOf(canonicalQueryStrict(pairs, ""), canonicalQueryRaw(pairs, "")),
			headers:       canonicalHeaders(r, names),
			signedHeaders: a.signedHeaders,
			amzDate:       amzDate,
			scope:         sc,
		},
		claimed: claimed,
	}, nil
}

// presignParams are the query parameters that drive presigned verification;
// each may appear at most once.
var presignParams = [...]string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
}

func (v *Verifier) parsePresigned(r *http.Request) (*signed, *Error) {
	rawPath, rawQuery := requestTarget(r)
	pairs := splitQuery(rawQuery)

	var vals [len(presignParams)]string
	var seen [len(presignParams)]bool
	for _, p := range pairs {
		i := slices.Index(presignParams[:], p.key)
		if i < 0 {
			continue
		}
		if seen[i] {
			return nil, newError(IncompleteSignature, "Query-string parameter '%s' must appear only once.", p.key)
		}
		seen[i], vals[i] = true, p.value
	}
	alg, cred, date, expires, signedHeaders, sig, token, claimed :=
		vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7]
	if !seen[0] && !seen[1] && !seen[5] {
		return nil, &Error{Kind: MissingAuthenticationToken, Message: msgMissingToken}
	}
	if alg == "" || cred == "" || date == "" || expires == "" || signedHeaders == "" || sig == "" {
		return nil, &Error{Kind: IncompleteSignature, Message: msgPresignParams}
	}
	if alg != algorithm {
		return nil, newError(IncompleteSignature, "X-Amz-Algorithm only supports \"%s\"", algorithm)
	}
	sc, e := parseCredential(cred)
	if e != nil {
		return nil, e
	}
	at, ok := parseAmzDate(date)
	if !ok {
		return nil, newError(IncompleteSignature,
			"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '%s'.", echo(date))
	}
	lifetime, e := parseExpires(expires)
	if e != nil {
		return nil, e
	}
	if e := v.checkScope(sc, date); e != nil {
		return nil, e
	}
	if e := v.checkWindow(at, at.Add(lifetime), v.grace()); e != nil {
		return nil, e
	}
	names := splitSignedHeaders(signedHeaders)
	if names == nil {
		return nil, newError(IncompleteSignature, "X-Amz-SignedHeaders is malformed: '%s'.", echo(signedHeaders))
	}
	if !containsFold(names, "host") {
		return nil, &Error{Kind: IncompleteSignature, Message: msgHostUnsigned}
	}
	if e := checkBearerSigned(r.Header, names); e != nil {
		return nil, e
	}
	payloads := variantsOf(emptySHA256, unsignedPayload)
	switch claimed {
	case "":
	case emptySHA256, unsignedPayload:
		payloads = variantsOf(claimed)
	default:
		return nil, &Error{Kind: InvalidSignature, Message: msgPayloadHash}
	}

	const skip = "X-Amz-Signature"
	return &signed{
		scope:     sc,
		token:     token,
		signature: sig,
		in: canonicalInput{
			method:        r.Method,
			paths:         pathVariants(rawPath),
			queries:       variantsOf(canonicalQueryRaw(pairs, skip), canonicalQueryStrict(pairs, skip)),
			payloads:      payloads,
			headers:       canonicalHeaders(r, names),
			signedHeaders: signedHeaders,
			amzDate:       date,
			scope:         sc,
		},
	}, nil
}

// parseExpires accepts only plain decimal seconds in 1..604800; signs, spaces
// and '+' are refused so that the value the signer saw and the value we
// enforce cannot differ.
func parseExpires(s string) (time.Duration, *Error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return 0, newError(IncompleteSignature, "X-Amz-Expires should be a number, got '%s'.", echo(s))
		}
	}
	s = strings.TrimLeft(s, "0")
	n := 0
	if len(s) > 7 {
		n = maxPresignExpiry + 1
	} else {
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
	}
	switch {
	case n < 1:
		return 0, newError(IncompleteSignature, "X-Amz-Expires must be at least 1 second")
	case n > maxPresignExpiry:
		return 0, newError(IncompleteSignature, "X-Amz-Expires must be less than a week (in seconds) that is %d", maxPresignExpiry)
	}
	return time.Duration(n) * time.Second, nil
}

// checkBearerSigned refuses a request that carries x-amz-chime-bearer
// without signing it: the bearer chooses whose identity a call acts as, so
// a header added after signing (by a proxy, a script, an attacker replaying
// a captured request) must not be able to change it.
func checkBearerSigned(h http.Header, signedNames []string) *Error {
	if _, ok := h["X-Amz-Chime-Bearer"]; ok && !containsFold(signedNames, bearerHeader) {
		return newError(IncompleteSignature, "There were headers present in the request which were not signed: %s", bearerHeader)
	}
	return nil
}

const bearerHeader = "x-amz-chime-bearer"
