package store

import (
	"context"
	"time"
)

// MemberKind says whether an admin (and later a channel member) is an
// AppInstanceUser or an AppInstanceBot.
type MemberKind string

// Member kinds.
const (
	MemberUser MemberKind = "user"
	MemberBot  MemberKind = "bot"
)

// AppInstanceAdmin is a user or bot promoted to admin of its app instance.
// It is not a resource of its own: deleting the user or bot deletes it.
type AppInstanceAdmin struct {
	AppInstanceID string
	Kind          MemberKind
	// MemberID is the user or bot id.
	MemberID string
	// Name is the user's or bot's current name; read-only, filled by reads.
	Name      string
	CreatedAt time.Time
	// Seq is the creation-order position, assigned by the store.
	Seq int64
}

// AppInstanceAdminReader reads admins.
type AppInstanceAdminReader interface {
	// GetAppInstanceAdmin returns the admin record of the user or bot, or an
	// error wrapping ErrNotFound if it is not an admin (or does not exist).
	GetAppInstanceAdmin(ctx context.Context, appInstanceID string, kind MemberKind, memberID string) (AppInstanceAdmin, error)

	// ListAppInstanceAdmins returns one page of the app instance's admins in
	// the order they were promoted.
	ListAppInstanceAdmins(ctx context.Context, appInstanceID string, p Page) ([]AppInstanceAdmin, error)

	// CountAppInstanceAdmins returns how many admins the app instance has.
	CountAppInstanceAdmins(ctx context.Context, appInstanceID string) (int, error)
}

// AppInstanceAdminWriter promotes and demotes admins.
type AppInstanceAdminWriter interface {
	// CreateAppInstanceAdmin promotes a.Kind/a.MemberID. It returns an error
	// wrapping ErrConflict if it is an admin already, or ErrNotFound if the
	// user or bot does not exist.
	CreateAppInstanceAdmin(ctx context.Context, a AppInstanceAdmin) (AppInstanceAdmin, error)

	// DeleteAppInstanceAdmin demotes the user or bot (which stays), or
	// returns an error wrapping ErrNotFound if it is not an admin.
	DeleteAppInstanceAdmin(ctx context.Context, appInstanceID string, kind MemberKind, memberID string) error
}
