package store_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

// The secret must not leak through any of the ways a Credential typically
// ends up in a log line or an error message.
func TestCredentialNeverPrintsSecret(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := store.Credential{
		AccessKeyID:     "AKIAEXAMPLE",
		SecretAccessKey: secret,
		UserArn:         "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u",
		CreatedAt:       time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		ExpiresAt:       &exp,
	}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("created", "credential", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("created", "credential", &c)

	for name, out := range map[string]string{
		"%v":      fmt.Sprintf("%v", c),
		"%+v":     fmt.Sprintf("%+v", c),
		"%#v":     fmt.Sprintf("%#v", c),
		"%q":      fmt.Sprintf("%q", c),
		"pointer": fmt.Sprintf("%+v", &c),
		"slice":   fmt.Sprintf("%+v", []store.Credential{c}),
		"wrapped": fmt.Errorf("creating %v: %w", c, store.ErrConflict).Error(),
		"slog":    logged.String(),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, c.AccessKeyID) {
			t.Errorf("%s lost the access key ID: %s", name, out)
		}
	}
}
