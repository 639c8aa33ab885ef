package flows

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook request headers; see the package documentation.
const (
	HeaderTimestamp    = "X-Belfry-Timestamp"
	HeaderSignature    = "X-Belfry-Signature"
	HeaderProcessorArn = "X-Belfry-Processor-Arn"
)

// DefaultTolerance is the timestamp tolerance Verify applies when given a
// tolerance of zero or less.
const DefaultTolerance = 5 * time.Minute

// Verification errors; Verify wraps them with details.
var (
	// ErrInvalidSignature: the signature or timestamp header is missing or
	// malformed, or no v1 signature matches the body.
	ErrInvalidSignature = errors.New("flows: invalid webhook signature")
	// ErrTimestampOutOfTolerance: the signature is genuine but the request is
	// older (or newer) than the tolerance allows, e.g. a replay.
	ErrTimestampOutOfTolerance = errors.New("flows: webhook timestamp outside tolerance")
)

const signatureScheme = "v1"

// maxTimestamp keeps time arithmetic far from overflow (year 36812).
const maxTimestamp = 1 << 40

// webhookInvoker POSTs events to one URL.
type webhookInvoker struct {
	// subjectHeader carries Invoke's ARN argument: HeaderProcessorArn
	// for processors.
	subjectHeader string
	url           string
	secret        []byte
	client        *http.Client
	timeout       time.Duration
	now           func() time.Time
}

func newWebhookInvoker(url string, secret []byte, client *http.Client, timeout time.Duration) *webhookInvoker {
	// A shallow copy shares the transport (and its connection pool) but gets
	// its own redirect policy: the signed event goes to the configured URL
	// only, and 301/302 would turn the POST into a body-less GET anyway.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhookInvoker{
		subjectHeader: HeaderProcessorArn,
		url:           url,
		secret:        bytes.Clone(secret),
		client:        &c,
		timeout:       timeout,
		now:           time.Now,
	}
}

func (w *webhookInvoker) Invoke(ctx context.Context, processorArn string, event []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(event))
	if err != nil {
		return Permanent(fmt.Errorf("flows: webhook for %s: %w", processorArn, err))
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "belfry")
	req.Header.Set(w.subjectHeader, processorArn)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, signatureScheme+"="+hex.EncodeToString(sign(w.secret, ts, event)))

	resp, err := w.client.Do(req)
	if err != nil {
		// The client already strips passwords from URLs in its errors.
		return fmt.Errorf("flows: webhook for %s: %w", processorArn, err)
	}
	defer func() {
		// Drain a little so the connection can be reused, not a hostile
		// endless body.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("flows: webhook for %s: %s%s", processorArn, resp.Status, bodySnippet(resp.Body))
	if permanentStatus(resp.StatusCode) {
		return Permanent(err)
	}
	return err
}

// NewWebhook returns an Invoker that POSTs documents to url, signed with
// secret exactly as processor webhooks are (Verify checks them), naming
// Invoke's ARN argument in the subjectHeader header. Other Belfry
// deliveries (push notifications, streaming records) use it. Errors
// follow the Invoker contract: 4xx answers other than 408 and 429 are
// permanent.
func NewWebhook(url string, secret []byte, subjectHeader string, timeout time.Duration) (Invoker, error) {
	if len(secret) == 0 {
		return nil, errors.New("flows: a webhook needs a secret")
	}
	if _, err := validateWebhookURL(url); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	w := newWebhookInvoker(url, secret, defaultHTTPClient(timeout), timeout)
	if subjectHeader != "" {
		w.subjectHeader = subjectHeader
	}
	return w, nil
}

// bodySnippet returns the start of an error answer for the error message,
// so operators see why the receiver refused without logging megabytes.
func bodySnippet(r io.Reader) string {
	const limit = 256
	b, _ := io.ReadAll(io.LimitReader(r, limit+1))
	truncated := len(b) > limit
	if truncated {
		b = b[:limit]
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), string(utf8.RuneError)))
	if s == "" {
		return ""
	}
	if truncated {
		s += "..."
	}
	return ": " + strconv.Quote(s)
}

// sign computes HMAC-SHA256(secret, timestamp + "." + body).
func sign(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the signature headers of a webhook request against secret:
// some v1 entry of X-Belfry-Signature must equal the HMAC of the
// X-Belfry-Timestamp value and body (compared in constant time), and the
// timestamp must lie within tolerance of now (DefaultTolerance when tolerance
// is zero or less). body must be the raw request body. The error wraps
// ErrInvalidSignature or ErrTimestampOutOfTolerance.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrInvalidSignature)
	}
	stamps := header.Values(HeaderTimestamp)
	if len(stamps) != 1 {
		return fmt.Errorf("%w: want exactly one %s header, got %d", ErrInvalidSignature, HeaderTimestamp, len(stamps))
	}
	ts, err := strconv.ParseInt(stamps[0], 10, 64)
	if err != nil || ts < 0 || ts > maxTimestamp {
		return fmt.Errorf("%w: malformed %s", ErrInvalidSignature, HeaderTimestamp)
	}

	want := sign(secret, stamps[0], body)
	matched := false
	for _, value := range header.Values(HeaderSignature) {
		for entry := range strings.SplitSeq(value, ",") {
			scheme, sig, ok := strings.Cut(strings.TrimSpace(entry), "=")
			if !ok || scheme != signatureScheme {
				continue
			}
			got, err := hex.DecodeString(sig)
			if err != nil {
				continue
			}
			// No early exit: the time taken does not depend on which
			// entry matched.
			if hmac.Equal(got, want) {
				matched = true
			}
		}
	}
	if !matched {
		return fmt.Errorf("%w: no matching %s entry in %s", ErrInvalidSignature, signatureScheme, HeaderSignature)
	}

	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(ts, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: timestamp is %v away from now, tolerance %v", ErrTimestampOutOfTolerance, skew.Truncate(time.Second), tolerance)
	}
	return nil
}
