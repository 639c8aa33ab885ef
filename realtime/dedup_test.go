package realtime

import "testing"

// TestDuplicateEventsDropped: the bus delivers at least once (the outbox
// relay may publish an event again after a crash); a session receives an
// event ID once.
func TestDuplicateEventsDropped(t *testing.T) {
	th := startHub(t, Options{}, nil)
	th.dir.set(alice, ch1)
	c := th.connect(t, alice, "tab")
	m1, m2 := message(ch1, "m1"), message(ch1, "m2")
	m1.ID, m2.ID = 41, 42
	th.bus.Publish(m1, m1, m2, m1, m2)
	after := message(ch1, "after")
	th.bus.Publish(after)
	expectMessages(t, c, "m1", "m2", "after")
}
