package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfryhq/belfry/store"
)

const (
	alice = "arn:aws:chime:us-east-1:111122223333:app-instance/app/user/alice"
	bob   = "arn:aws:chime:us-east-1:111122223333:app-instance/app/user/bob"
)

// credential returns a distinct, valid credential for user, created i
// minutes after epoch.
func credential(i int, user string) store.Credential {
	return store.Credential{
		AccessKeyID:     fmt.Sprintf("AKIATEST%08d", i),
		SecretAccessKey: fmt.Sprintf("secret/%d+abcdefghijklmnopqrstuvwxyz", i),
		UserArn:         user,
		Description:     fmt.Sprintf("key %d", i),
		CreatedAt:       epoch.Add(time.Duration(i) * time.Minute),
	}
}

func ptr[T any](v T) *T { return &v }

// createCredentials stores cs in one Update.
func createCredentials(t *testing.T, s store.Store, cs ...store.Credential) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, c := range cs {
			if err := tx.CreateCredential(ctx(t), c); err != nil {
				return err
			}
		}
		return nil
	})
}

// listCredentials returns the access key IDs ListCredentials(f) returns.
func listCredentials(t *testing.T, s store.Store, f store.CredentialFilter) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx store.ReadTx) error {
		cs, err := tx.ListCredentials(ctx(t), f)
		for _, c := range cs {
			ids = append(ids, c.AccessKeyID)
		}
		return err
	})
	return ids
}

// checkCredential fails t unless got equals want field by field. It names
// the differing fields rather than printing both, since Credential's String
// hides the secret.
func checkCredential(t *testing.T, got, want store.Credential) {
	t.Helper()
	if got.AccessKeyID != want.AccessKeyID {
		t.Errorf("AccessKeyID = %q, want %q", got.AccessKeyID, want.AccessKeyID)
	}
	if got.SecretAccessKey != want.SecretAccessKey {
		t.Errorf("SecretAccessKey = %q, want %q", got.SecretAccessKey, want.SecretAccessKey)
	}
	if got.UserArn != want.UserArn {
		t.Errorf("UserArn = %q, want %q", got.UserArn, want.UserArn)
	}
	if got.Description != want.Description {
		t.Errorf("Description = %q, want %q", got.Description, want.Description)
	}
	// == rather than Equal: the contract promises UTC as well as the instant.
	if got.CreatedAt != want.CreatedAt {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	switch {
	case (got.ExpiresAt == nil) != (want.ExpiresAt == nil):
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	case got.ExpiresAt != nil && *got.ExpiresAt != *want.ExpiresAt:
		t.Errorf("ExpiresAt = %v, want %v", *got.ExpiresAt, *want.ExpiresAt)
	}
}

func testCredentialCreateGet(t *testing.T, s store.Store) {
	plus2 := time.FixedZone("UTC+2", 2*60*60)
	tests := []struct {
		name string
		in   store.Credential
		want store.Credential // in as read back
	}{
		{
			name: "scoped key",
			in:   credential(1, alice),
			want: credential(1, alice),
		},
		{
			name: "session key with expiry",
			in:   func() store.Credential { c := credential(2, alice); c.ExpiresAt = ptr(epoch.Add(time.Hour)); return c }(),
			want: func() store.Credential { c := credential(2, alice); c.ExpiresAt = ptr(epoch.Add(time.Hour)); return c }(),
		},
		{
			name: "empty description",
			in:   func() store.Credential { c := credential(3, bob); c.Description = ""; return c }(),
			want: func() store.Credential { c := credential(3, bob); c.Description = ""; return c }(),
		},
		{
			name: "unicode description",
			in: func() store.Credential {
				c := credential(4, bob)
				c.Description = "clé de Zoë 🔑 'quoted'"
				return c
			}(),
			want: func() store.Credential {
				c := credential(4, bob)
				c.Description = "clé de Zoë 🔑 'quoted'"
				return c
			}(),
		},
		{
			name: "times come back in UTC, truncated to the millisecond",
			in: func() store.Credential {
				c := credential(5, bob)
				c.CreatedAt = time.Date(2025, 6, 1, 14, 0, 0, 123_456_789, plus2)
				c.ExpiresAt = ptr(time.Date(2025, 6, 1, 15, 0, 0, 999_999_999, plus2))
				return c
			}(),
			want: func() store.Credential {
				c := credential(5, bob)
				c.CreatedAt = time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)
				c.ExpiresAt = ptr(time.Date(2025, 6, 1, 13, 0, 0, 999_000_000, time.UTC))
				return c
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			createCredentials(t, s, tc.in)
			var got store.Credential
			view(t, s, func(tx store.ReadTx) (err error) {
				got, err = tx.GetCredential(ctx(t), tc.in.AccessKeyID)
				return err
			})
			checkCredential(t, got, tc.want)
		})
	}
}

func testCredentialErrors(t *testing.T, s store.Store) {
	existing := credential(1, alice)
	createCredentials(t, s, existing)

	tests := []struct {
		name string
		op   func(tx store.Tx) error
		want error
	}{
		{
			name: "get missing",
			op:   func(tx store.Tx) error { _, err := tx.GetCredential(ctx(t), "AKIAMISSING"); return err },
			want: store.ErrNotFound,
		},
		{
			name: "delete missing",
			op:   func(tx store.Tx) error { return tx.DeleteCredential(ctx(t), "AKIAMISSING") },
			want: store.ErrNotFound,
		},
		{
			name: "create duplicate",
			op:   func(tx store.Tx) error { return tx.CreateCredential(ctx(t), existing) },
			want: store.ErrConflict,
		},
		{
			name: "create duplicate key ID for another user",
			op: func(tx store.Tx) error {
				c := credential(2, bob)
				c.AccessKeyID = existing.AccessKeyID
				return tx.CreateCredential(ctx(t), c)
			},
			want: store.ErrConflict,
		},
	}
	sentinels := []error{store.ErrNotFound, store.ErrConflict}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opErr error
			err := s.Update(ctx(t), func(tx store.Tx) error {
				opErr = tc.op(tx)
				return opErr
			})
			if !errors.Is(opErr, tc.want) {
				t.Fatalf("error = %v, want one wrapping %v", opErr, tc.want)
			}
			if err != opErr {
				t.Errorf("Update returned %v, want fn's error %v as is", err, opErr)
			}
			for _, other := range sentinels {
				if other != tc.want && errors.Is(opErr, other) {
					t.Errorf("error %v also matches %v", opErr, other)
				}
			}
		})
	}

	// The failed operations changed nothing.
	if got := listCredentials(t, s, store.CredentialFilter{}); !slices.Equal(got, []string{existing.AccessKeyID}) {
		t.Errorf("after failed operations, credentials = %v, want [%s]", got, existing.AccessKeyID)
	}
}

func testCredentialList(t *testing.T, s store.Store) {
	if got := listCredentials(t, s, store.CredentialFilter{}); len(got) != 0 {
		t.Fatalf("empty store lists %v", got)
	}

	// Inserted out of order; 3 and 4 share a creation time, so the key ID
	// breaks the tie.
	c1, c2, c3, c4, c5 := credential(1, alice), credential(2, bob), credential(3, alice), credential(4, alice), credential(5, bob)
	c4.CreatedAt = c3.CreatedAt
	createCredentials(t, s, c5, c4)
	createCredentials(t, s, c2, c1, c3)

	tests := []struct {
		name   string
		filter store.CredentialFilter
		want   []string
	}{
		{"all", store.CredentialFilter{}, []string{c1.AccessKeyID, c2.AccessKeyID, c3.AccessKeyID, c4.AccessKeyID, c5.AccessKeyID}},
		{"by user", store.CredentialFilter{UserArn: alice}, []string{c1.AccessKeyID, c3.AccessKeyID, c4.AccessKeyID}},
		{"by other user", store.CredentialFilter{UserArn: bob}, []string{c2.AccessKeyID, c5.AccessKeyID}},
		{"by unknown user", store.CredentialFilter{UserArn: alice + "x"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := listCredentials(t, s, tc.filter); !slices.Equal(got, tc.want) {
				t.Errorf("ListCredentials(%+v) = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}

	// List returns whole records, secrets included.
	view(t, s, func(tx store.ReadTx) error {
		cs, err := tx.ListCredentials(ctx(t), store.CredentialFilter{UserArn: bob})
		if err == nil && len(cs) == 2 {
			checkCredential(t, cs[0], c2)
			checkCredential(t, cs[1], c5)
		}
		return err
	})
}

func testCredentialDelete(t *testing.T, s store.Store) {
	c1, c2 := credential(1, alice), credential(2, alice)
	createCredentials(t, s, c1, c2)

	update(t, s, func(tx store.Tx) error { return tx.DeleteCredential(ctx(t), c1.AccessKeyID) })

	view(t, s, func(tx store.ReadTx) error {
		if _, err := tx.GetCredential(ctx(t), c1.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after Delete: error = %v, want ErrNotFound", err)
		}
		return nil
	})
	if got := listCredentials(t, s, store.CredentialFilter{}); !slices.Equal(got, []string{c2.AccessKeyID}) {
		t.Errorf("after Delete, credentials = %v, want [%s]", got, c2.AccessKeyID)
	}
	// A deleted key ID can be issued again.
	createCredentials(t, s, c1)
}

func testCredentialDeleteByUser(t *testing.T, s store.Store) {
	createCredentials(t, s, credential(1, alice), credential(2, bob), credential(3, alice))

	tests := []struct {
		user      string
		wantN     int
		wantAfter []string
	}{
		{alice, 2, []string{credential(2, bob).AccessKeyID}},
		{alice, 0, []string{credential(2, bob).AccessKeyID}}, // again: nothing left, not an error
		{"arn:aws:chime:us-east-1:111122223333:app-instance/app/user/nobody", 0, []string{credential(2, bob).AccessKeyID}},
		{bob, 1, nil},
	}
	for _, tc := range tests {
		var n int
		update(t, s, func(tx store.Tx) (err error) {
			n, err = tx.DeleteCredentialsByUser(ctx(t), tc.user)
			return err
		})
		if n != tc.wantN {
			t.Errorf("DeleteCredentialsByUser(%s) = %d, want %d", tc.user, n, tc.wantN)
		}
		if got := listCredentials(t, s, store.CredentialFilter{}); !slices.Equal(got, tc.wantAfter) {
			t.Errorf("after DeleteCredentialsByUser(%s), credentials = %v, want %v", tc.user, got, tc.wantAfter)
		}
	}
}
