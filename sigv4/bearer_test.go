package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const bearerArn = "arn:aws:chime:us-east-1:111122223333:app-instance/a1/user/alice"

func goSigned(t *testing.T, body string, hdr map[string]string, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://127.0.0.1:8400/channels", strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: exampleKeyID, SecretAccessKey: exampleSecret},
		req, hex.EncodeToString(sum[:]), "chime", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	req.RequestURI = req.URL.RequestURI()
	return req
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// The bearer picks whose identity a call acts as: one added after signing
// must be refused, one signed accepted.
func TestBearerMustBeSigned(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	v := &Verifier{Lookup: staticLookup(exampleKeyID, exampleSecret, ""), Service: "chime", Now: fixedClock(now)}
	signedBearer := goSigned(t, "{}", map[string]string{"x-amz-chime-bearer": bearerArn}, now)
	if _, err := v.VerifyRequest(context.Background(), signedBearer, []byte("{}")); err != nil {
		t.Fatalf("signed bearer: %v", err)
	}
	added := goSigned(t, "{}", nil, now)
	added.Header.Set("x-amz-chime-bearer", bearerArn)
	_, err := v.VerifyRequest(context.Background(), added, []byte("{}"))
	if kindOf(err) != IncompleteSignature || !strings.Contains(err.Error(), "x-amz-chime-bearer") {
		t.Fatalf("bearer added after signing: %v", err)
	}
	// Even an empty one: its presence is a claim.
	empty := goSigned(t, "{}", nil, now)
	empty.Header["X-Amz-Chime-Bearer"] = []string{""}
	if _, err := v.VerifyRequest(context.Background(), empty, []byte("{}")); kindOf(err) != IncompleteSignature {
		t.Fatalf("empty unsigned bearer: %v", err)
	}
}

// BeginRequest decides from the headers alone, so the body is never needed
// for an unsigned, malformed, stale or unknown-key request.
func TestBeginRequestNeedsNoBody(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	v := &Verifier{Lookup: staticLookup(exampleKeyID, exampleSecret, ""), Service: "chime", Now: fixedClock(now)}
	unsigned, _ := http.NewRequest("POST", "http://127.0.0.1:8400/channels", nil)
	garbage, _ := http.NewRequest("POST", "http://127.0.0.1:8400/channels", nil)
	garbage.Header.Set("Authorization", "Bearer x")
	unknown := goSigned(t, "{}", nil, now)
	unknown.Header.Set("Authorization", strings.Replace(unknown.Header.Get("Authorization"), exampleKeyID, "AKIDNOBODY", 1))
	tests := []struct {
		name string
		req  *http.Request
		want Kind
	}{
		{"no authorization", unsigned, MissingAuthenticationToken},
		{"garbage", garbage, IncompleteSignature},
		{"unknown key", unknown, UnrecognizedClient},
		{"10 min slow", goSigned(t, "{}", nil, now.Add(-10*time.Minute)), ""},
		{"10 min fast", goSigned(t, "{}", nil, now.Add(10*time.Minute)), ""},
		{"20 min slow", goSigned(t, "{}", nil, now.Add(-20*time.Minute)), InvalidSignature},
		{"20 min fast", goSigned(t, "{}", nil, now.Add(20*time.Minute)), InvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.BeginRequest(context.Background(), tt.req)
			if kindOf(err) != tt.want {
				t.Fatalf("BeginRequest: %v, want %q", err, tt.want)
			}
			if err != nil {
				return
			}
			if _, err := p.Finish([]byte("{}")); err != nil {
				t.Errorf("Finish: %v", err)
			}
			if _, err := p.Finish([]byte("{ }")); kindOf(err) != InvalidSignature {
				t.Errorf("Finish with another body: %v", err)
			}
		})
	}
}

// With X-Amz-Content-Sha256 declared, the signature is checked before the
// body, and the body only has to match the declaration.
func TestBeginRequestDeclaredPayload(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	v := &Verifier{Lookup: staticLookup(exampleKeyID, exampleSecret, ""), Service: "chime", Now: fixedClock(now)}
	sum := sha256.Sum256([]byte("{}"))
	req := goSigned(t, "{}", map[string]string{"X-Amz-Content-Sha256": hex.EncodeToString(sum[:])}, now)
	p, err := v.BeginRequest(context.Background(), req)
	if err != nil || !p.verified {
		t.Fatalf("BeginRequest: %v (verified %v)", err, p != nil && p.verified)
	}
	if _, err := p.Finish([]byte("{x}")); kindOf(err) != InvalidSignature || !strings.Contains(err.Error(), "x-amz-content-sha256") {
		t.Errorf("body not matching the declared hash: %v", err)
	}
}
