package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfryhq/belfry/delivery"
	"github.com/belfryhq/belfry/store"
)

// newDeliveryWorker builds the sinks the flags name and the worker that
// feeds them.
func newDeliveryWorker(ctx context.Context, cfg config, st store.Store, node string, log *slog.Logger, reg prometheus.Registerer) (*delivery.Worker, error) {
	var push, stream delivery.Sink
	var err error
	switch {
	case cfg.PushWebhook != "":
		if push, err = delivery.NewPushWebhook(cfg.PushWebhook, []byte(cfg.PushWebhookSecret)); err != nil {
			return nil, usageError{fmt.Errorf("--push-webhook: %w", err)}
		}
	case cfg.PinpointEndpoint != "":
		if push, err = delivery.NewPinpoint(ctx, delivery.AWSConfig{Endpoint: awsEndpoint(cfg.PinpointEndpoint), Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("push notifications: %w", err)
		}
	}
	switch {
	case cfg.StreamWebhook != "":
		if stream, err = delivery.NewStreamWebhook(cfg.StreamWebhook, []byte(cfg.StreamWebhookSecret)); err != nil {
			return nil, usageError{fmt.Errorf("--stream-webhook: %w", err)}
		}
	case cfg.KinesisEndpoint != "":
		if stream, err = delivery.NewKinesis(ctx, delivery.AWSConfig{Endpoint: awsEndpoint(cfg.KinesisEndpoint), Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("streaming: %w", err)
		}
	}
	return delivery.New(delivery.Config{Store: st, Push: push, Stream: stream, Logger: log, Registerer: reg, RetryMax: cfg.DeliveryRetryMax, Node: node}), nil
}

// awsEndpoint maps the flag value "aws" (the standard endpoints) to the
// SDK's "no override".
func awsEndpoint(v string) string {
	if v == "aws" {
		return ""
	}
	return v
}
