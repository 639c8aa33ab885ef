package flows

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var webhookSecret = []byte("whsec-flows-test")

// newWebhookTestInvoker routes testArn to url; Lambda is never used.
func newWebhookTestInvoker(t *testing.T, url string, timeout time.Duration) Invoker {
	t.Helper()
	isolateAWSEnv(t)
	return newTestInvoker(t, Config{
		Region:        "us-east-1",
		Webhooks:      map[string]string{testArn: url},
		WebhookSecret: webhookSecret,
		Timeout:       timeout,
	})
}

func answerStatus(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestWebhookRequest(t *testing.T) {
	srv, seen := recordingServer(t, nil, answerStatus(http.StatusNoContent, ""))
	inv := newWebhookTestInvoker(t, srv.URL+"/hooks/flow?tenant=a", 0)

	before := time.Now().Unix()
	if err := inv.Invoke(context.Background(), testArn, testEvent); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	after := time.Now().Unix()
	got := next(t, seen)

	if got.Method != http.MethodPost || got.Path != "/hooks/flow" {
		t.Errorf("request %s %s, want POST /hooks/flow", got.Method, got.Path)
	}
	if !bytes.Equal(got.Body, testEvent) {
		t.Errorf("body %q, want the exact event", got.Body)
	}
	for name, want := range map[string]string{
		"Content-Type":     "application/json",
		"User-Agent":       "belfry",
		HeaderProcessorArn: testArn,
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	ts, err := strconv.ParseInt(got.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil || ts < before || ts > after {
		t.Errorf("%s = %q, want Unix seconds in [%d, %d]", HeaderTimestamp, got.Header.Get(HeaderTimestamp), before, after)
	}
	if sig := got.Header.Get(HeaderSignature); !regexp.MustCompile(`^v1=[0-9a-f]{64}$`).MatchString(sig) {
		t.Errorf("%s = %q, want v1=<64 hex>", HeaderSignature, sig)
	}
	if err := Verify(webhookSecret, got.Header, got.Body, time.Now(), 0); err != nil {
		t.Errorf("Verify: %v", err)
	}
	// The scheme is documented; check it independently of Verify.
	want := "v1=" + hex.EncodeToString(sign(webhookSecret, got.Header.Get(HeaderTimestamp), testEvent))
	if got.Header.Get(HeaderSignature) != want {
		t.Errorf("signature %q, want %q", got.Header.Get(HeaderSignature), want)
	}
}

func TestWebhookOutcomes(t *testing.T) {
	tests := []struct {
		status        int
		wantErr       bool
		wantPermanent bool
	}{
		{status: 200},
		{status: 202},
		{status: 204},
		{status: 400, wantErr: true, wantPermanent: true},
		{status: 401, wantErr: true, wantPermanent: true},
		{status: 403, wantErr: true, wantPermanent: true},
		{status: 404, wantErr: true, wantPermanent: true},
		{status: 410, wantErr: true, wantPermanent: true},
		{status: 408, wantErr: true},
		{status: 429, wantErr: true},
		{status: 500, wantErr: true},
		{status: 502, wantErr: true},
		{status: 503, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			srv, seen := recordingServer(t, nil, answerStatus(tt.status, "receiver says no"))
			inv := newWebhookTestInvoker(t, srv.URL, 0)
			err := inv.Invoke(context.Background(), testArn, testEvent)
			checkOutcome(t, err, tt.wantErr, tt.wantPermanent)
			next(t, seen)
			none(t, seen)
			if tt.wantErr {
				if msg := err.Error(); !strings.Contains(msg, strconv.Itoa(tt.status)) ||
					!strings.Contains(msg, "receiver says no") || !strings.Contains(msg, testArn) {
					t.Errorf("error %q lacks the status, the answer or the ARN", msg)
				}
			}
		})
	}
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			elsewhere, elsewhereSeen := recordingServer(t, nil, answerStatus(http.StatusOK, ""))
			srv, seen := recordingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL, status)
			})
			inv := newWebhookTestInvoker(t, srv.URL, 0)
			err := inv.Invoke(context.Background(), testArn, testEvent)
			checkOutcome(t, err, true, true)
			next(t, seen)
			none(t, elsewhereSeen)
		})
	}
}

func TestWebhookTransportFailures(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{name: "connection refused", url: refusedURL},
		{name: "attempt timeout", url: func(t *testing.T) string { return blockingServer(t).URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := newWebhookTestInvoker(t, tt.url(t), shortTimeout)
			err := inv.Invoke(context.Background(), testArn, testEvent)
			checkOutcome(t, err, true, false)
		})
	}
}

func TestWebhookRedactsURLPassword(t *testing.T) {
	url := strings.Replace(refusedURL(t), "http://", "http://user:hunter2@", 1)
	inv := newWebhookTestInvoker(t, url, shortTimeout)
	err := inv.Invoke(context.Background(), testArn, testEvent)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Invoke error %v: want an error without the password", err)
	}
}

// signedHeader builds the headers a Belfry webhook request would carry.
func signedHeader(secret []byte, ts int64, body []byte) http.Header {
	stamp := strconv.FormatInt(ts, 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, "v1="+hex.EncodeToString(sign(secret, stamp, body)))
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1735689600, 0)
	good := func() http.Header { return signedHeader(webhookSecret, now.Unix(), testEvent) }
	tests := []struct {
		name      string
		secret    []byte
		header    func() http.Header
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", header: good},
		{name: "valid at the edge of the default tolerance", header: good, now: now.Add(DefaultTolerance)},
		{name: "valid with custom tolerance", header: good, now: now.Add(time.Hour), tolerance: 2 * time.Hour},
		{name: "valid among other entries", header: func() http.Header {
			h := good()
			h.Set(HeaderSignature, "v0=abc, v1="+strings.Repeat("00", 32)+", "+h.Get(HeaderSignature)+",junk")
			return h
		}},
		{name: "valid in a second header line", header: func() http.Header {
			h := good()
			sig := h.Get(HeaderSignature)
			h.Set(HeaderSignature, "v1=deadbeef")
			h.Add(HeaderSignature, sig)
			return h
		}},
		{name: "tampered body", header: good, body: bytes.Replace(testEvent, []byte("hello"), []byte("hellO"), 1),
			want: ErrInvalidSignature},
		{name: "wrong secret", secret: []byte("other"), header: good, want: ErrInvalidSignature},
		{name: "empty secret", secret: []byte{}, header: good, want: ErrInvalidSignature},
		{name: "timestamp changed", header: func() http.Header {
			h := good()
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return h
		}, want: ErrInvalidSignature},
		{name: "old timestamp", header: good, now: now.Add(DefaultTolerance + time.Second), want: ErrTimestampOutOfTolerance},
		{name: "future timestamp", header: good, now: now.Add(-10 * time.Minute), want: ErrTimestampOutOfTolerance},
		{name: "old timestamp, custom tolerance", header: good, now: now.Add(2 * time.Second), tolerance: time.Second,
			want: ErrTimestampOutOfTolerance},
		{name: "missing timestamp", header: func() http.Header {
			h := good()
			h.Del(HeaderTimestamp)
			return h
		}, want: ErrInvalidSignature},
		{name: "two timestamps", header: func() http.Header {
			h := good()
			h.Add(HeaderTimestamp, h.Get(HeaderTimestamp))
			return h
		}, want: ErrInvalidSignature},
		{name: "malformed timestamp", header: func() http.Header {
			h := good()
			h.Set(HeaderTimestamp, "2025-01-01T00:00:00Z")
			return h
		}, want: ErrInvalidSignature},
		{name: "negative timestamp", header: func() http.Header { return signedHeader(webhookSecret, -1, testEvent) },
			want: ErrInvalidSignature},
		{name: "missing signature", header: func() http.Header {
			h := good()
			h.Del(HeaderSignature)
			return h
		}, want: ErrInvalidSignature},
		{name: "unknown scheme only", header: func() http.Header {
			h := good()
			h.Set(HeaderSignature, strings.Replace(h.Get(HeaderSignature), "v1=", "v2=", 1))
			return h
		}, want: ErrInvalidSignature},
		{name: "not hex", header: func() http.Header {
			h := good()
			h.Set(HeaderSignature, "v1=zz"+h.Get(HeaderSignature)[5:])
			return h
		}, want: ErrInvalidSignature},
		{name: "uppercase hex accepted", header: func() http.Header {
			h := good()
			h.Set(HeaderSignature, "v1="+strings.ToUpper(h.Get(HeaderSignature)[3:]))
			return h
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := webhookSecret
			if tt.secret != nil {
				secret = tt.secret
			}
			body := testEvent
			if tt.body != nil {
				body = tt.body
			}
			at := now
			if !tt.now.IsZero() {
				at = tt.now
			}
			err := Verify(secret, tt.header(), body, at, tt.tolerance)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}
