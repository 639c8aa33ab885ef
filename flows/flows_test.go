package flows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	isolateAWSEnv(t)
	lambdaSrv, lambdaSeen := recordingServer(t, nil, lambdaAnswer(202, "", ""))
	hookSrv, hookSeen := recordingServer(t, nil, answerStatus(http.StatusOK, ""))
	other := "arn:aws:lambda:us-east-1:111122223333:function:other"
	webhooks := map[string]string{testArn: hookSrv.URL}
	inv := newTestInvoker(t, Config{
		LambdaEndpoint: lambdaSrv.URL,
		Webhooks:       webhooks,
		WebhookSecret:  webhookSecret,
	})
	// New copies the table; later edits by the caller change nothing.
	delete(webhooks, testArn)

	if err := inv.Invoke(context.Background(), testArn, testEvent); err != nil {
		t.Fatalf("Invoke webhook processor: %v", err)
	}
	next(t, hookSeen)
	none(t, lambdaSeen)

	if err := inv.Invoke(context.Background(), other, testEvent); err != nil {
		t.Fatalf("Invoke Lambda processor: %v", err)
	}
	if got := next(t, lambdaSeen); !strings.Contains(got.Path, other) {
		t.Errorf("Lambda path %q does not name %s", got.Path, other)
	}
	none(t, hookSeen)
}

func TestInvalidEventIsPermanent(t *testing.T) {
	isolateAWSEnv(t)
	lambdaSrv, lambdaSeen := recordingServer(t, nil, lambdaAnswer(202, "", ""))
	hookSrv, hookSeen := recordingServer(t, nil, answerStatus(http.StatusOK, ""))
	inv := newTestInvoker(t, Config{
		LambdaEndpoint: lambdaSrv.URL,
		Webhooks:       map[string]string{testArn: hookSrv.URL},
		WebhookSecret:  webhookSecret,
	})
	for _, arn := range []string{testArn, "arn:aws:lambda:us-east-1:111122223333:function:other"} {
		for _, event := range [][]byte{nil, []byte(`{"EventType":`), []byte("not json")} {
			err := inv.Invoke(context.Background(), arn, event)
			checkOutcome(t, err, true, true)
		}
	}
	none(t, lambdaSeen)
	none(t, hookSeen)
}

func TestNewRejectsBadConfig(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{name: "webhooks without secret", cfg: Config{Webhooks: map[string]string{testArn: "https://hooks.example/flow"}},
			want: "WebhookSecret"},
		{name: "webhook key not a function ARN", cfg: Config{WebhookSecret: webhookSecret,
			Webhooks: map[string]string{"arn:aws:chime:us-east-1:111122223333:app-instance/x": "https://hooks.example/flow"}},
			want: "not a Lambda function ARN"},
		{name: "webhook URL not http", cfg: Config{WebhookSecret: webhookSecret,
			Webhooks: map[string]string{testArn: "ftp://hooks.example/flow"}},
			want: "scheme"},
		{name: "access key without secret", cfg: Config{AccessKeyID: testAccessID}, want: "SecretAccessKey"},
		{name: "session token alone", cfg: Config{SessionToken: "token"}, want: "AccessKeyID"},
		{name: "endpoint without scheme", cfg: Config{LambdaEndpoint: "localhost:9001"}, want: "LambdaEndpoint"},
		{name: "negative timeout", cfg: Config{Timeout: -1}, want: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error mentioning %q", inv, err, tt.want)
			}
		})
	}
}

func TestNewWithDefaultCredentialChain(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	srv, seen := recordingServer(t, lambdaCheck(testArn, "us-east-1", ""), lambdaAnswer(202, "", ""))
	inv, err := New(context.Background(), Config{LambdaEndpoint: srv.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := inv.Invoke(context.Background(), testArn, testEvent); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if got := next(t, seen); got.Err != nil {
		t.Errorf("request: %v", got.Err)
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "plain", err: base, want: false},
		{name: "marked", err: Permanent(base), want: true},
		{name: "wrapped after marking", err: fmt.Errorf("job 7: %w", Permanent(base)), want: true},
		{name: "joined", err: errors.Join(base, Permanent(errors.New("other"))), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent = %v, want %v", got, tt.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if err := Permanent(base); !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("Permanent changes the error: %v", err)
	}
}
