package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/events"
	"github.com/belfryhq/belfry/internal/pgtest"
	"github.com/belfryhq/belfry/relay"
)

// nodes is a cluster: several Services, each on its own connection pool
// to one PostgreSQL database, as Belfry nodes behind a load balancer.
type nodes struct {
	s          []*Service
	bus        []*nodeBus // what each node's relay published
	clk        *clock
	app        string
	ch         string // a channel of alice's with bob as a member
	alice, bob string
}

func newNodes(t *testing.T, n int) *nodes {
	t.Helper()
	if current.name != "postgres" {
		t.Skip("nodes share a store only on an engine that serves several processes; this test runs in the postgres run")
	}
	u := pgtest.MigratedURL(t)
	c := &nodes{clk: &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	for range n {
		st := pgtest.Open(t, u)
		// Each node runs its relay, as serve does: on a shared store it
		// publishes every node's events on the node's own bus.
		bus := &nodeBus{}
		r := relay.New(st, bus, relay.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		s, err := New(t.Context(), st, Config{Region: region, AccountID: account, Now: c.clk.Now, MaxElasticChannels: 1, EventsCommitted: r.Committed})
		if err != nil {
			t.Fatal(err)
		}
		c.s = append(c.s, s)
		c.bus = append(c.bus, bus)
	}
	c.app = createApp(t, c.s[0])
	c.alice = createUser(t, c.s[1], c.app, "alice")
	c.bob = createUser(t, c.s[0], c.app, "bob")
	c.ch = *must(c.s[1].CreateChannel(t.Context(), &chime.CreateChannelRequest{
		AppInstanceArn: &c.app, Name: p("general"), ChimeBearer: &c.alice, ClientRequestToken: p("create-general"),
		MemberArns: []string{c.bob},
	})).ChannelArn
	return c
}

// history lists the channel's messages, oldest first.
func (c *nodes) history(t *testing.T) []string {
	t.Helper()
	var ids []string
	var next *string
	for {
		out := must(c.s[0].ListChannelMessages(t.Context(), &chime.ListChannelMessagesRequest{
			ChannelArn: &c.ch, ChimeBearer: &c.alice, SortOrder: chime.SortOrderAscending, MaxResults: p(int32(50)), NextToken: next,
		}))
		for _, m := range out.ChannelMessages {
			ids = append(ids, *m.MessageId)
		}
		if next = out.NextToken; next == nil {
			return ids
		}
	}
}

// TestNodesOneTokenOneMessage: concurrent sends with one
// ClientRequestToken through different nodes store one message, and every
// caller is answered with its id.
func TestNodesOneTokenOneMessage(t *testing.T) {
	c := newNodes(t, 3)
	const callers = 12
	ids := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			out, err := c.s[i%len(c.s)].SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
				ChannelArn: &c.ch, ChimeBearer: &c.bob, Content: p("once"), Type: chime.ChannelMessageTypeStandard,
				Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("the-token"),
			})
			errs[i] = err
			if err == nil {
				ids[i] = *out.MessageId
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Errorf("caller %d got message %s, caller 0 got %s", i, ids[i], ids[0])
		}
	}
	if h := c.history(t); len(h) != 1 || h[0] != ids[0] {
		t.Errorf("history = %v, want the one message %s", h, ids[0])
	}
}

// TestNodesChannelOrder: senders on every node send at once; the history
// holds every acknowledged message, and each sender's messages in the
// order they were acknowledged (a send acknowledged before another started
// comes first).
func TestNodesChannelOrder(t *testing.T) {
	c := newNodes(t, 2)
	const senders, each = 6, 8
	sent := make([][]string, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for k := range each {
				out, err := c.s[i%len(c.s)].SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
					ChannelArn: &c.ch, ChimeBearer: &c.bob, Content: p(fmt.Sprintf("%d-%d", i, k)), Type: chime.ChannelMessageTypeStandard,
					Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprintf("tok-%d-%d", i, k)),
				})
				if err != nil {
					t.Errorf("sender %d, message %d: %v", i, k, err)
					return
				}
				sent[i] = append(sent[i], *out.MessageId)
			}
		})
	}
	wg.Wait()
	h := c.history(t)
	if len(h) != senders*each {
		t.Fatalf("history has %d messages, want %d", len(h), senders*each)
	}
	for i, ids := range sent {
		last := -1
		for _, id := range ids {
			at := slices.Index(h, id)
			if at <= last {
				t.Errorf("sender %d: message %s at %d of the history, after its earlier one at %d", i, id, at, last)
			}
			last = at
		}
	}
}

// TestNodesQuota: a quota counted before an insert holds when nodes
// create at once: one elastic channel per app instance (MaxElasticChannels
// is 1 here), however many nodes try.
func TestNodesQuota(t *testing.T) {
	c := newNodes(t, 3)
	const tries = 9
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = c.s[i%len(c.s)].CreateChannel(t.Context(), &chime.CreateChannelRequest{
				AppInstanceArn: &c.app, Name: p("live"), ChimeBearer: &c.alice, ClientRequestToken: p(fmt.Sprintf("live-%d", i)),
				ElasticChannelConfiguration: &chime.ElasticChannelConfiguration{MaximumSubChannels: p(int32(2)), TargetMembershipsPerSubChannel: p(int32(2)), MinimumMembershipPercentage: p(int32(10))},
			})
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch chime.KindOf(err) {
		case "":
			created++
		case chime.ResourceLimitExceeded:
		default:
			t.Errorf("try %d: %v", i, err)
		}
	}
	if created != 1 {
		t.Errorf("%d elastic channels created, want exactly 1", created)
	}
}

// nodeBus records what a node's relay publishes.
type nodeBus struct {
	mu  sync.Mutex
	evs []events.Event
}

func (b *nodeBus) Publish(_ context.Context, evs ...events.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.evs = append(b.evs, evs...)
	return nil
}

func (b *nodeBus) Subscribe(context.Context) (events.Subscription, error) { panic("not used") }

// messageIDs returns the MessageIds of the CREATE_CHANNEL_MESSAGE events
// published so far, in order, and whether an event ID came twice.
func (b *nodeBus) messageIDs(t *testing.T) (ids []string, dup bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[uint64]bool{}
	for _, e := range b.evs {
		dup = dup || seen[e.ID]
		seen[e.ID] = true
		if e.Type != "CREATE_CHANNEL_MESSAGE" {
			continue
		}
		var m struct{ MessageId string }
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
		ids = append(ids, m.MessageId)
	}
	return ids, dup
}

// TestNodesRealtimeFanOut: messages sent through any node reach every
// node's bus (so its messaging sessions), in the channel's order, once.
func TestNodesRealtimeFanOut(t *testing.T) {
	c := newNodes(t, 3)
	var sent []string
	for i := range 12 {
		out := must(c.s[i%len(c.s)].SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
			ChannelArn: &c.ch, ChimeBearer: &c.bob, Content: p(fmt.Sprint("m", i)), Type: chime.ChannelMessageTypeStandard,
			Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint("fan-", i)),
		}))
		sent = append(sent, *out.MessageId)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, bus := range c.bus {
		for {
			got, dup := bus.messageIDs(t)
			if dup {
				t.Errorf("node %d: an event published twice", n)
			}
			if len(got) >= len(sent) {
				if !slices.Equal(got, sent) {
					t.Errorf("node %d published %v, want %v", n, got, sent)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d published %d of %d messages", n, len(got), len(sent))
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
		}
	}
}
