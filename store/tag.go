package store

import "context"

// Tag is a key-value pair attached to a resource, keyed by the resource's
// ARN so that every kind of resource (app instances, users, bots, and later
// channels and channel flows) shares one table. Each tag also records the
// app instance that owns the resource, so deleting the app instance deletes
// its tags.
type Tag struct {
	Key   string
	Value string
}

// TagReader reads tags.
type TagReader interface {
	// ListTags returns the resource's tags ordered by key; none is not an
	// error (the store does not know whether the resource exists).
	ListTags(ctx context.Context, resourceArn string) ([]Tag, error)
}

// TagWriter adds and removes tags.
type TagWriter interface {
	// PutTags adds tags to the resource, replacing the value of keys it
	// already has. appInstanceID owns the resource; it must exist, or
	// PutTags returns an error wrapping ErrNotFound.
	PutTags(ctx context.Context, appInstanceID, resourceArn string, tags []Tag) error

	// DeleteTags removes the given keys from the resource; absent keys are
	// ignored.
	DeleteTags(ctx context.Context, resourceArn string, keys []string) error

	// DeleteAllTags removes every tag of the resource (when it is deleted)
	// and returns how many there were.
	DeleteAllTags(ctx context.Context, resourceArn string) (int, error)
}
