package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/delivery"
	"github.com/belfryhq/belfry/service"
	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlite"
)

// downSink is a sink that is down: every attempt hangs for a while (a
// connect timeout) and fails.
type downSink struct{ hang time.Duration }

func (s downSink) Deliver(ctx context.Context, _ store.Delivery) error {
	select {
	case <-time.After(s.hang):
	case <-ctx.Done():
	}
	return errors.New("connection timed out")
}

func (downSink) Target(store.Delivery) string { return "down" }

type upSink struct{}

func (upSink) Deliver(context.Context, store.Delivery) error { return nil }
func (upSink) Target(store.Delivery) string                  { return "up" }

// BenchmarkSendWithPushAndStream measures SendChannelMessage of a message
// with a push notification to a channel of 10 members with an endpoint
// each, streamed to Kinesis: with no sink, with the sinks up, and with
// the sinks down (every attempt hangs 50ms and fails, retried with
// backoff while the sends go on). A send only writes the deliveries, so
// the three should cost about the same.
func BenchmarkSendWithPushAndStream(b *testing.B) {
	for _, tc := range []struct {
		name     string
		sink     delivery.Sink
		baseline bool // no push, no streaming: the send alone
	}{{"baseline", nil, true}, {"no-sink", nil, false}, {"sinks-up", upSink{}, false}, {"sinks-down", downSink{hang: 50 * time.Millisecond}, false}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "belfry.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			w := delivery.New(delivery.Config{Store: st, Push: tc.sink, Stream: tc.sink, RetryMax: time.Second})
			svc, err := service.New(ctx, st, service.Config{Region: "us-east-1", AccountID: "111122223333", DeliveriesQueued: w.Wake})
			if err != nil {
				b.Fatal(err)
			}
			app := *must(svc.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p("bench"), ClientRequestToken: p("bench")})).AppInstanceArn
			var users []string
			for i := range 10 {
				id := fmt.Sprint("u", i)
				u := *must(svc.CreateAppInstanceUser(ctx, &chime.CreateAppInstanceUserRequest{AppInstanceArn: &app, AppInstanceUserId: &id, Name: &id})).AppInstanceUserArn
				must(svc.RegisterAppInstanceUserEndpoint(ctx, &chime.RegisterAppInstanceUserEndpointRequest{AppInstanceUserArn: &u, Name: &id, Type: chime.AppInstanceUserEndpointTypeApns,
					ResourceArn: p("arn:aws:mobiletargeting:us-east-1:111122223333:apps/a"), EndpointAttributes: &chime.EndpointAttributes{DeviceToken: p("tok-" + id)},
					AllowMessages: chime.AllowMessagesAll, ClientRequestToken: &id}))
				users = append(users, u)
			}
			ch := *must(svc.CreateChannel(ctx, &chime.CreateChannelRequest{AppInstanceArn: &app, Name: p("c"), ChimeBearer: &users[0], MemberArns: users[1:], ClientRequestToken: p("c")})).ChannelArn
			if !tc.baseline {
				must(svc.PutMessagingStreamingConfigurations(ctx, &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &app, StreamingConfigurations: []chime.StreamingConfiguration{
					{DataType: chime.MessagingDataTypeChannelmessage, ResourceArn: p("arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-bench")}}}))
			}
			push := &chime.PushNotificationConfiguration{Title: p("t"), Body: p("b"), Type: chime.PushNotificationTypeDefault}
			if tc.baseline {
				push = nil
			}

			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); w.Run(runCtx) }()
			defer func() { stop(); <-done }()

			b.ResetTimer()
			for i := range b.N {
				_, err := svc.SendChannelMessage(ctx, &chime.SendChannelMessageRequest{ChannelArn: &ch, ChimeBearer: &users[0], Content: p("hello"),
					Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint(i)),
					PushNotification: push})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func p[T any](v T) *T { return &v }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
