package sigv4

import (
	"strings"
)

const algorithm = "AWS4-HMAC-SHA256"

// authorization holds the three parameters of a SigV4 Authorization header,
// still unvalidated beyond "present and non-empty".
type authorization struct {
	credential    string
	signedHeaders string
	signature     string
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...". SDKs separate the parameters with ", " but hand-written
// clients often use a bare ','; both are accepted, as AWS does. A repeated
// parameter is rejected rather than resolved, so that no two components can
// disagree about which value was meant.
func parseAuthorization(h string) (authorization, *Error) {
	var a authorization
	h = strings.TrimLeft(h, " \t")
	i := strings.IndexAny(h, " \t")
	if i < 0 || h[:i] != algorithm {
		scheme := h
		if i >= 0 {
			scheme = h[:i]
		}
		return a, newError(IncompleteSignature,
			"Authorization header requires the '%s' algorithm, got '%s'.", algorithm, echo(scheme))
	}
	var seen [3]bool
	for part := range strings.SplitSeq(h[i+1:], ",") {
		part = strings.Trim(part, " \t")
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return a, newError(IncompleteSignature,
				"Authorization header parameter '%s' is not of the form Name=Value.", echo(part))
		}
		var idx int
		var dst *string
		switch name {
		case "Credential":
			idx, dst = 0, &a.credential
		case "SignedHeaders":
			idx, dst = 1, &a.signedHeaders
		case "Signature":
			idx, dst = 2, &a.signature
		default:
			// AWS ignores unknown parameters; so do we.
			continue
		}
		if seen[idx] {
			return a, newError(IncompleteSignature,
				"Authorization header has more than one '%s' parameter.", name)
		}
		seen[idx] = true
		*dst = value
	}
	var missing []string
	if a.credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if a.signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return a, &Error{Kind: IncompleteSignature, Message: strings.Join(missing, " ")}
	}
	return a, nil
}

// scope is a parsed credential: "<key id>/<yyyymmdd>/<region>/<service>/aws4_request".
type scope struct {
	accessKeyID, date, region, service, terminator string
}

func (s scope) String() string {
	return string(s.appendString(nil))
}

// appendString appends the credential scope of the string to sign.
func (s scope) appendString(b []byte) []byte {
	b = append(b, s.date...)
	b = append(b, '/')
	b = append(b, s.region...)
	b = append(b, '/')
	b = append(b, s.service...)
	b = append(b, '/')
	return append(b, s.terminator...)
}

func parseCredential(cred string) (scope, *Error) {
	// Exactly five non-empty elements: only the last has no '/' after it.
	var parts [5]string
	rest := cred
	for i := range parts {
		part, after, more := strings.Cut(rest, "/")
		if part == "" || more != (i < len(parts)-1) {
			return scope{}, newError(IncompleteSignature,
				"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", echo(cred))
		}
		parts[i], rest = part, after
	}
	return scope{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}
