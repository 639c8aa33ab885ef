package flows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/belfryhq/belfry/sigv4"
)

// lambdaAnswer writes what the Lambda API answers: an empty 202 for an
// accepted Event invocation, or an error in its rest-json form (the
// X-Amzn-ErrorType header names the exception, the body carries Type and
// message).
func lambdaAnswer(status int, errorType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Requestid", "8f1d2d5e-1c1b-4d4f-9d7e-3f0c9d3b1a11")
		if errorType != "" {
			w.Header().Set("X-Amzn-Errortype", errorType)
			w.Header().Set("Content-Type", "application/json")
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// lambdaCheck verifies a request is an Event Invoke of arn, SigV4-signed for
// lambda in region with the test credentials (and token, when not empty).
func lambdaCheck(arn, region, token string) func(*http.Request, []byte) error {
	verifier := &sigv4.Verifier{
		Service: "lambda",
		Regions: []string{region},
		Lookup: func(_ context.Context, id, gotToken string) (string, error) {
			if id != testAccessID || gotToken != token {
				return "", sigv4.ErrUnknownKey
			}
			return testSecret, nil
		},
	}
	wantPath := "/2015-03-31/functions/" + arn + "/invocations"
	return func(r *http.Request, body []byte) error {
		switch {
		case r.Method != http.MethodPost:
			return fmt.Errorf("method %s, want POST", r.Method)
		case r.URL.Path != wantPath:
			return fmt.Errorf("path %q, want %q", r.URL.Path, wantPath)
		case r.Header.Get("X-Amz-Invocation-Type") != "Event":
			return fmt.Errorf("X-Amz-Invocation-Type %q, want Event", r.Header.Get("X-Amz-Invocation-Type"))
		case !strings.Contains(r.Header.Get("Authorization"), "/"+region+"/lambda/aws4_request"):
			return fmt.Errorf("Authorization %q does not scope to %s/lambda", r.Header.Get("Authorization"), region)
		case r.Header.Get("X-Amz-Security-Token") != token:
			return fmt.Errorf("X-Amz-Security-Token %q, want %q", r.Header.Get("X-Amz-Security-Token"), token)
		}
		if _, err := verifier.VerifyRequest(r.Context(), r, body); err != nil {
			return fmt.Errorf("SigV4: %w", err)
		}
		return nil
	}
}

func TestLambdaInvokeOutcomes(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name          string
		status        int
		errorType     string
		body          string
		wantErr       bool
		wantPermanent bool
	}{
		{name: "accepted", status: 202},
		{name: "synchronous runtime", status: 200, body: `null`},
		{name: "function not found", status: 404, errorType: "ResourceNotFoundException",
			body:    `{"Type":"User","message":"Function not found: ` + testArn + `"}`,
			wantErr: true, wantPermanent: true},
		{name: "invalid request content", status: 400, errorType: "InvalidRequestContentException",
			body:    `{"Type":"User","message":"Could not parse request body into json"}`,
			wantErr: true, wantPermanent: true},
		{name: "access denied", status: 403, errorType: "AccessDeniedException",
			body:    `{"Message":"User is not authorized to perform: lambda:InvokeFunction"}`,
			wantErr: true, wantPermanent: true},
		{name: "payload too large", status: 413, errorType: "RequestTooLargeException",
			body:    `{"Type":"User","message":"Request must be smaller than 1048576 bytes for the InvokeFunction operation"}`,
			wantErr: true, wantPermanent: true},
		{name: "throttled", status: 429, errorType: "TooManyRequestsException",
			body:    `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`,
			wantErr: true},
		{name: "function being updated", status: 409, errorType: "ResourceConflictException",
			body:    `{"Type":"User","message":"The operation cannot be performed at this time. An update is in progress."}`,
			wantErr: true},
		{name: "request timeout", status: 408, wantErr: true},
		{name: "service error", status: 500, errorType: "ServiceException",
			body:    `{"Type":"Service","message":"Internal error"}`,
			wantErr: true},
		{name: "function not ready", status: 502, errorType: "ResourceNotReadyException",
			body:    `{"Type":"User","message":"Functions are in a pending state"}`,
			wantErr: true},
		{name: "unavailable without body", status: 503, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := recordingServer(t, lambdaCheck(testArn, "us-east-1", ""), lambdaAnswer(tt.status, tt.errorType, tt.body))
			inv := newTestInvoker(t, Config{LambdaEndpoint: srv.URL, Region: "eu-central-1"})

			err := inv.Invoke(context.Background(), testArn, testEvent)
			checkOutcome(t, err, tt.wantErr, tt.wantPermanent)

			got := next(t, seen)
			if got.Err != nil {
				t.Errorf("request: %v", got.Err)
			}
			if !bytes.Equal(got.Body, testEvent) {
				t.Errorf("body %q, want the event", got.Body)
			}
			// Lambda routes on the escaped ARN in the path.
			if want := "/2015-03-31/functions/" + strings.ReplaceAll(testArn, ":", "%3A") + "/invocations"; got.RawPath != want {
				t.Errorf("escaped path %q, want %q", got.RawPath, want)
			}
			// The SDK must not retry: the caller owns retries.
			none(t, seen)

			if tt.errorType != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.errorType {
					t.Errorf("error %v does not carry %s", err, tt.errorType)
				}
			}
		})
	}
}

func TestLambdaRegionAndCredentials(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name       string
		arn        string
		cfgRegion  string
		token      string
		wantRegion string
	}{
		{name: "region from ARN wins", arn: "arn:aws:lambda:eu-central-1:111122223333:function:moderate",
			cfgRegion: "us-east-1", wantRegion: "eu-central-1"},
		{name: "qualified ARN", arn: "arn:aws:lambda:us-west-2:111122223333:function:moderate:$LATEST",
			wantRegion: "us-west-2"},
		{name: "bare function name uses Config.Region", arn: "moderate", cfgRegion: "ap-southeast-2",
			wantRegion: "ap-southeast-2"},
		{name: "session token", arn: testArn, token: "FwoGZXIvYXdzEXAMPLETOKEN", wantRegion: "us-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := recordingServer(t, lambdaCheck(tt.arn, tt.wantRegion, tt.token), lambdaAnswer(202, "", ""))
			inv := newTestInvoker(t, Config{
				LambdaEndpoint: srv.URL, Region: tt.cfgRegion,
				AccessKeyID: testAccessID, SecretAccessKey: testSecret, SessionToken: tt.token,
			})
			if err := inv.Invoke(context.Background(), tt.arn, testEvent); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if got := next(t, seen); got.Err != nil {
				t.Errorf("request: %v", got.Err)
			}
		})
	}
}

func TestLambdaNoRegion(t *testing.T) {
	isolateAWSEnv(t)
	srv, seen := recordingServer(t, nil, lambdaAnswer(202, "", ""))
	inv := newTestInvoker(t, Config{LambdaEndpoint: srv.URL})
	err := inv.Invoke(context.Background(), "moderate", testEvent)
	checkOutcome(t, err, true, true)
	none(t, seen)
}

func TestLambdaTransportFailures(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name     string
		endpoint func(t *testing.T) string
	}{
		{name: "connection refused", endpoint: refusedURL},
		{name: "attempt timeout", endpoint: func(t *testing.T) string { return blockingServer(t).URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := newTestInvoker(t, Config{LambdaEndpoint: tt.endpoint(t), Timeout: shortTimeout})
			err := inv.Invoke(context.Background(), testArn, testEvent)
			checkOutcome(t, err, true, false)
		})
	}
}

func TestLambdaCallerCancel(t *testing.T) {
	isolateAWSEnv(t)
	srv := blockingServer(t)
	inv := newTestInvoker(t, Config{LambdaEndpoint: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := inv.Invoke(ctx, testArn, testEvent)
	checkOutcome(t, err, true, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}
