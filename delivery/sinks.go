package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/pinpoint"
	ptypes "github.com/aws/aws-sdk-go-v2/service/pinpoint/types"
	"github.com/aws/smithy-go"

	"github.com/belfryhq/belfry/flows"
	"github.com/belfryhq/belfry/store"
)

// Webhook headers naming what a push or streaming webhook request is
// about; the requests are signed as channel-flow webhooks are
// (flows.Verify checks them).
const (
	HeaderChannelArn = "X-Belfry-Channel-Arn"
	HeaderStreamArn  = "X-Belfry-Stream-Arn"
)

// DefaultTimeout bounds one attempt of the built-in sinks.
const DefaultTimeout = 10 * time.Second

// permanent marks an error that retrying will not fix.
type permanent struct{ error }

func (permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error { return p.error }

// webhookSink POSTs each delivery's document to one URL.
type webhookSink struct {
	url     string
	inv     flows.Invoker
	subject func(store.Delivery) string
}

// NewPushWebhook returns a Sink that POSTs each push notification (one
// device) to url, signed with secret, naming the channel in
// X-Belfry-Channel-Arn.
func NewPushWebhook(url string, secret []byte) (Sink, error) {
	inv, err := flows.NewWebhook(url, secret, HeaderChannelArn, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &webhookSink{url: url, inv: inv, subject: func(d store.Delivery) string { return d.ChannelArn }}, nil
}

// NewStreamWebhook returns a Sink that POSTs each streaming record to
// url, signed with secret, naming the configured stream in
// X-Belfry-Stream-Arn.
func NewStreamWebhook(url string, secret []byte) (Sink, error) {
	inv, err := flows.NewWebhook(url, secret, HeaderStreamArn, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	return &webhookSink{url: url, inv: inv, subject: func(d store.Delivery) string { return d.Target }}, nil
}

func (w *webhookSink) Deliver(ctx context.Context, d store.Delivery) error {
	return w.inv.Invoke(ctx, w.subject(d), []byte(d.Body))
}

func (w *webhookSink) Target(store.Delivery) string { return redactURL(w.url) }

// redactURL drops a URL's user information, which may hold a password.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			return u[:i+3] + rest[at+1:]
		}
	}
	return u
}

// AWSConfig configures the AWS sinks: an endpoint (any compatible
// service; "" for the standard AWS endpoint of the target's region) and
// the default region. Credentials come from the AWS SDK's default chain.
type AWSConfig struct {
	Endpoint string
	Region   string
}

func loadAWS(ctx context.Context, c AWSConfig) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("delivery: loading AWS configuration: %w", err)
	}
	if c.Endpoint != "" {
		cfg.Credentials = aws.NewCredentialsCache(fallbackCredentials{chain: cfg.Credentials})
	}
	cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	// One attempt per Deliver: the Worker owns retries and backoff.
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	cfg.AppID = "belfry"
	return cfg, nil
}

// fallbackCredentials are the default chain's, or, when it has none,
// placeholder keys: a self-hosted Pinpoint or Kinesis stand-in often checks
// no signature, and its operator should not have to invent AWS keys. Only
// used with an explicit endpoint; the real AWS endpoints get the chain's
// error.
type fallbackCredentials struct{ chain aws.CredentialsProvider }

func (f fallbackCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if f.chain != nil {
		if c, err := f.chain.Retrieve(ctx); err == nil {
			return c, nil
		}
	}
	return aws.Credentials{AccessKeyID: "belfry", SecretAccessKey: "belfry", Source: "belfry placeholder (no AWS credentials configured)"}, nil
}

// arnField returns the n-th colon-separated field of an ARN ("" if none).
func arnField(arn string, n int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[n]
}

// classify marks AWS errors retrying cannot fix as permanent: invalid
// parameters and 4xx answers other than 408, 429 and throttling.
func classify(err error) error {
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return permanent{err}
	}
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) {
		return err
	}
	status := resp.HTTPStatusCode()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorCode(), "Throttl") {
		return err
	}
	if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return permanent{err}
	}
	return err
}

// pushDocument is the part of a queued push (service.PushDocument) the
// Pinpoint sink needs.
type pushDocument struct {
	Type                 string            `json:"Type"`
	ResourceArn          string            `json:"ResourceArn"`
	DeviceToken          string            `json:"DeviceToken"`
	VoipDeviceToken      string            `json:"VoipDeviceToken"`
	Title                string            `json:"Title"`
	Body                 string            `json:"Body"`
	PushNotificationType string            `json:"PushNotificationType"`
	Data                 map[string]string `json:"Data"`
}

// pinpointSink sends pushes with Amazon Pinpoint SendMessages.
type pinpointSink struct {
	client *pinpoint.Client
}

// NewPinpoint returns a Sink that sends each push with Pinpoint
// SendMessages to the application its endpoint's ResourceArn names.
func NewPinpoint(ctx context.Context, c AWSConfig) (Sink, error) {
	cfg, err := loadAWS(ctx, c)
	if err != nil {
		return nil, err
	}
	client := pinpoint.NewFromConfig(cfg, func(o *pinpoint.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &pinpointSink{client: client}, nil
}

func (p *pinpointSink) Target(d store.Delivery) string {
	var doc pushDocument
	_ = json.Unmarshal([]byte(d.Body), &doc)
	return "pinpoint " + doc.ResourceArn
}

// pinpointChannel is the Pinpoint channel of an endpoint type and push
// type: VOIP pushes to APNs go to its VoIP channels.
func pinpointChannel(endpointType, pushType string) ptypes.ChannelType {
	voip := pushType == "VOIP"
	switch {
	case endpointType == "APNS" && voip:
		return ptypes.ChannelTypeApnsVoip
	case endpointType == "APNS_SANDBOX" && voip:
		return ptypes.ChannelTypeApnsVoipSandbox
	case endpointType == "APNS_SANDBOX":
		return ptypes.ChannelTypeApnsSandbox
	case endpointType == "GCM":
		return ptypes.ChannelTypeGcm
	}
	return ptypes.ChannelTypeApns
}

func (p *pinpointSink) Deliver(ctx context.Context, d store.Delivery) error {
	var doc pushDocument
	if err := json.Unmarshal([]byte(d.Body), &doc); err != nil {
		return permanent{fmt.Errorf("delivery: push %d: %w", d.ID, err)}
	}
	// arn:aws:mobiletargeting:<region>:<account>:apps/<application id>
	app, ok := strings.CutPrefix(arnField(doc.ResourceArn, 5), "apps/")
	if !ok || app == "" {
		return permanent{fmt.Errorf("delivery: push %d: %q is not a Pinpoint application ARN", d.ID, doc.ResourceArn)}
	}
	token := doc.DeviceToken
	if doc.PushNotificationType == "VOIP" {
		token = doc.VoipDeviceToken
	}
	channel := pinpointChannel(doc.Type, doc.PushNotificationType)
	msg := &ptypes.DirectMessageConfiguration{}
	if channel == ptypes.ChannelTypeGcm {
		msg.GCMMessage = &ptypes.GCMMessage{Title: aws.String(doc.Title), Body: aws.String(doc.Body), Data: doc.Data, Action: ptypes.ActionOpenApp}
	} else {
		msg.APNSMessage = &ptypes.APNSMessage{Title: aws.String(doc.Title), Body: aws.String(doc.Body), Data: doc.Data, Action: ptypes.ActionOpenApp}
		if doc.PushNotificationType == "VOIP" {
			msg.APNSMessage.APNSPushType = aws.String("voip")
		}
	}
	out, err := p.client.SendMessages(ctx, &pinpoint.SendMessagesInput{
		ApplicationId: aws.String(app),
		MessageRequest: &ptypes.MessageRequest{
			Addresses:            map[string]ptypes.AddressConfiguration{token: {ChannelType: channel}},
			MessageConfiguration: msg,
		},
	}, func(o *pinpoint.Options) {
		if r := arnField(doc.ResourceArn, 3); r != "" {
			o.Region = r
		}
	})
	if err != nil {
		return classify(fmt.Errorf("delivery: pinpoint SendMessages to %s: %w", doc.ResourceArn, err))
	}
	if out.MessageResponse == nil {
		return nil
	}
	r, ok := out.MessageResponse.Result[token]
	if !ok {
		return nil
	}
	switch r.DeliveryStatus {
	case ptypes.DeliveryStatusSuccessful, ptypes.DeliveryStatusDuplicate, "":
		return nil
	case ptypes.DeliveryStatusPermanentFailure, ptypes.DeliveryStatusOptOut:
		return permanent{fmt.Errorf("delivery: pinpoint %s: %s %s", doc.ResourceArn, r.DeliveryStatus, aws.ToString(r.StatusMessage))}
	}
	return fmt.Errorf("delivery: pinpoint %s: %s %s", doc.ResourceArn, r.DeliveryStatus, aws.ToString(r.StatusMessage))
}

// kinesisSink puts streaming records with Kinesis PutRecords.
type kinesisSink struct {
	client *kinesis.Client
}

// NewKinesis returns a Sink that puts each streaming record to its
// configured stream with Kinesis PutRecords, partitioned by channel.
func NewKinesis(ctx context.Context, c AWSConfig) (Sink, error) {
	cfg, err := loadAWS(ctx, c)
	if err != nil {
		return nil, err
	}
	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &kinesisSink{client: client}, nil
}

func (k *kinesisSink) Target(d store.Delivery) string { return "kinesis " + d.Target }

func (k *kinesisSink) Deliver(ctx context.Context, d store.Delivery) error {
	// Both the ARN and the name: Kinesis accepts either or both, and some
	// Kinesis-compatible services know only the name.
	in := &kinesis.PutRecordsInput{
		StreamARN: aws.String(d.Target),
		Records:   []ktypes.PutRecordsRequestEntry{{Data: []byte(d.Body), PartitionKey: aws.String(d.PartitionKey)}},
	}
	if name, ok := strings.CutPrefix(arnField(d.Target, 5), "stream/"); ok {
		in.StreamName = aws.String(name)
	}
	out, err := k.client.PutRecords(ctx, in, func(o *kinesis.Options) {
		if r := arnField(d.Target, 3); r != "" {
			o.Region = r
		}
	})
	if err != nil {
		return classify(fmt.Errorf("delivery: kinesis PutRecords to %s: %w", d.Target, err))
	}
	if aws.ToInt32(out.FailedRecordCount) > 0 && len(out.Records) > 0 {
		r := out.Records[0]
		return fmt.Errorf("delivery: kinesis PutRecords to %s: %s: %s", d.Target, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
	}
	return nil
}
