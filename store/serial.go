package store

import "context"

// serialKey is the context key of SerializeOn.
type serialKey struct{}

// SerializeOn returns a context under which an Update declares that it
// writes a row other Updates with the same key write too (a send touching
// its channel). An engine that runs Updates concurrently may make such
// Updates wait for one another instead of letting them collide and retry;
// it changes nothing else, and an engine may ignore it (SQLite runs one
// Update at a time anyway).
func SerializeOn(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, serialKey{}, key)
}

// SerialKey returns the key SerializeOn put in ctx, or "".
func SerialKey(ctx context.Context) string {
	k, _ := ctx.Value(serialKey{}).(string)
	return k
}
