package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestDeliveryFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"serve", "--push-webhook", "http://127.0.0.1:1/push"}, "--push-webhook needs"},
		{[]string{"serve", "--stream-webhook", "http://127.0.0.1:1/stream"}, "--stream-webhook needs"},
		{[]string{"serve", "--push-webhook", "http://127.0.0.1:1/p", "--pinpoint-endpoint", "http://127.0.0.1:2"}, "exclude each other"},
		{[]string{"serve", "--stream-webhook", "http://127.0.0.1:1/s", "--kinesis-endpoint", "aws"}, "exclude each other"},
		{[]string{"serve", "--push-webhook", "ftp://example.com/p", "--push-webhook-secret", "s"}, "--push-webhook"},
		{[]string{"serve", "--delivery-retry-max", "1ms"}, "--delivery-retry-max"},
	} {
		dir := t.TempDir()
		env := func(k string) string {
			if k == "BELFRY_DATA_DIR" {
				return dir
			}
			return ""
		}
		// Never a fixed port: the one URL error comes after listening.
		args := append(tt.args, "--listen", "127.0.0.1:0", "--tls-listen", "off")
		err := run(context.Background(), args, env, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
		}
	}
}
