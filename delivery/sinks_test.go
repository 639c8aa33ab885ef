package delivery

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ptypes "github.com/aws/aws-sdk-go-v2/service/pinpoint/types"

	"github.com/belfryhq/belfry/internal/retry"
	"github.com/belfryhq/belfry/store"
)

func TestPinpointChannel(t *testing.T) {
	for _, tc := range []struct {
		endpoint, push string
		want           ptypes.ChannelType
	}{
		{"APNS", "DEFAULT", ptypes.ChannelTypeApns},
		{"APNS", "VOIP", ptypes.ChannelTypeApnsVoip},
		{"APNS_SANDBOX", "DEFAULT", ptypes.ChannelTypeApnsSandbox},
		{"APNS_SANDBOX", "VOIP", ptypes.ChannelTypeApnsVoipSandbox},
		{"GCM", "DEFAULT", ptypes.ChannelTypeGcm},
	} {
		if got := pinpointChannel(tc.endpoint, tc.push); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.endpoint, tc.push, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("https://user:secret@hooks.example.com/push?x=1"); got != "https://hooks.example.com/push?x=1" {
		t.Errorf("redactURL = %s", got)
	}
}

// fakeAWS answers every request with status and body.
func fakeAWS(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if status >= 400 {
			w.Header().Set("X-Amzn-ErrorType", "SomeException")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAWSSinkOutcomes(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	push, _ := json.Marshal(pushDocument{Type: "APNS", ResourceArn: "arn:aws:mobiletargeting:us-east-1:111122223333:apps/app1", DeviceToken: "tok", PushNotificationType: "DEFAULT"})
	pushDelivery := store.Delivery{Kind: store.DeliveryPush, Body: string(push)}
	record := store.Delivery{Kind: store.DeliveryStream, Target: "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-x", PartitionKey: "ch", Body: `{"EventType":"X","Payload":{}}`}
	for _, tc := range []struct {
		name      string
		pinpoint  bool
		status    int
		body      string
		wantErr   bool
		permanent bool
	}{
		{"pinpoint ok", true, 200, `{"ApplicationId":"app1","Result":{"tok":{"DeliveryStatus":"SUCCESSFUL","StatusCode":200}}}`, false, false},
		{"pinpoint permanent failure", true, 200, `{"Result":{"tok":{"DeliveryStatus":"PERMANENT_FAILURE","StatusMessage":"bad token"}}}`, true, true},
		{"pinpoint throttled", true, 200, `{"Result":{"tok":{"DeliveryStatus":"THROTTLED"}}}`, true, false},
		{"pinpoint 400", true, 400, `{"message":"bad"}`, true, true},
		{"pinpoint 503", true, 503, `{"message":"down"}`, true, false},
		{"kinesis ok", false, 200, `{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"}]}`, false, false},
		{"kinesis record failed", false, 200, `{"FailedRecordCount":1,"Records":[{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow down"}]}`, true, false},
		{"kinesis 400", false, 400, `{"__type":"ResourceNotFoundException","message":"no stream"}`, true, true},
		{"kinesis 500", false, 500, `{"__type":"InternalFailure"}`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := fakeAWS(t, tc.status, tc.body)
			var s Sink
			var err error
			d := record
			if tc.pinpoint {
				s, err = NewPinpoint(t.Context(), AWSConfig{Endpoint: url, Region: "us-east-1"})
				d = pushDelivery
			} else {
				s, err = NewKinesis(t.Context(), AWSConfig{Endpoint: url, Region: "us-east-1"})
			}
			if err != nil {
				t.Fatal(err)
			}
			err = s.Deliver(t.Context(), d)
			if (err != nil) != tc.wantErr || retry.IsPermanent(err) != tc.permanent {
				t.Errorf("err = %v (permanent %v), want error %v permanent %v", err, retry.IsPermanent(err), tc.wantErr, tc.permanent)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// With an explicit endpoint and no credentials anywhere, requests still go
// out, signed with placeholder keys.
func TestNoCredentialsUsesPlaceholders(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"}]}`)
	}))
	defer srv.Close()
	s, err := NewKinesis(t.Context(), AWSConfig{Endpoint: srv.URL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(t.Context(), store.Delivery{Target: "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-x", PartitionKey: "c", Body: "{}"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(auth, "Credential=belfry/") {
		t.Errorf("Authorization = %q", auth)
	}
}
