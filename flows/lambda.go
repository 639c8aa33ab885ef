package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// lambdaInvoker invokes processors with the Lambda Invoke API.
type lambdaInvoker struct {
	client        *lambda.Client
	defaultRegion string
	timeout       time.Duration
}

func newLambdaInvoker(ctx context.Context, cfg Config, client *http.Client, timeout time.Duration) (*lambdaInvoker, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" || cfg.SessionToken != "" {
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			return nil, errors.New("flows: Lambda AccessKeyID and SecretAccessKey must be set together")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.LambdaEndpoint != "" {
		if _, err := validateHTTPURL(cfg.LambdaEndpoint); err != nil {
			return nil, fmt.Errorf("flows: LambdaEndpoint: %w", err)
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("flows: loading AWS configuration: %w", err)
	}
	c := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		if cfg.LambdaEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.LambdaEndpoint)
		}
		o.HTTPClient = client
		// One attempt per Invoke: the caller owns retries and backoff, and
		// SDK retries inside the attempt would multiply the timeout.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		o.AppID = "belfry"
	})
	return &lambdaInvoker{client: c, defaultRegion: awsCfg.Region, timeout: timeout}, nil
}

func (l *lambdaInvoker) Invoke(ctx context.Context, processorArn string, event []byte) error {
	if processorArn == "" {
		return Permanent(errors.New("flows: empty processor ARN"))
	}
	region := arnRegion(processorArn)
	if region == "" {
		region = l.defaultRegion
	}
	if region == "" {
		return Permanent(fmt.Errorf("flows: invoke %s: no region in the ARN and none configured", processorArn))
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	_, err := l.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(processorArn),
		InvocationType: types.InvocationTypeEvent,
		Payload:        event,
	}, func(o *lambda.Options) {
		// Chime requires the processor in the AppInstance's region, but a
		// Belfry deployment may serve several; sign for the function's own.
		o.Region = region
	})
	// The SDK turns every non-2xx answer into an error. 202 is Lambda's
	// answer for InvocationType Event; other 2xx statuses are accepted too
	// (see the package documentation).
	if err != nil {
		return classifyLambdaError(fmt.Errorf("flows: invoke %s: %w", processorArn, err))
	}
	return nil
}

// arnRegion returns the region field of an ARN, or "" when s is not an ARN
// (Invoke also accepts bare function names, whose region comes from Config).
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// retryableLambdaCodes are client-fault (4xx) Lambda errors that clear up by
// themselves: the function is being created or updated, or SnapStart is still
// preparing it.
var retryableLambdaCodes = map[string]bool{
	"ResourceConflictException":  true,
	"SnapStartNotReadyException": true,
	"TooManyRequestsException":   true,
}

// classifyLambdaError marks errors that retrying cannot fix as permanent:
// client-side parameter errors and 4xx answers other than 408, 429 and the
// transient conflicts above. Throttling, 5xx (which includes Lambda's
// ResourceNotReady, EC2/KMS/EFS troubles), network errors, timeouts and
// credential-resolution failures stay transient.
func classifyLambdaError(err error) error {
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return Permanent(err)
	}
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) {
		return err
	}
	status := resp.HTTPStatusCode()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && retryableLambdaCodes[apiErr.ErrorCode()] {
		return err
	}
	if permanentStatus(status) {
		return Permanent(err)
	}
	return err
}

// permanentStatus reports whether an HTTP answer means "do not retry": 4xx
// other than 408 Request Timeout and 429 Too Many Requests, and 3xx, which
// means the endpoint is misconfigured (redirects are not followed).
func permanentStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return false
	case status >= 300 && status < 500:
		return true
	default:
		return false
	}
}
