package natsbus

// seenSet remembers the last n event keys delivered, so that an event that
// arrives twice (on two of a node's subjects, from a relay that published
// it again after a crash, or from a replay overlapping live delivery) is
// delivered once.
type seenSet struct {
	keys map[string]struct{}
	ring []string
	next int
}

func newSeenSet(n int) *seenSet {
	return &seenSet{keys: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records key and reports whether it is new.
func (s *seenSet) add(key string) bool {
	if _, ok := s.keys[key]; ok {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.keys, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.keys[key] = struct{}{}
	return true
}

// idSet remembers the last n outbox IDs delivered and whether a replay
// delivered them. Live delivery of an ID twice is the relay publishing it
// again, which the bus passes on (the contract is at least once, and the
// hub drops it); what it drops is the overlap of a replay with live
// delivery, which is the bus's own doing.
type idSet struct {
	replayed map[uint64]bool
	ring     []uint64
	next     int
}

func newIDSet(n int) *idSet {
	return &idSet{replayed: make(map[uint64]bool, n), ring: make([]uint64, n)}
}

func (s *idSet) record(id uint64, replayed bool) {
	if _, ok := s.replayed[id]; !ok {
		if old := s.ring[s.next]; old != 0 {
			delete(s.replayed, old)
		}
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.replayed[id] = replayed
}

// addLive records id delivered live and reports whether to deliver it:
// not when a replay delivered it already.
func (s *idSet) addLive(id uint64) bool {
	if r, ok := s.replayed[id]; ok && r {
		return false
	}
	s.record(id, false)
	return true
}

// addReplayed records id delivered by a replay and reports whether to
// deliver it: not when it was delivered already.
func (s *idSet) addReplayed(id uint64) bool {
	if _, ok := s.replayed[id]; ok {
		return false
	}
	s.record(id, true)
	return true
}
