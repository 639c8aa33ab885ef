package sigv4

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func suiteVerifier(t *testing.T, token string) *Verifier {
	t.Helper()
	return &Verifier{
		Lookup:  staticLookup(exampleKeyID, exampleSecret, token),
		Service: "service",
		Regions: []string{"us-east-1"},
		Now:     fixedClock(mustTime(t, "20150830T123600Z")),
	}
}

func TestSuiteHeaderSigned(t *testing.T) {
	for _, tc := range suiteCases {
		t.Run(tc.name, func(t *testing.T) {
			v := suiteVerifier(t, tc.token)
			r, body := parseRawRequest(t, tc.headerSigned)

			// The canonical request the suite publishes must be one of the
			// variants we try; otherwise the signature could only match by
			// accident.
			if got := debugHeaderCanonical(t, v, r, body); !slices.Contains(got, tc.headerCanonical) {
				t.Fatalf("canonical request not among variants.\nwant:\n%s\ngot:\n%s", tc.headerCanonical, strings.Join(got, "\n----\n"))
			}
			id, err := v.VerifyRequest(context.Background(), r, body)
			if err != nil {
				t.Fatalf("VerifyRequest: %v", err)
			}
			if id != exampleKeyID {
				t.Fatalf("access key = %q", id)
			}
		})
	}
}

// presignSkips are suite cases VerifyPresigned cannot accept by design.
var presignSkips = map[string]string{
	// The presigned payload hash is sha256 of the body; VerifyPresigned takes
	// no body because the only presigned route (websocket upgrade) has none.
	"post-x-www-form-urlencoded":            "presigned with a body hash",
	"post-x-www-form-urlencoded-parameters": "presigned with a body hash",
	// The token is appended after signing (an S3/IoT convention), so it is
	// not part of the canonical query and cannot be told apart from a
	// parameter an attacker added.
	"post-sts-header-after": "session token appended after signing",
}

func TestSuitePresigned(t *testing.T) {
	for _, tc := range suiteCases {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := presignSkips[tc.name]; ok {
				t.Skip(why)
			}
			v := suiteVerifier(t, tc.token)
			r, _ := parseRawRequest(t, tc.querySigned)
			id, err := v.VerifyPresigned(context.Background(), r)
			if err != nil {
				t.Fatalf("VerifyPresigned: %v", err)
			}
			if id != exampleKeyID {
				t.Fatalf("access key = %q", id)
			}
		})
	}
}

// TestSuiteTampered flips one character of each signed request and expects a
// rejection, so that the positive results above are not vacuous.
func TestSuiteTampered(t *testing.T) {
	for _, tc := range suiteCases {
		t.Run(tc.name, func(t *testing.T) {
			v := suiteVerifier(t, tc.token)
			r, body := parseRawRequest(t, tc.headerSigned)
			r.Header.Set("X-Amz-Date", "20150830T123601Z")
			_, err := v.VerifyRequest(context.Background(), r, body)
			wantKind(t, err, InvalidSignature)
		})
	}
}
