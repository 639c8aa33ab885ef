package elastic

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c     Config
		field string // "" valid
	}{
		{Config{2, 4, 40}, ""},
		{Config{100, 1000, 1}, ""},
		{Config{1, 4, 40}, "MaximumSubChannels"},
		{Config{101, 4, 40}, "MaximumSubChannels"},
		{Config{2, 1, 40}, "TargetMembershipsPerSubChannel"},
		{Config{2, 1001, 40}, "TargetMembershipsPerSubChannel"},
		{Config{2, 4, 0}, "MinimumMembershipPercentage"},
		{Config{2, 4, 41}, "MinimumMembershipPercentage"},
	} {
		err := tc.c.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.c, err)
		case tc.field != "" && (err == nil || !strings.Contains(err.(*FieldError).Field, tc.field)):
			t.Errorf("%+v: %v, want an error naming %s", tc.c, err, tc.field)
		}
	}
}

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want int
	}{
		{Config{2, 4, 40}, 2},  // 1.6 → 2
		{Config{10, 6, 40}, 3}, // 2.4 → 3
		{Config{2, 10, 10}, 1}, // 1 exactly
		{Config{2, 1000, 1}, 10},
		{Config{2, 2, 1}, 1}, // 0.02 → 1
	} {
		if got := tc.c.Threshold(); got != tc.want {
			t.Errorf("Threshold(%+v) = %d, want %d", tc.c, got, tc.want)
		}
	}
}

func subs(counts ...int) []SubChannel {
	out := make([]SubChannel, len(counts))
	for i, n := range counts {
		out[i] = SubChannel{ID: fmt.Sprintf("s%d", i+1), Count: n}
	}
	return out
}

func TestPlace(t *testing.T) {
	c := Config{3, 4, 40}
	for _, tc := range []struct {
		name string
		subs []SubChannel
		want Placement
		ok   bool
	}{
		{"first member opens the first sub-channel", nil, Placement{ScaleOut: true}, true},
		{"room in the only one", subs(3), Placement{Into: "s1"}, true},
		{"fewest memberships first", subs(3, 1, 2), Placement{Into: "s2"}, true},
		{"oldest on a tie", subs(2, 2), Placement{Into: "s1"}, true},
		{"full ones are skipped", subs(4, 3), Placement{Into: "s2"}, true},
		{"all full: scale out from the fullest", subs(4, 5), Placement{ScaleOut: true, From: "s2", Move: 2}, true},
		{"all full at the maximum: refused", subs(4, 4, 4), Placement{}, false},
	} {
		got, ok := Place(c, tc.subs)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Place(%v) = %+v, %v; want %+v, %v", tc.name, tc.subs, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAfterLeave(t *testing.T) {
	c := Config{3, 6, 40} // threshold 3
	for _, tc := range []struct {
		name string
		subs []SubChannel
		left string
		want Merge
		ok   bool
	}{
		{"at the threshold: stays", subs(3, 4), "s1", Merge{}, false},
		{"below, merged into the emptiest that fits", subs(2, 4, 3), "s1", Merge{From: "s1", Into: "s3"}, true},
		{"below, but nobody can take them", subs(2, 5, 6), "s1", Merge{}, false},
		{"empty and alone: stays", subs(0), "s1", Merge{}, false},
		{"empty: merged", subs(5, 0), "s2", Merge{From: "s2", Into: "s1"}, true},
		{"unknown sub-channel", subs(1, 1), "s9", Merge{}, false},
	} {
		got, ok := AfterLeave(c, tc.subs, tc.left)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: AfterLeave(%v, %s) = %+v, %v; want %+v, %v", tc.name, tc.subs, tc.left, got, ok, tc.want, tc.ok)
		}
	}
}

// model is a channel as the service keeps it, applying Place and
// AfterLeave the way the service does.
type model struct {
	c      Config
	order  []string         // sub-channels in creation order
	member map[int]string   // member → sub-channel
	rows   map[string][]int // sub-channel → members
	next   int
}

func newModel(c Config) *model {
	return &model{c: c, member: map[int]string{}, rows: map[string][]int{}}
}

func (m *model) subs() []SubChannel {
	out := make([]SubChannel, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, SubChannel{ID: id, Count: len(m.rows[id])})
	}
	return out
}

func (m *model) move(id int, to string) {
	from := m.member[id]
	rows := m.rows[from]
	for i, x := range rows {
		if x == id {
			m.rows[from] = append(rows[:i:i], rows[i+1:]...)
			break
		}
	}
	m.member[id] = to
	m.rows[to] = append(m.rows[to], id)
}

func (m *model) join(id int) bool {
	p, ok := Place(m.c, m.subs())
	if !ok {
		return false
	}
	into := p.Into
	if p.ScaleOut {
		m.next++
		into = fmt.Sprintf("s%d", m.next)
		m.order = append(m.order, into)
		m.rows[into] = nil
		if p.From != "" {
			movers := append([]int(nil), m.rows[p.From][len(m.rows[p.From])-p.Move:]...)
			for _, x := range movers {
				m.move(x, into)
			}
		}
	}
	m.member[id] = into
	m.rows[into] = append(m.rows[into], id)
	return true
}

func (m *model) leave(id int) {
	from := m.member[id]
	m.move(id, from) // to the end, then drop
	m.rows[from] = m.rows[from][:len(m.rows[from])-1]
	delete(m.member, id)
	if mg, ok := AfterLeave(m.c, m.subs(), from); ok {
		for _, x := range append([]int(nil), m.rows[mg.From]...) {
			m.move(x, mg.Into)
		}
		delete(m.rows, mg.From)
		for i, s := range m.order {
			if s == mg.From {
				m.order = append(m.order[:i:i], m.order[i+1:]...)
				break
			}
		}
	}
}

func (m *model) check(t *testing.T, step string) {
	t.Helper()
	if len(m.order) > m.c.MaximumSubChannels {
		t.Fatalf("%s: %d sub-channels, maximum %d", step, len(m.order), m.c.MaximumSubChannels)
	}
	seen := map[int]int{}
	for _, id := range m.order {
		rows := m.rows[id]
		if len(rows) > m.c.TargetMembershipsPerSubChannel {
			t.Fatalf("%s: %s has %d members, target %d", step, id, len(rows), m.c.TargetMembershipsPerSubChannel)
		}
		if len(rows) == 0 && len(m.order) > 1 {
			t.Fatalf("%s: %s is empty beside other sub-channels", step, id)
		}
		for _, x := range rows {
			seen[x]++
			if m.member[x] != id {
				t.Fatalf("%s: member %d listed in %s but placed in %s", step, x, id, m.member[x])
			}
		}
	}
	if len(m.rows) != len(m.order) {
		t.Fatalf("%s: %d sub-channels with rows, %d listed", step, len(m.rows), len(m.order))
	}
	for x := range m.member {
		if seen[x] != 1 {
			t.Fatalf("%s: member %d is in %d sub-channels", step, x, seen[x])
		}
	}
	if len(seen) != len(m.member) {
		t.Fatalf("%s: %d members in sub-channels, %d placed", step, len(seen), len(m.member))
	}
}

// TestInvariants drives random joins and leaves through many
// configurations: no sub-channel passes its target, every member is in
// exactly one sub-channel, no empty sub-channel lingers beside others, a
// join is refused only when the channel is at capacity.
func TestInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	for round := range 300 {
		c := Config{
			MaximumSubChannels:             2 + r.IntN(6),
			TargetMembershipsPerSubChannel: 2 + r.IntN(9),
			MinimumMembershipPercentage:    1 + r.IntN(40),
		}
		m := newModel(c)
		nextMember := 0
		for step := range 400 {
			label := fmt.Sprintf("round %d %+v step %d", round, c, step)
			// Bias towards joining early and leaving late, so that
			// both full and nearly empty channels are visited.
			if len(m.member) == 0 || r.IntN(400) > step {
				nextMember++
				if !m.join(nextMember) {
					if len(m.member) != c.Capacity() {
						t.Fatalf("%s: join refused with %d of %d seats taken", label, len(m.member), c.Capacity())
					}
				}
			} else {
				ids := make([]int, 0, len(m.member))
				for id := range m.member {
					ids = append(ids, id)
				}
				m.leave(ids[r.IntN(len(ids))])
			}
			m.check(t, label)
		}
	}
}

// The walk: 10 × 6 × 40 from 0 to 30 members and back to 3.
func TestGrowAndShrink(t *testing.T) {
	m := newModel(Config{10, 6, 40})
	for i := 1; i <= 30; i++ {
		if !m.join(i) {
			t.Fatalf("join %d refused", i)
		}
		m.check(t, fmt.Sprintf("join %d", i))
	}
	if len(m.order) < 5 {
		t.Errorf("30 members in %d sub-channels, want at least 5", len(m.order))
	}
	for i := 30; i > 3; i-- {
		m.leave(i)
		m.check(t, fmt.Sprintf("leave %d", i))
	}
	if len(m.order) != 1 || len(m.rows[m.order[0]]) != 3 {
		t.Errorf("3 members left in %v", m.subs())
	}
}
