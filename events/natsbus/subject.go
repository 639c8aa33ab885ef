package natsbus

import (
	"crypto/sha256"
	"encoding/hex"
	"math"

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
// members and the users with local sessions (or everything), each with the
// ID it is wanted after (its since).
//
// The since of a topic is where the node's delivery of it starts: the
// outbox position its catch-up replays from (the stream's head when it was
// first watched, or the last event handed out if later), or the join a
// followed audience starts at. Events of the topic up to it came before
// the node wanted them, and its sessions never get them: a session that
// opens must not get a channel's older events, and certainly not after
// newer ones. A resume (after a reconnect) reads the stream from well
// before the highest ID seen (Options.ReplayOverlap), and without the
// since it would deliver those older events, after the newer ones already
// delivered. pendingSince marks a topic whose catch-up has not yet
// computed it: its catch-up replays for it, so a resume passes over it.
type interest struct {
	all       bool
	allSince  uint64
	audiences map[string]uint64
	users     map[string]uint64
}

const pendingSince = math.MaxUint64

// wants reports whether a node with this interest needs e; it is the
// filter for replayed events (which come unfiltered from the store) and
// for hash collisions.
func (in *interest) wants(e *events.Event) bool {
	if _, ok := in.audiences[e.Audience()]; in.all || e.ChannelDeleted || ok {
		return true
	}
	for _, list := range [][]string{e.Users, e.Joined, e.Left} {
		for _, arn := range list {
			if _, ok := in.users[arn]; ok {
				return true
			}
		}
	}
	return false
}

// wantsResumed reports whether a resume delivers the event id: a topic
// that wants it wanted it already when it was published (id after the
// topic's since). Channel deletions always are: one the node has no use
// for changes nothing.
func (in *interest) wantsResumed(id uint64, e *events.Event) bool {
	if (in.all && id > in.allSince) || e.ChannelDeleted {
		return true
	}
	if since, ok := in.audiences[e.Audience()]; ok && id > since {
		return true
	}
	for _, list := range [][]string{e.Users, e.Joined, e.Left} {
		for _, arn := range list {
			if since, ok := in.users[arn]; ok && id > since {
				return true
			}
		}
	}
	return false
}

// addSince records a topic as wanted after since, unless it is already.
func addSince(m map[string]uint64, key string, since uint64) {
	if _, ok := m[key]; !ok {
		m[key] = since
	}
}

// settleSince sets the since of a topic its catch-up has computed.
func settleSince(m map[string]uint64, key string, after uint64) {
	if v, ok := m[key]; ok && v == pendingSince {
		m[key] = after
	}
}
