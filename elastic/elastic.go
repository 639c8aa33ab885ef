// Package elastic decides where the members of an elastic channel go: which
// sub-channel a joining member is placed in, when a new sub-channel is
// opened (scale-out) and when an emptied one is merged into another
// (scale-in). It is pure: it sees sub-channels as ids and membership
// counts, and the caller applies its decisions inside the transaction that
// read those counts, so concurrent joins cannot both take the last seat.
//
// The rules are AWS's (semantics.md §5 "Elastic membership allocation");
// where AWS is silent the choices are Belfry's, recorded in
// docs/compatibility.md:
//   - a member joins the sub-channel with the fewest memberships among those
//     below the target (the oldest on a tie), so sub-channels fill evenly;
//   - when every sub-channel is at the target, a new one opens and half the
//     target (rounded down) moves into it from the fullest, so neither side
//     is left near the scale-in threshold;
//   - after a departure, a sub-channel below the threshold is merged into
//     the sub-channel with the fewest memberships that can take all of its
//     members without passing the target.
package elastic

import (
	"fmt"
)

// Limits on a configuration (semantics.md §4.1, §7).
const (
	MinSubChannels           = 2
	MaxSubChannels           = 100
	MinTargetMemberships     = 2
	MaxTargetMemberships     = 1000
	MinMembershipPercentage  = 1
	MaxMembershipPercentage  = 40
	MaxMembershipsPerChannel = 1_000_000 // MaximumSubChannels × TargetMembershipsPerSubChannel
)

// Config is an ElasticChannelConfiguration.
type Config struct {
	MaximumSubChannels             int
	TargetMembershipsPerSubChannel int
	MinimumMembershipPercentage    int
}

// FieldError is a configuration value out of range; Field is the model's
// member name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Msg }

// Validate checks every value against the documented ranges, reporting the
// first that is out of range.
func (c Config) Validate() error {
	for _, f := range []struct {
		name      string
		v, lo, hi int
	}{
		{"ElasticChannelConfiguration.MaximumSubChannels", c.MaximumSubChannels, MinSubChannels, MaxSubChannels},
		{"ElasticChannelConfiguration.TargetMembershipsPerSubChannel", c.TargetMembershipsPerSubChannel, MinTargetMemberships, MaxTargetMemberships},
		{"ElasticChannelConfiguration.MinimumMembershipPercentage", c.MinimumMembershipPercentage, MinMembershipPercentage, MaxMembershipPercentage},
	} {
		if f.v < f.lo || f.v > f.hi {
			return &FieldError{f.name, fmt.Sprintf("is %d; it must be between %d and %d.", f.v, f.lo, f.hi)}
		}
	}
	if p := c.MaximumSubChannels * c.TargetMembershipsPerSubChannel; p > MaxMembershipsPerChannel {
		return &FieldError{"ElasticChannelConfiguration", fmt.Sprintf("allows %d memberships (MaximumSubChannels × TargetMembershipsPerSubChannel); at most %d are allowed.", p, MaxMembershipsPerChannel)}
	}
	return nil
}

// Threshold is the membership count below which a sub-channel is merged
// into another: ceil(Target × MinimumPercentage / 100), as AWS documents.
func (c Config) Threshold() int {
	return (c.TargetMembershipsPerSubChannel*c.MinimumMembershipPercentage + 99) / 100
}

// Capacity is how many members the channel can place.
func (c Config) Capacity() int { return c.MaximumSubChannels * c.TargetMembershipsPerSubChannel }

// SubChannel is a sub-channel as allocation sees it.
type SubChannel struct {
	ID    string
	Count int // memberships in it
}

// Placement is where a joining member goes.
type Placement struct {
	// Into is the existing sub-channel to join; "" with ScaleOut.
	Into string
	// ScaleOut opens a new sub-channel for the member, first moving Move
	// members into it from From ("" and 0 when the channel has no
	// sub-channel yet).
	ScaleOut bool
	From     string
	Move     int
}

// Place decides where a new member goes, given the channel's sub-channels
// in creation order. ok is false when every sub-channel is at the target
// and no more can be opened: the channel is full.
func Place(c Config, subs []SubChannel) (p Placement, ok bool) {
	best := -1
	for i, s := range subs {
		if s.Count < c.TargetMembershipsPerSubChannel && (best < 0 || s.Count < subs[best].Count) {
			best = i
		}
	}
	if best >= 0 {
		return Placement{Into: subs[best].ID}, true
	}
	if len(subs) >= c.MaximumSubChannels {
		return Placement{}, false
	}
	if len(subs) == 0 {
		return Placement{ScaleOut: true}, true
	}
	fullest := 0
	for i, s := range subs {
		if s.Count > subs[fullest].Count {
			fullest = i
		}
	}
	return Placement{ScaleOut: true, From: subs[fullest].ID, Move: c.TargetMembershipsPerSubChannel / 2}, true
}

// Merge is a scale-in: every member of From moves to Into, then From is
// deleted with its messages.
type Merge struct {
	From, Into string
}

// AfterLeave decides whether sub-channel left, which just lost a
// membership, is merged into another. ok is false when it stays.
func AfterLeave(c Config, subs []SubChannel, left string) (m Merge, ok bool) {
	from := -1
	for i, s := range subs {
		if s.ID == left {
			from = i
		}
	}
	if from < 0 || subs[from].Count >= c.Threshold() {
		return Merge{}, false
	}
	into := -1
	for i, s := range subs {
		if i == from || s.Count+subs[from].Count > c.TargetMembershipsPerSubChannel {
			continue
		}
		if into < 0 || s.Count < subs[into].Count {
			into = i
		}
	}
	if into < 0 {
		return Merge{}, false
	}
	return Merge{From: left, Into: subs[into].ID}, true
}
