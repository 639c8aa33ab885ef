package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Invoker delivers a processor event.
//
// Invoke makes one delivery attempt of event (the JSON document of
// shared/docs/websocket-protocol.md §5.2) to the processor identified by
// processorArn, bounded by the configured per-attempt timeout and by ctx. It
// returns nil once the processor accepted the event: Lambda answered 2xx
// (202 for InvocationType Event) or the webhook answered 2xx. Any error means
// the event was not (known to be) delivered; the caller retries with backoff
// and applies the FallbackAction when it gives up. Errors for which
// IsPermanent is true will not go away by retrying (unknown function, access
// denied, a 4xx answer other than 408/429), so the caller can give up early.
//
// Implementations are safe for concurrent use.
type Invoker interface {
	Invoke(ctx context.Context, processorArn string, event []byte) error
}

// Config configures the invokers.
type Config struct {
	// LambdaEndpoint is the Lambda API base URL; "" means the standard AWS
	// endpoint of the function's region (or AWS_ENDPOINT_URL_LAMBDA /
	// AWS_ENDPOINT_URL when set in the environment, as for any AWS SDK).
	LambdaEndpoint string
	// Region is used when the processor ARN does not name one; "" falls back
	// to the AWS SDK's region configuration (AWS_REGION, shared config).
	Region string
	// Credentials for Lambda (static access key, secret, optional session
	// token); empty means the AWS SDK default chain (environment, shared
	// config and credentials files, web identity, container and EC2 roles).
	AccessKeyID, SecretAccessKey, SessionToken string
	// Webhooks maps processor ResourceArns to HTTP(S) URLs: events for those
	// processors are POSTed there instead of invoking Lambda. Keys match the
	// processor's ResourceArn exactly (a qualified ARN is another processor).
	Webhooks map[string]string
	// WebhookSecret signs webhook requests (HMAC-SHA256, see the package
	// documentation). Required when Webhooks is not empty.
	WebhookSecret []byte
	// HTTPClient carries both transports; nil means a client with sane
	// timeouts. Webhook requests never follow redirects, whatever the
	// client's CheckRedirect says.
	HTTPClient *http.Client
	// Timeout bounds each attempt; 0 means 10s.
	Timeout time.Duration
}

// DefaultTimeout is the per-attempt timeout used when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// New returns an Invoker that POSTs events for the processors listed in
// cfg.Webhooks to their URLs and invokes every other processor with Lambda.
// It checks the configuration and loads AWS configuration (credentials are
// resolved lazily, at the first Lambda invocation).
func New(ctx context.Context, cfg Config) (Invoker, error) {
	timeout := cfg.Timeout
	switch {
	case timeout < 0:
		return nil, fmt.Errorf("flows: negative Timeout %v", timeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = defaultHTTPClient(timeout)
	}

	webhooks := make(map[string]*webhookInvoker, len(cfg.Webhooks))
	if len(cfg.Webhooks) > 0 && len(cfg.WebhookSecret) == 0 {
		return nil, errors.New("flows: WebhookSecret is required when Webhooks are configured")
	}
	for arn, raw := range cfg.Webhooks {
		if err := validateFunctionArn(arn); err != nil {
			return nil, fmt.Errorf("flows: webhook key%s: %w", quoteArn(arn), err)
		}
		if _, err := validateWebhookURL(raw); err != nil {
			return nil, fmt.Errorf("flows: webhook for %s: %w", arn, err)
		}
		webhooks[arn] = newWebhookInvoker(raw, cfg.WebhookSecret, client, timeout)
	}

	lambda, err := newLambdaInvoker(ctx, cfg, client, timeout)
	if err != nil {
		return nil, err
	}
	return &router{webhooks: webhooks, lambda: lambda}, nil
}

// router picks the transport of each processor.
type router struct {
	webhooks map[string]*webhookInvoker // read-only after New
	lambda   *lambdaInvoker
}

func (r *router) Invoke(ctx context.Context, processorArn string, event []byte) error {
	// Both transports promise the processor a JSON document; a caller bug
	// must not turn into a signed garbage request or a Lambda 400 that is
	// retried for days.
	if !json.Valid(event) {
		return Permanent(errors.New("flows: event is not valid JSON"))
	}
	if w, ok := r.webhooks[processorArn]; ok {
		return w.Invoke(ctx, processorArn, event)
	}
	return r.lambda.Invoke(ctx, processorArn, event)
}

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent lets callers that do not import this package (the messaging
// service) recognise the mark through an interface.
func (e *permanentError) Permanent() bool { return true }

// Permanent marks err so that IsPermanent reports true for it and for any
// error wrapping it; nil stays nil. Other Invoker implementations (test
// fakes, future transports) use it to follow the same contract.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, returned by Invoke, will not go away by
// retrying: the processor does not exist, refuses the caller, or rejects the
// event. The caller can apply the FallbackAction at once.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// defaultHTTPClient bounds every phase of a request so a stuck processor
// costs at most one timeout per attempt.
func defaultHTTPClient(timeout time.Duration) *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else { // replaced by the program; start from the documented defaults
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, MaxIdleConns: 100}
	}
	dialer := &net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	t.DialContext = dialer.DialContext
	t.TLSHandshakeTimeout = min(timeout, 5*time.Second)
	t.ResponseHeaderTimeout = timeout
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t, Timeout: timeout}
}
