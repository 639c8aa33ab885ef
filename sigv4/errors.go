package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kind is the name of the AWS exception a failure maps to. The transport
// copies it verbatim into x-amzn-ErrorType / the error body, because the AWS
// SDKs pick the exception class from that string.
type Kind string

const (
	// MissingAuthenticationToken: the request carries no Authorization header
	// (VerifyRequest) or no presign query parameters (VerifyPresigned), so it
	// was never signed at all.
	MissingAuthenticationToken Kind = "MissingAuthenticationTokenException"
	// IncompleteSignature: something was signed, but the signature metadata is
	// unusable: malformed Authorization header, missing Credential /
	// SignedHeaders / Signature, a credential scope of the wrong shape, a
	// missing or malformed date, host not among the signed headers, bad
	// X-Amz-Expires.
	IncompleteSignature Kind = "IncompleteSignatureException"
	// InvalidSignature: the metadata is well formed but the signature cannot
	// be accepted: mismatch, date outside the allowed skew or expiry window,
	// scope naming the wrong service or region, payload hash mismatch.
	InvalidSignature Kind = "InvalidSignatureException"
	// UnrecognizedClient: the access key id is unknown, or the session token
	// does not belong to it.
	UnrecognizedClient Kind = "UnrecognizedClientException"
	// ExpiredToken: the session token is genuine but past its expiration.
	// The AWS SDKs know this exception and refresh expiring credentials.
	ExpiredToken Kind = "ExpiredTokenException"
)

// ErrUnknownKey is what a Lookup returns (possibly wrapped) to say "this
// access key / session token pair does not exist", as opposed to a storage
// failure, so that the verifier can answer UnrecognizedClient instead of
// surfacing an internal error.
var ErrUnknownKey = errors.New("sigv4: unknown access key or session token")

// ErrExpiredToken is what a Lookup returns (possibly wrapped) for a session
// token that is genuine but expired.
var ErrExpiredToken = errors.New("sigv4: expired session token")

// Error is the typed authentication failure. Any other error returned by the
// verifier (for example a Lookup storage failure) is an internal error and
// should become a 5xx, not an authentication failure.
//
// Message is safe to send to the client: it never contains the secret, the
// signature the server computed, or the canonical request.
type Error struct {
	Kind    Kind
	Message string
}

// Error prefixes the kind so that logs of a bare error value stay greppable
// by exception name.
func (e *Error) Error() string {
	return string(e.Kind) + ": " + e.Message
}

// HTTPStatus exists so the transport does not have to hard-code the status;
// AWS answers every SigV4 failure with 403.
func (e *Error) HTTPStatus() int {
	return http.StatusForbidden
}

func newError(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

const (
	msgMissingToken  = "Request is missing Authentication Token"
	msgMismatch      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey    = "The security token included in the request is invalid."
	msgExpiredToken  = "The security token included in the request is expired"
	msgHostUnsigned  = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgPayloadHash   = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgPresignParams = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)

// echo makes client-supplied text safe to reflect in a message: AWS quotes the
// offending value back, which is useful to the caller, but we must not let a
// client inject control characters or megabytes into our responses and logs.
func echo(s string) string {
	const limit = 128
	truncated := false
	if len(s) > limit {
		s, truncated = s[:limit], true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\'' {
			b.WriteByte('?')
			continue
		}
		b.WriteByte(c)
	}
	if truncated {
		b.WriteString("...")
	}
	return b.String()
}

// skewText renders the skew the way AWS does ("5 min.") when it is a whole
// number of minutes, so messages look familiar to people who have seen the
// real service reject a request.
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return d.String()
}
