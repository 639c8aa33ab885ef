package natsbus

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/belfryhq/belfry/events"
)

// Subjects. An event is published on every subject a node that needs it
// subscribes to:
//
//	PREFIX.a.HASH    the event's audience (channel or sub-channel key)
//	PREFIX.u.HASH    each user the event names (Users, Joined, Left)
//	PREFIX.deleted   events that delete a channel, which every node follows
//
// HASH is the first 16 bytes of SHA-256 of the ARN or audience key, in hex:
// ARNs may hold characters a subject token may not ('.'), and a fixed
// length keeps subjects short. A collision costs a node one event it does
// not need, which it filters out: the event carries its ARNs in full.
//
// Joined and Left go to the user's subject because a node learns that its
// user joined a channel before it follows the channel; channel deletions go
// to every node because a session still loading its channel list may hold
// the channel.
func audienceSubject(prefix, key string) string { return prefix + ".a." + hash(key) }
func userSubject(prefix, arn string) string     { return prefix + ".u." + hash(arn) }
func deletedSubject(prefix string) string       { return prefix + ".deleted" }

// allEventsSubject matches every audience and user subject (WatchAll;
// deletions are always followed); copies of one publish on several
// subjects are dropped.
func allEventsSubject(prefix string) string { return prefix + ".*.*" }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// subjects returns the subjects e goes to, each once.
func subjects(prefix string, e *events.Event) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(audienceSubject(prefix, e.Audience()))
	for _, list := range [][]string{e.Users, e.Joined, e.Left} {
		for _, arn := range list {
			add(userSubject(prefix, arn))
		}
	}
	if e.ChannelDeleted {
		add(deletedSubject(prefix))
	}
	return out
}

// interest is what a node's sessions need: the audiences with local
// members and the users with local sessions (or everything).
type interest struct {
	all       bool
	audiences map[string]bool
	users     map[string]bool
}

// wants reports whether a node with this interest needs e; it is the
// filter for replayed events (which come unfiltered from the store) and
// for hash collisions.
func (in *interest) wants(e *events.Event) bool {
	if in.all || e.ChannelDeleted || in.audiences[e.Audience()] {
		return true
	}
	for _, list := range [][]string{e.Users, e.Joined, e.Left} {
		for _, arn := range list {
			if in.users[arn] {
				return true
			}
		}
	}
	return false
}
