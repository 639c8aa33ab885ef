package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/belfryhq/belfry/keyring"
	"github.com/belfryhq/belfry/store"
)

const credentialsUsage = `Usage: belfry credentials SUBCOMMAND [flags]

Access keys scoped to one AppInstanceUser: the key may only call bearer
operations as that user (plus GetMessagingSessionEndpoint and the user's own
push endpoints), so it can be shipped to an end-user app.

Subcommands:
  create --user ARN [--description TEXT] [--expires-in DURATION]
  create --user ARN --session [--ttl DURATION]
      temporary credentials (AccessKeyId, SecretAccessKey, SessionToken,
      Expiration) that stop working at Expiration; nothing is stored, so
      they cannot be listed or deleted (delete the user to revoke them)
  list [--user ARN]
  delete --access-key-id ID
`

func runCredentials(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, credentialsUsage)
		if len(args) == 0 {
			return usageError{errors.New("a subcommand is required")}
		}
		return nil
	}
	var cfg config
	var user, desc, id string
	var expiresIn, ttl time.Duration
	var session bool
	fs := flag.NewFlagSet("belfry credentials "+args[0], flag.ContinueOnError)
	commonFlags(fs, &cfg)
	switch args[0] {
	case "create":
		fs.StringVar(&user, "user", "", "ARN of the AppInstanceUser the key acts as (required)")
		fs.StringVar(&desc, "description", "", "free text kept with the key")
		fs.DurationVar(&expiresIn, "expires-in", 0, "lifetime of the key, e.g. 12h; 0 means it never expires")
		fs.BoolVar(&session, "session", false, "create temporary credentials with a session token instead of a stored key")
		fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime of --session credentials, 1s to 12h")
	case "list":
		fs.StringVar(&user, "user", "", "only keys of this AppInstanceUser ARN")
	case "delete":
		fs.StringVar(&id, "access-key-id", "", "the key to delete (required)")
	default:
		fmt.Fprint(stderr, credentialsUsage)
		return usageError{fmt.Errorf("unknown subcommand %q", args[0])}
	}
	// Only the data-dir, region and account flags come from the environment.
	own := map[string]bool{"user": true, "description": true, "expires-in": true, "access-key-id": true}
	if err := parseFlagsExcept(fs, args[1:], getenv, stderr, own); err != nil {
		return err
	}
	if err := cfg.validateCommon(); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")

	switch args[0] {
	case "create":
		if user == "" {
			return usageError{errors.New("--user is required")}
		}
		if session {
			if desc != "" || expiresIn != 0 {
				return usageError{errors.New("--session takes --ttl, not --description or --expires-in")}
			}
			if ttl < keyring.MinSessionDuration || ttl > keyring.MaxSessionDuration {
				return usageError{fmt.Errorf("--ttl must be between %s and %s, got %s", keyring.MinSessionDuration, keyring.MaxSessionDuration, ttl)}
			}
			s, err := keyring.IssueSession(ctx, st, cfg.Region, cfg.AccountID, user, ttl, time.Now())
			if err != nil {
				return err
			}
			return enc.Encode(map[string]any{
				"AccessKeyId": s.AccessKeyID, "SecretAccessKey": s.SecretAccessKey, "SessionToken": s.SessionToken,
				"Expiration": s.Expiration.Format(time.RFC3339), "UserArn": s.UserArn,
			})
		}
		var expires *time.Time
		if expiresIn < 0 {
			return usageError{errors.New("--expires-in must not be negative")}
		} else if expiresIn > 0 {
			t := time.Now().Add(expiresIn).UTC()
			expires = &t
		}
		c, err := keyring.CreateScoped(ctx, st, cfg.Region, cfg.AccountID, user, desc, expires)
		if err != nil {
			return err
		}
		return enc.Encode(credentialJSON(c, true))
	case "list":
		var cs []store.Credential
		err := st.View(ctx, func(tx store.ReadTx) (err error) {
			cs, err = tx.ListCredentials(ctx, store.CredentialFilter{UserArn: user})
			return err
		})
		if err != nil {
			return err
		}
		out := []map[string]any{}
		for _, c := range cs {
			out = append(out, credentialJSON(c, false))
		}
		return enc.Encode(out)
	default: // delete
		if id == "" {
			return usageError{errors.New("--access-key-id is required")}
		}
		err := st.Update(ctx, func(tx store.Tx) error { return tx.DeleteCredential(ctx, id) })
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no scoped credential %s", id)
		}
		return err
	}
}

// credentialJSON shows a key; the secret only when it was just created.
func credentialJSON(c store.Credential, withSecret bool) map[string]any {
	m := map[string]any{"AccessKeyId": c.AccessKeyID, "UserArn": c.UserArn, "CreatedAt": c.CreatedAt.Format(time.RFC3339)}
	if withSecret {
		m["SecretAccessKey"] = c.SecretAccessKey
	}
	if c.Description != "" {
		m["Description"] = c.Description
	}
	if c.ExpiresAt != nil {
		m["ExpiresAt"] = c.ExpiresAt.Format(time.RFC3339)
	}
	return m
}
