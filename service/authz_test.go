package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// The table-driven authorization test: every bearer operation × role ×
// channel Privacy × Mode, against semantics.md §2.3.
//
// authzTable below is transcribed by hand from semantics.md §2.3 and the
// choices service/authz.go's comment documents; it is deliberately NOT
// derived from the matrix in authz.go, so that a divergence between the
// document and the implementation shows up as a failing cell.
//
// The fixture is set up directly through the store. A fixture channel of
// each Privacy × Mode holds:
//
//   - AppInstanceAdmins "admin" and "adminmem" (the latter also a DEFAULT
//     member);
//   - moderators "mod" (not a member), "modmem" (also a DEFAULT member) and
//     "mod2" (not a member, the target of moderator operations);
//   - DEFAULT members "member" and "other" (the target of membership
//     operations); HIDDEN member "hidden";
//   - "nonmember" (no role at all) and "banned" (banned, no membership);
//     "outsider" (no role, the user to add, ban or promote);
//   - one SENT message by each of admin, mod, member, hidden, nonmember,
//     banned, adminmem, modmem and other, sent earlier (so that a former
//     member has an "own message" too);
//   - a tag.
//
// An allowed cell must not fail with ForbiddenException: it succeeds, and
// the test checks its answer and effect, or it fails with the documented
// non-authorization error (ConflictException for a member joining itself
// again, NotFoundException for the bearer's own membership or moderator
// record that does not exist). A denied cell must fail with
// ForbiddenException and change nothing.
//
// Speed (the store prepares every statement anew, which costs milliseconds
// under -race, so ~1,600 cells cannot each have a fixture and two full
// snapshots): cells run on the shared fixture channel of their Privacy ×
// Mode. What an allowed call creates, updates or deletes there is undone
// through the store right after its checks (a deleted record is re-created
// as it was; only DeleteChannel gets a fresh channel of its own). "Change
// nothing" is checked against a baseline snapshot of each shared channel:
//
//   - at once, with every part, after a denied call that did not answer
//     ForbiddenException (the likely way a denied call changes anything);
//   - after each writing operation (all its cells, undos and bearer
//     errors), for the parts of the state that operation can change;
//   - after the last operation of each world, with every part.
//
// The snapshot holds the channel record, memberships of both types,
// moderators, bans, every message by id, the messages visible to each
// role's user, the tags and the channels of both app instances; it leaves
// out the store's Seq, so that an undo may re-create a record. Two worlds
// (one SQLite store each) share the operations between two goroutines.
//
// Each operation also checks the errors that come before the matrix: an
// unknown or malformed bearer (UnauthorizedClientException), a bearer of
// another app instance (ForbiddenException), a missing channel
// (NotFoundException).

// authzTable is semantics.md §2.3. Columns: Admin = AppInstanceAdmin;
// Mod = channel moderator who is not a member; Mem = DEFAULT member; Hid =
// HIDDEN member; Non = neither member, moderator nor banned; Ban = banned
// user (never a member).
//
// Cells: Y allowed; N denied (ForbiddenException); pub allowed only if the
// channel is PUBLIC; unres allowed only if the channel's Mode is
// UNRESTRICTED; own allowed only on the bearer's own resource (its
// membership, its message, its ARN); mem grants nothing by itself: the
// bearer needs a membership, and then the member's cell applies (§2.3
// "mem"); all / mine (SearchChannels): searches every channel / only the
// channels the bearer is a member of.
//
// A bearer's permission is the union of the cells of the roles it holds
// (§2.1.4); a bearer with no membership that is not banned also holds the
// Non column.
//
// Where the document is ambiguous or the sources conflict, the row follows
// the choice documented in authz.go's comment or §11:
//   - BatchCreateChannelMembership Hid: §2.3 says N (I) but also "same
//     per-member rules as CreateChannelMembership", whose Hid cell is
//     "treat as Mem (I)"; authz.go: "hidden members act as members for
//     adding others in UNRESTRICTED channels" => unres.
//   - (HIDDEN) rows: adding a HIDDEN member, "Type=HIDDEN ... only
//     supported by moderators" (D: M), "and admins" (I).
//   - CreateChannelBan(admin), (moderator): "the AppInstanceUser you ban
//     cannot be an AppInstanceAdmin or the moderator of that channel" =>
//     denied to everyone.
//   - CreateChannelMembership(self) Mem/Hid: "n/a (already member)" => the
//     call is allowed and answers ConflictException.
//   - DeleteChannelMembership Mem/Hid: own (leave), removing others N (I).
//   - DescribeChannel Mod/Mem/Hid: Y (§11.3).
//   - ListChannelModerators Mem/Hid: Y (§11.1, authz.go).
//   - DeleteChannelMessage: admin only; the duplicated DG:auth row for
//     members is ignored (§11.4).
//   - GetChannelMessageStatus Hid: "n/a" in §2.3; the sender rule ("only
//     the sender may ... GetChannelMessageStatus") applies to a hidden
//     member that sent the message before => own.
//   - Get/PutChannelMembershipPreferences Admin/Mod: "own membership only"
//     / "own" (D); authz.go: preferences belong to a membership, so an
//     admin or moderator without one is refused like a non-member ("must be
//     a member") => mem.
//   - UpdateChannelMessage Admin/Mod: "own messages", but authz.go: "editing
//     a message needs a current membership: a sender who left (or was
//     demoted to hidden) can no longer edit" => Admin/Mod mem, Hid N.
//   - RedactChannelMessage Hid: "own (n/a)"; authz.go: "redacting one's own
//     message needs a membership of either type" => own.
//   - PutChannelExpirationSettings mirrors UpdateChannel (I).
//   - ListChannels is split by its privacy parameter: PRIVATE is admin
//     only; omitted (PUBLIC) is anyone, and lists only PUBLIC channels.
//   - CreateChannel: any user of the AppInstance, whatever it is in other
//     channels.
const authzTable = `
operation                                   Admin Mod  Mem   Hid   Non  Ban
AssociateChannelFlow                        Y     Y    N     N     N    N
BatchCreateChannelMembership                Y     Y    unres unres N    N
BatchCreateChannelMembership(HIDDEN)        Y     Y    N     N     N    N
CreateChannel                               Y     Y    Y     Y     Y    Y
CreateChannelBan                            Y     Y    N     N     N    N
CreateChannelBan(admin)                     N     N    N     N     N    N
CreateChannelBan(moderator)                 N     N    N     N     N    N
CreateChannelMembership                     Y     Y    unres unres N    N
CreateChannelMembership(HIDDEN)             Y     Y    N     N     N    N
CreateChannelMembership(self)               Y     Y    Y     Y     pub  N
CreateChannelModerator                      Y     Y    N     N     N    N
DeleteChannel                               Y     Y    N     N     N    N
DeleteChannelBan                            Y     Y    N     N     N    N
DeleteChannelMembership                     Y     Y    own   own   N    N
DeleteChannelMessage                        Y     N    N     N     N    N
DeleteChannelModerator                      Y     Y    N     N     N    N
DescribeChannel                             Y     Y    Y     Y     pub  pub
DescribeChannelBan                          Y     Y    N     N     N    N
DescribeChannelMembership                   Y     Y    Y     Y     pub  pub
DescribeChannelMembershipForAppInstanceUser Y     own  own   own   own  own
DescribeChannelModeratedByAppInstanceUser   Y     own  own   own   own  own
DescribeChannelModerator                    Y     Y    N     N     N    N
DisassociateChannelFlow                     Y     Y    N     N     N    N
GetChannelMembershipPreferences             mem   mem  own   own   N    N
GetChannelMessage                           Y     Y    Y     Y     pub  pub
GetChannelMessageStatus                     own   own  own   own   own  own
ListChannelBans                             Y     Y    N     N     N    N
ListChannelMemberships                      Y     Y    Y     Y     pub  pub
ListChannelMembershipsForAppInstanceUser    Y     own  own   own   own  own
ListChannelMessages                         Y     Y    Y     Y     pub  pub
ListChannelModerators                       Y     Y    Y     Y     N    N
ListChannels(PRIVATE)                       Y     N    N     N     N    N
ListChannels(PUBLIC)                        Y     Y    Y     Y     Y    Y
ListChannelsModeratedByAppInstanceUser      Y     own  own   own   own  own
ListSubChannels                             Y     Y    N     N     N    N
PutChannelExpirationSettings                Y     Y    N     N     N    N
PutChannelMembershipPreferences             mem   mem  own   own   N    N
RedactChannelMessage                        Y     Y    own   own   N    N
SearchChannels                              all   mine mine  mine  mine mine
SendChannelMessage                          mem   mem  Y     N     N    N
UpdateChannel                               Y     Y    N     N     N    N
UpdateChannelMessage                        mem   mem  own   N     N    N
UpdateChannelReadMarker                     mem   mem  Y     Y     N    N
`

// authzRow is one row of authzTable: Admin, Mod, Mem, Hid, Non, Ban.
type authzRow [6]string

// parseAuthzTable parses authzTable, checking its vocabulary.
func parseAuthzTable(t *testing.T) map[string]authzRow {
	t.Helper()
	rows := map[string]authzRow{}
	lines := strings.Split(strings.TrimSpace(authzTable), "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("authzTable: %q has %d fields, want 7", line, len(f))
		}
		var r authzRow
		for i, c := range f[1:] {
			switch c {
			case "Y", "N", "pub", "unres", "own", "mem", "all", "mine":
			default:
				t.Fatalf("authzTable: %s: unknown cell %q", f[0], c)
			}
			r[i] = c
		}
		if _, dup := rows[f[0]]; dup {
			t.Fatalf("authzTable: %s twice", f[0])
		}
		rows[f[0]] = r
	}
	return rows
}

// authzRole is what the bearer of a cell is in the channel.
type authzRole struct {
	name string
	// user is the fixture user (its AppInstanceUserId) holding exactly
	// these roles.
	user                                     string
	admin, moderator, member, hidden, banned bool
}

var authzRoles = []authzRole{
	{name: "AppInstanceAdmin", user: "admin", admin: true},
	{name: "moderator", user: "mod", moderator: true},
	{name: "member", user: "member", member: true},
	{name: "hidden", user: "hidden", hidden: true},
	{name: "non-member", user: "nonmember"},
	{name: "banned", user: "banned", banned: true},
	// Combined roles: the union rule.
	{name: "admin+member", user: "adminmem", admin: true, member: true},
	{name: "moderator+member", user: "modmem", moderator: true, member: true},
}

// isMember reports whether the role holds a membership of either type.
func (r authzRole) isMember() bool { return r.member || r.hidden }

// held returns, per column of authzRow, whether the role holds it.
func (r authzRole) held() [6]bool {
	return [6]bool{r.admin, r.moderator, r.member, r.hidden, !r.isMember() && !r.banned, r.banned}
}

// allows evaluates row for the role: the union of the cells it holds.
func (r authzRole) allows(row authzRow, f authzFacts) bool {
	for i, on := range r.held() {
		if !on {
			continue
		}
		switch row[i] {
		case "Y", "all", "mine":
			return true
		case "pub":
			if f.public {
				return true
			}
		case "unres":
			if f.unrestricted {
				return true
			}
		case "own":
			if f.own {
				return true
			}
		}
	}
	return false
}

// searchesAll evaluates a SearchChannels row: whether the role searches
// every channel ("all") rather than only its own ("mine").
func (r authzRole) searchesAll(row authzRow) bool {
	for i, on := range r.held() {
		if on && row[i] == "all" {
			return true
		}
	}
	return false
}

// authzFacts is what the conditional cells look at.
type authzFacts struct {
	public, unrestricted, own bool
}

// authzKind is a channel's Privacy × Mode.
type authzKind struct {
	name                 string
	public, unrestricted bool
}

var authzKinds = []authzKind{
	{"PUBLIC-UNRESTRICTED", true, true},
	{"PUBLIC-RESTRICTED", true, false},
	{"PRIVATE-UNRESTRICTED", false, true},
	{"PRIVATE-RESTRICTED", false, false},
}

// authzFixtureUsers are the users of every world.
var authzFixtureUsers = []string{"admin", "mod", "member", "hidden", "nonmember", "banned", "adminmem", "modmem", "other", "outsider", "mod2"}

// authzSenders are the users that sent a message in a shared channel.
var authzSenders = []string{"admin", "mod", "member", "hidden", "nonmember", "banned", "adminmem", "modmem", "other"}

func authzActor(id string) store.Actor { return store.Actor{Kind: store.MemberUser, ID: id} }

// authzWorld is one service on its own store, with one app instance
// holding the fixture users and their shared channels, and a second app
// instance with a user of its own.
type authzWorld struct {
	s     *Service
	clk   *clock
	st    store.Store
	app   string // AppInstance ARN
	appID string
	users map[string]string // user id → ARN
	// otherApp and stranger are another app instance and its user.
	otherApp, otherAppID, stranger string
	// flow is a channel flow of app, which no shared channel uses.
	flow string
	// shared is the shared channel of each kind, by kind name.
	shared map[string]*authzShared
	n      int // channels and cells so far, for unique ids
}

// authzChannel is a fixture channel.
type authzChannel struct {
	kind     authzKind
	chID, ch string            // id and ARN
	msg      map[string]string // sender → id of the message it sent
}

// authzShared is a shared channel and the state it must keep.
type authzShared struct {
	*authzChannel
	base authzSnapshot
}

// authzT is what the world's helpers need of a test: *testing.T, or
// authzSetupT while the worlds are built in parallel.
type authzT interface {
	Helper()
	Fatalf(format string, args ...any)
	Context() context.Context
}

// authzSetupT is an authzT for a goroutine that is not a test's: Fatalf
// panics, and the goroutine recovers and hands the error to the test.
type authzSetupT struct{ ctx context.Context }

func (authzSetupT) Helper()                           {}
func (authzSetupT) Fatalf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }
func (s authzSetupT) Context() context.Context        { return s.ctx }

// newAuthzWorld builds a world. Its store lives in a temporary directory
// of owner and is closed when owner ends.
func newAuthzWorld(t authzT, owner *testing.T) *authzWorld {
	t.Helper()
	ctx := t.Context()
	st := openStore(owner, current)
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	s, err := New(ctx, st, Config{Region: region, AccountID: account, Now: clk.Now})
	if err != nil {
		t.Fatalf("service: %v", err)
	}
	w := &authzWorld{s: s, clk: clk, st: st, users: map[string]string{}, shared: map[string]*authzShared{}}
	newApp := func(token string) (string, string) {
		out, err := s.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: p(token), ClientRequestToken: p(token)})
		if err != nil {
			t.Fatalf("app instance: %v", err)
		}
		a, err := chime.ParseARN(*out.AppInstanceArn)
		if err != nil {
			t.Fatalf("app instance ARN: %v", err)
		}
		return *out.AppInstanceArn, a.AppInstanceID
	}
	newUser := func(app, id string) string {
		out, err := s.CreateAppInstanceUser(ctx, &chime.CreateAppInstanceUserRequest{AppInstanceArn: &app, AppInstanceUserId: &id, Name: &id})
		if err != nil {
			t.Fatalf("user %s: %v", id, err)
		}
		return *out.AppInstanceUserArn
	}
	w.app, w.appID = newApp("authz-app")
	for _, u := range authzFixtureUsers {
		w.users[u] = newUser(w.app, u)
	}
	for _, u := range []string{"admin", "adminmem"} {
		if _, err := s.CreateAppInstanceAdmin(ctx, &chime.CreateAppInstanceAdminRequest{AppInstanceArn: &w.app, AppInstanceAdminArn: p(w.users[u])}); err != nil {
			t.Fatalf("admin %s: %v", u, err)
		}
	}
	w.otherApp, w.otherAppID = newApp("authz-other-app")
	w.stranger = newUser(w.otherApp, "stranger")
	flow, err := s.CreateChannelFlow(ctx, &chime.CreateChannelFlowRequest{AppInstanceArn: &w.app, Name: p("flow"), ClientRequestToken: p("authz-flow"),
		Processors: []chime.Processor{{Name: p("p"), ExecutionOrder: p(int32(1)), FallbackAction: chime.FallbackActionContinue,
			Configuration: &chime.ProcessorConfiguration{Lambda: &chime.LambdaConfiguration{ResourceArn: p("arn:aws:lambda:us-east-1:111122223333:function:f"), InvocationType: chime.InvocationTypeAsync}}}}})
	if err != nil {
		t.Fatalf("channel flow: %v", err)
	}
	w.flow = *flow.ChannelFlowArn
	w.buildShared(t, authzKinds...)
	return w
}

// buildShared creates (or replaces) the shared channels of kinds, then
// takes the baseline snapshot of every shared channel (each holds the list
// of all channels, which this changes).
func (w *authzWorld) buildShared(t authzT, kinds ...authzKind) {
	t.Helper()
	for _, k := range kinds {
		if old := w.shared[k.name]; old != nil {
			w.deleteChannel(t, w.appID, old.chID)
		}
		w.shared[k.name] = &authzShared{authzChannel: w.createChannel(t, k, "shared-", authzRoles, authzSenders)}
	}
	var chans []*authzChannel
	for _, k := range authzKinds {
		chans = append(chans, w.shared[k.name].authzChannel)
	}
	for i, snap := range w.snapshots(t, chans, partAll) {
		w.shared[authzKinds[i].name].base = snap
	}
}

// checkShared compares the parts of every shared channel with its
// baseline, reports the differences, and rebuilds the channels that
// differ.
func (w *authzWorld) checkShared(t *testing.T, what string, parts authzParts) {
	t.Helper()
	var changed []authzKind
	var chans []*authzChannel
	for _, k := range authzKinds {
		chans = append(chans, w.shared[k.name].authzChannel)
	}
	snaps := w.snapshots(t, chans, parts)
	for i, k := range authzKinds {
		if diffs := authzDiff(w.shared[k.name].base, snaps[i], parts); len(diffs) > 0 {
			t.Errorf("%s changed the shared %s channel:\n%s", what, k.name, strings.Join(diffs, "\n"))
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 {
		w.buildShared(t, changed...)
	}
}

// createChannel creates a fixture channel of kind k holding the roles and
// messages of senders, plus the targets every operation needs: "other" a
// DEFAULT member, "mod2" a moderator, "banned" banned, and a tag.
func (w *authzWorld) createChannel(t authzT, k authzKind, prefix string, roles []authzRole, senders []string) *authzChannel {
	t.Helper()
	w.n++
	c := &authzChannel{kind: k, chID: fmt.Sprintf("%s%04d", prefix, w.n), msg: map[string]string{}}
	c.ch = w.s.channelArn(w.appID, c.chID)
	privacy, mode := chime.ChannelPrivacyPrivate, chime.ChannelModeRestricted
	if k.public {
		privacy = chime.ChannelPrivacyPublic
	}
	if k.unrestricted {
		mode = chime.ChannelModeUnrestricted
	}
	t0 := w.clk.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	ctx := t.Context()
	err := w.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateChannel(ctx, store.Channel{
			AppInstanceID: w.appID, ChannelID: c.chID, Name: "authz", Mode: mode, Privacy: privacy, Metadata: "meta",
			CreatedByKind: store.MemberUser, CreatedByID: "other", CreatedByName: "other", CreatedAt: t0, UpdatedAt: t0,
		}); err != nil {
			return fmt.Errorf("channel: %w", err)
		}
		member := func(id string, typ chime.ChannelMembershipType) error {
			_, err := tx.CreateChannelMembership(ctx, store.ChannelMembership{
				AppInstanceID: w.appID, ChannelID: c.chID, Member: authzActor(id), Type: typ,
				InvitedBy: authzActor("other"), InvitedByName: "other", CreatedAt: t0, UpdatedAt: t0,
			})
			if err != nil {
				return fmt.Errorf("membership of %s: %w", id, err)
			}
			return nil
		}
		grant := func(kind store.GrantKind, id string) error {
			_, err := tx.CreateChannelGrant(ctx, kind, store.ChannelGrant{
				AppInstanceID: w.appID, ChannelID: c.chID, Member: authzActor(id),
				CreatedBy: authzActor("other"), CreatedByName: "other", CreatedAt: t0,
			})
			if err != nil {
				return fmt.Errorf("%s of %s: %w", kind, id, err)
			}
			return nil
		}
		banned := false
		for _, r := range roles {
			var err error
			switch {
			case r.member:
				err = member(r.user, chime.ChannelMembershipTypeDefault)
			case r.hidden:
				err = member(r.user, chime.ChannelMembershipTypeHidden)
			}
			if err == nil && r.moderator {
				err = grant(store.Moderator, r.user)
			}
			if err == nil && r.banned {
				err = grant(store.Ban, r.user)
				banned = banned || r.user == "banned"
			}
			if err != nil {
				return err
			}
		}
		if err := member("other", chime.ChannelMembershipTypeDefault); err != nil {
			return err
		}
		if err := grant(store.Moderator, "mod2"); err != nil {
			return err
		}
		if !banned {
			if err := grant(store.Ban, "banned"); err != nil {
				return err
			}
		}
		for i, u := range senders {
			id := c.chID + "-" + u
			at := t0.Add(time.Duration(i+1) * time.Second)
			if _, err := tx.CreateChannelMessage(ctx, store.ChannelMessage{
				AppInstanceID: w.appID, ChannelID: c.chID, MessageID: id, Content: "hello from " + u, Metadata: "md",
				Type: chime.ChannelMessageTypeStandard, Sender: authzActor(u), SenderName: u,
				Status: chime.ChannelMessageStatusSent, CreatedAt: at, UpdatedAt: at,
			}); err != nil {
				return fmt.Errorf("message of %s: %w", u, err)
			}
			c.msg[u] = id
		}
		return tx.PutTags(ctx, w.appID, c.ch, []store.Tag{{Key: "k", Value: "v"}})
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return c
}

// deleteChannel deletes a channel and its tags, if it exists.
func (w *authzWorld) deleteChannel(t authzT, appID, chID string) {
	t.Helper()
	ctx := t.Context()
	err := w.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteChannel(ctx, appID, chID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := tx.DeleteAllTags(ctx, w.s.channelArn(appID, chID))
		return err
	})
	if err != nil {
		t.Fatalf("delete channel %s: %v", chID, err)
	}
}

// authzSnapshot is the state of a channel that denied calls must not
// change. Seq (the store's creation order) is left out and lists are keyed
// by member or id, so that an undo may re-create a deleted record as it
// was.
type authzSnapshot struct {
	Channel        store.Channel
	ChannelErr     string
	DefaultMembers map[string]store.ChannelMembership
	HiddenMembers  map[string]store.ChannelMembership
	Moderators     map[string]store.ChannelGrant
	Bans           map[string]store.ChannelGrant
	// Messages is every message by id (as "other" and the viewers see
	// them; every fixture message is SENT and visible to all).
	Messages map[string]store.ChannelMessage
	// Visible is, for "other" and each viewer, the ids of the messages
	// ListChannelMessages shows it, in order (new ones included).
	Visible  map[string][]string
	Tags     []store.Tag
	Channels []string // every channel of both app instances but the fresh ones
}

// authzParts selects parts of a snapshot.
type authzParts uint8

const (
	partChannel  authzParts = 1 << iota // the channel record
	partMembers                         // memberships of both types
	partGrants                          // moderators and bans
	partMessages                        // messages by id and as "other" sees them
	partViewers                         // the messages each role's user sees
	partTags                            // the channel's tags
	partChannels                        // the channels of both app instances

	partAll = partChannel | partMembers | partGrants | partMessages | partViewers | partTags | partChannels
)

// authzViewers are the users whose view of the messages a full snapshot
// holds: "other" and every role's user.
func authzViewers() []string {
	v := []string{"other"}
	for _, r := range authzRoles {
		v = append(v, r.user)
	}
	return v
}

// snapshots reads the parts of the state of channels, in one read
// transaction.
func (w *authzWorld) snapshots(t authzT, chans []*authzChannel, parts authzParts) []authzSnapshot {
	t.Helper()
	out := make([]authzSnapshot, len(chans))
	ctx := t.Context()
	var viewers []string
	switch {
	case parts&partViewers != 0:
		viewers = authzViewers()
	case parts&partMessages != 0:
		viewers = []string{"other"}
	}
	err := w.st.View(ctx, func(tx store.ReadTx) error {
		var channels []string
		if parts&partChannels != 0 {
			for _, ai := range []string{w.appID, w.otherAppID} {
				chs, err := tx.ListChannels(ctx, ai, "", store.Page{})
				if err != nil {
					return err
				}
				for _, ch := range chs {
					if !strings.HasPrefix(ch.ChannelID, "fresh-") {
						channels = append(channels, ai+"/"+ch.ChannelID)
					}
				}
			}
		}
		for i, c := range chans {
			s := authzSnapshot{
				DefaultMembers: map[string]store.ChannelMembership{}, HiddenMembers: map[string]store.ChannelMembership{},
				Moderators: map[string]store.ChannelGrant{}, Bans: map[string]store.ChannelGrant{},
				Messages: map[string]store.ChannelMessage{}, Visible: map[string][]string{}, Channels: channels,
			}
			if err := w.readSnapshot(ctx, tx, c, parts, viewers, &s); err != nil {
				return err
			}
			out[i] = s
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return out
}

// readSnapshot reads the parts of channel c but the list of channels.
func (w *authzWorld) readSnapshot(ctx context.Context, tx store.ReadTx, c *authzChannel, parts authzParts, viewers []string, s *authzSnapshot) error {
	var err error
	if parts&partChannel != 0 {
		if s.Channel, err = tx.GetChannel(ctx, w.appID, c.chID); err != nil {
			s.ChannelErr = err.Error()
		}
	}
	for typ, into := range map[chime.ChannelMembershipType]map[string]store.ChannelMembership{
		chime.ChannelMembershipTypeDefault: s.DefaultMembers, chime.ChannelMembershipTypeHidden: s.HiddenMembers,
	} {
		if parts&partMembers == 0 {
			break
		}
		ms, err := tx.ListChannelMemberships(ctx, w.appID, c.chID, string(typ), store.Page{})
		if err != nil {
			return err
		}
		for _, m := range ms {
			m.Seq = 0
			into[m.Member.ID] = m
		}
	}
	for kind, into := range map[store.GrantKind]map[string]store.ChannelGrant{store.Moderator: s.Moderators, store.Ban: s.Bans} {
		if parts&partGrants == 0 {
			break
		}
		gs, err := tx.ListChannelGrants(ctx, kind, w.appID, c.chID, store.Page{})
		if err != nil {
			return err
		}
		for _, g := range gs {
			g.Seq = 0
			into[g.Member.ID] = g
		}
	}
	for _, v := range viewers {
		ms, err := tx.ListChannelMessages(ctx, w.appID, c.chID, store.MessageQuery{Viewer: authzActor(v)})
		if err != nil {
			return err
		}
		s.Visible[v] = []string{}
		for _, m := range ms {
			s.Visible[v] = append(s.Visible[v], m.MessageID)
			m.Seq = 0
			s.Messages[m.MessageID] = m
		}
	}
	if parts&partTags != 0 {
		if s.Tags, err = tx.ListTags(ctx, c.ch); err != nil {
			return err
		}
	}
	return nil
}

// authzDiff describes what differs between a baseline and a later
// snapshot of some parts.
func authzDiff(before, after authzSnapshot, parts authzParts) []string {
	keep := func(p authzParts, clear func(*authzSnapshot)) {
		if parts&p == 0 {
			clear(&before)
			clear(&after)
		}
	}
	keep(partChannel, func(s *authzSnapshot) { s.Channel, s.ChannelErr = store.Channel{}, "" })
	keep(partMembers, func(s *authzSnapshot) { s.DefaultMembers, s.HiddenMembers = nil, nil })
	keep(partGrants, func(s *authzSnapshot) { s.Moderators, s.Bans = nil, nil })
	keep(partMessages|partViewers, func(s *authzSnapshot) { s.Messages = nil })
	keep(partTags, func(s *authzSnapshot) { s.Tags = nil })
	keep(partChannels, func(s *authzSnapshot) { s.Channels = nil })
	visible := map[string][]string{}
	for v := range after.Visible {
		visible[v] = before.Visible[v]
	}
	before.Visible = visible
	var out []string
	b, a := reflect.ValueOf(before), reflect.ValueOf(after)
	for i := range b.NumField() {
		name, bf, af := b.Type().Field(i).Name, b.Field(i), a.Field(i)
		if reflect.DeepEqual(bf.Interface(), af.Interface()) {
			continue
		}
		if bf.Kind() != reflect.Map {
			out = append(out, fmt.Sprintf("%s changed:\n  before %+v\n  after  %+v", name, bf.Interface(), af.Interface()))
			continue
		}
		// Maps: only the entries that differ.
		keys := map[string]reflect.Value{}
		for _, k := range append(bf.MapKeys(), af.MapKeys()...) {
			keys[k.String()] = k
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			bv, av := bf.MapIndex(keys[k]), af.MapIndex(keys[k])
			switch {
			case !bv.IsValid():
				out = append(out, fmt.Sprintf("%s[%s] appeared: %+v", name, k, av.Interface()))
			case !av.IsValid():
				out = append(out, fmt.Sprintf("%s[%s] disappeared: was %+v", name, k, bv.Interface()))
			case !reflect.DeepEqual(bv.Interface(), av.Interface()):
				out = append(out, fmt.Sprintf("%s[%s] changed:\n  before %+v\n  after  %+v", name, k, bv.Interface(), av.Interface()))
			}
		}
	}
	return out
}

// membershipOf finds id's membership in a snapshot.
func (s authzSnapshot) membershipOf(id string) (store.ChannelMembership, bool) {
	if m, ok := s.DefaultMembers[id]; ok {
		return m, true
	}
	m, ok := s.HiddenMembers[id]
	return m, ok
}

// authzCall is one cell being run.
type authzCall struct {
	ctx context.Context
	w   *authzWorld
	*authzChannel
	role   authzRole
	bearer string // the bearer's ARN
	n      int    // unique per cell, for tokens and ids
	// base is the baseline of the shared channel the cell runs on; nil
	// for a fresh channel.
	base *authzSnapshot
}

func (c *authzCall) user(id string) string { return c.w.users[id] }

// ownMsg is the message the bearer sent.
func (c *authzCall) ownMsg() *string { return p(c.msg[c.role.user]) }

// Store look-ups for the checks of allowed calls.

func (c *authzCall) membership(t *testing.T, id string) (store.ChannelMembership, bool) {
	t.Helper()
	var m store.ChannelMembership
	err := c.w.st.View(c.ctx, func(tx store.ReadTx) error {
		var err error
		m, err = tx.GetChannelMembership(c.ctx, c.w.appID, c.chID, authzActor(id))
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return m, err == nil
}

func (c *authzCall) hasGrant(t *testing.T, kind store.GrantKind, id string) bool {
	t.Helper()
	err := c.w.st.View(c.ctx, func(tx store.ReadTx) error {
		_, err := tx.GetChannelGrant(c.ctx, kind, c.w.appID, c.chID, authzActor(id))
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func (c *authzCall) message(t *testing.T, id string) (store.ChannelMessage, bool) {
	t.Helper()
	var m store.ChannelMessage
	err := c.w.st.View(c.ctx, func(tx store.ReadTx) error {
		var err error
		m, err = tx.GetChannelMessage(c.ctx, c.w.appID, c.chID, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return m, err == nil
}

func (c *authzCall) channel(t *testing.T, appID, id string) (store.Channel, bool) {
	t.Helper()
	var ch store.Channel
	err := c.w.st.View(c.ctx, func(tx store.ReadTx) error {
		var err error
		ch, err = tx.GetChannel(c.ctx, appID, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return ch, err == nil
}

// authzOp is one bearer operation (or one variant of it) under test.
type authzOp struct {
	name string // subtest name
	row  string // authzTable row
	// own says the call addresses the bearer's own resource.
	own bool
	// pending says why the operation is not tested yet.
	pending string
	// channelless operations name no channel: the missing-channel check
	// does not apply.
	channelless bool
	// crossApp is what a bearer of another app instance gets: nil means
	// ForbiddenException; an empty non-nil list skips the check (the call
	// then asks about the bearer's own resources only).
	crossApp []chime.ErrorKind
	call     func(c *authzCall) (any, error)
	// result is the error kind an allowed call answers; nil or "" means
	// success.
	result func(c *authzCall) chime.ErrorKind
	// check verifies the answer and effect of an allowed call that
	// succeeded.
	check func(t *testing.T, c *authzCall, out any)
	// touches are the parts of a channel's state the operation can
	// change (from what it does, not from how it is implemented): they
	// are compared with the baseline after its cells. Read operations
	// touch nothing; every part of every shared channel is compared once
	// more after the last operation.
	touches authzParts
	// fresh says an allowed call runs on a fresh channel of its own
	// (DeleteChannel: there is no undoing it).
	fresh bool
	// undo reverts, in the shared channel, what an allowed call that
	// succeeded created, updated or deleted.
	undo func(ctx context.Context, tx store.Tx, c *authzCall, out any) error
}

// authzARNs collects the ARNs (or ids) of a list answer.
func authzARNs[T any](items []T, arn func(T) *string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, deref(arn(it)))
	}
	return out
}

// authzWantListed checks that list contains arn if and only if want.
func authzWantListed(t *testing.T, list []string, arn string, want bool) {
	t.Helper()
	if slices.Contains(list, arn) != want {
		t.Errorf("listed = %v; want %s listed: %v", list, arn, want)
	}
}

func authzOps() []authzOp {
	ok := func(t *testing.T, cond bool, format string, args ...any) {
		t.Helper()
		if !cond {
			t.Errorf(format, args...)
		}
	}
	conflictIfMember := func(c *authzCall) chime.ErrorKind {
		if c.role.isMember() {
			return chime.Conflict
		}
		return ""
	}
	notFoundUnless := func(has func(authzRole) bool) func(c *authzCall) chime.ErrorKind {
		return func(c *authzCall) chime.ErrorKind {
			if has(c.role) {
				return ""
			}
			return chime.NotFound
		}
	}
	// Undos.
	dropMembership := func(id func(c *authzCall) string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			return tx.DeleteChannelMembership(ctx, c.w.appID, c.chID, authzActor(id(c)))
		}
	}
	outsider := func(*authzCall) string { return "outsider" }
	dropGrant := func(kind store.GrantKind) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			return tx.DeleteChannelGrant(ctx, kind, c.w.appID, c.chID, authzActor("outsider"))
		}
	}
	restoreChannel := func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
		return tx.UpdateChannel(ctx, c.base.Channel)
	}
	restoreMembership := func(id func(c *authzCall) string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			m, found := c.base.membershipOf(id(c))
			if !found {
				return fmt.Errorf("no baseline membership of %s", id(c))
			}
			return tx.UpdateChannelMembership(ctx, m)
		}
	}
	bearer := func(c *authzCall) string { return c.role.user }
	other := func(*authzCall) string { return "other" }
	restoreMessage := func(id func(c *authzCall) string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			return tx.UpdateChannelMessage(ctx, c.base.Messages[id(c)])
		}
	}
	recreateGrant := func(kind store.GrantKind, id string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			g := c.base.Moderators[id]
			if kind == store.Ban {
				g = c.base.Bans[id]
			}
			_, err := tx.CreateChannelGrant(ctx, kind, g)
			return err
		}
	}
	recreateMembership := func(id func(c *authzCall) string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			m, found := c.base.membershipOf(id(c))
			if !found { // the bearer had none: leaving was a no-op
				return nil
			}
			_, err := tx.CreateChannelMembership(ctx, m)
			return err
		}
	}
	recreateMessage := func(id func(c *authzCall) string) func(context.Context, store.Tx, *authzCall, any) error {
		return func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
			_, err := tx.CreateChannelMessage(ctx, c.base.Messages[id(c)])
			return err
		}
	}
	own := func(c *authzCall) string { return *c.ownMsg() }
	others := func(c *authzCall) string { return c.msg["other"] }

	prefs := &chime.ChannelMembershipPreferences{PushNotifications: &chime.PushNotificationPreferences{AllowNotifications: chime.AllowNotificationsNone}}
	selfOnly := []chime.ErrorKind{}
	newChannelID := func(c *authzCall) string { return fmt.Sprintf("new-%04d", c.n) }

	return []authzOp{
		{name: "AssociateChannelFlow", row: "AssociateChannelFlow", touches: partChannel,
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.AssociateChannelFlow(c.ctx, &chime.AssociateChannelFlowRequest{ChannelArn: &c.ch, ChannelFlowArn: &c.w.flow, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ch, _ := c.channel(t, c.w.appID, c.chID)
				ok(t, ch.FlowID != "" && strings.HasSuffix(c.w.flow, "/"+ch.FlowID), "channel flow = %q, want %s", ch.FlowID, c.w.flow)
			},
			undo: func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
				return tx.UpdateChannel(ctx, c.base.Channel)
			}},
		// The shared channels have no flow: an allowed caller learns so
		// (NotFoundException); the others are refused first.
		{name: "DisassociateChannelFlow", row: "DisassociateChannelFlow", touches: partChannel,
			undo: func(context.Context, store.Tx, *authzCall, any) error { return nil }, // it changed nothing
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DisassociateChannelFlow(c.ctx, &chime.DisassociateChannelFlowRequest{ChannelArn: &c.ch, ChannelFlowArn: &c.w.flow, ChimeBearer: &c.bearer})
			},
			result: func(*authzCall) chime.ErrorKind { return chime.NotFound }},
		// The shared channels are standard: an allowed caller learns that
		// only elastic channels have sub-channels (BadRequestException);
		// the others are refused first. service/elastic_test.go covers
		// elastic channels.
		{name: "ListSubChannels", row: "ListSubChannels",
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListSubChannels(c.ctx, &chime.ListSubChannelsRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			result: func(*authzCall) chime.ErrorKind { return chime.BadRequest }},

		// Channelless operations.
		{name: "CreateChannel", touches: partChannels, row: "CreateChannel", channelless: true,
			call: func(c *authzCall) (any, error) {
				privacy, mode := chime.ChannelPrivacyPrivate, chime.ChannelModeRestricted
				if c.kind.public {
					privacy = chime.ChannelPrivacyPublic
				}
				if c.kind.unrestricted {
					mode = chime.ChannelModeUnrestricted
				}
				return c.w.s.CreateChannel(c.ctx, &chime.CreateChannelRequest{AppInstanceArn: &c.w.app, ChimeBearer: &c.bearer, Name: p("new"),
					ChannelId: p(newChannelID(c)), Privacy: privacy, Mode: mode, ClientRequestToken: p(fmt.Sprint("tok-", c.n))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				arn := deref(out.(*chime.CreateChannelResponse).ChannelArn)
				ch, exists := c.channel(t, c.w.appID, newChannelID(c))
				ok(t, arn == c.w.s.channelArn(c.w.appID, newChannelID(c)) && exists && ch.CreatedByID == c.role.user &&
					string(ch.Privacy) == map[bool]string{true: "PUBLIC", false: "PRIVATE"}[c.kind.public], "created %s: %+v, %v", arn, ch, exists)
			},
			undo: func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
				if err := tx.DeleteChannel(ctx, c.w.appID, newChannelID(c)); err != nil {
					return err
				}
				_, err := tx.DeleteAllTags(ctx, c.w.s.channelArn(c.w.appID, newChannelID(c)))
				return err
			}},
		{name: "ListChannels(PRIVATE)", row: "ListChannels(PRIVATE)", channelless: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannels(c.ctx, &chime.ListChannelsRequest{AppInstanceArn: &c.w.app, ChimeBearer: &c.bearer, Privacy: chime.ChannelPrivacyPrivate})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelsResponse).Channels, func(s chime.ChannelSummary) *string { return s.ChannelArn })
				authzWantListed(t, got, c.ch, !c.kind.public)
			}},
		{name: "ListChannels(PUBLIC)", row: "ListChannels(PUBLIC)", channelless: true,
			call: func(c *authzCall) (any, error) {
				// Privacy omitted: PUBLIC (semantics.md §2.3).
				return c.w.s.ListChannels(c.ctx, &chime.ListChannelsRequest{AppInstanceArn: &c.w.app, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelsResponse).Channels, func(s chime.ChannelSummary) *string { return s.ChannelArn })
				authzWantListed(t, got, c.ch, c.kind.public)
			}},
		{name: "ListChannelMembershipsForAppInstanceUser(self)", row: "ListChannelMembershipsForAppInstanceUser", own: true, channelless: true, crossApp: selfOnly,
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelMembershipsForAppInstanceUser(c.ctx, &chime.ListChannelMembershipsForAppInstanceUserRequest{ChimeBearer: &c.bearer, AppInstanceUserArn: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelMembershipsForAppInstanceUserResponse).ChannelMemberships,
					func(m chime.ChannelMembershipForAppInstanceUserSummary) *string { return m.ChannelSummary.ChannelArn })
				authzWantListed(t, got, c.ch, c.role.isMember())
			}},
		{name: "ListChannelMembershipsForAppInstanceUser(other)", row: "ListChannelMembershipsForAppInstanceUser", channelless: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelMembershipsForAppInstanceUser(c.ctx, &chime.ListChannelMembershipsForAppInstanceUserRequest{ChimeBearer: &c.bearer, AppInstanceUserArn: p(c.user("other"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelMembershipsForAppInstanceUserResponse).ChannelMemberships,
					func(m chime.ChannelMembershipForAppInstanceUserSummary) *string { return m.ChannelSummary.ChannelArn })
				authzWantListed(t, got, c.ch, true)
			}},
		{name: "ListChannelsModeratedByAppInstanceUser(self)", row: "ListChannelsModeratedByAppInstanceUser", own: true, channelless: true, crossApp: selfOnly,
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelsModeratedByAppInstanceUser(c.ctx, &chime.ListChannelsModeratedByAppInstanceUserRequest{ChimeBearer: &c.bearer, AppInstanceUserArn: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelsModeratedByAppInstanceUserResponse).Channels,
					func(m chime.ChannelModeratedByAppInstanceUserSummary) *string { return m.ChannelSummary.ChannelArn })
				authzWantListed(t, got, c.ch, c.role.moderator)
			}},
		{name: "ListChannelsModeratedByAppInstanceUser(other)", row: "ListChannelsModeratedByAppInstanceUser", channelless: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelsModeratedByAppInstanceUser(c.ctx, &chime.ListChannelsModeratedByAppInstanceUserRequest{ChimeBearer: &c.bearer, AppInstanceUserArn: p(c.user("mod2"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelsModeratedByAppInstanceUserResponse).Channels,
					func(m chime.ChannelModeratedByAppInstanceUserSummary) *string { return m.ChannelSummary.ChannelArn })
				authzWantListed(t, got, c.ch, true)
			}},
		{name: "SearchChannels", row: "SearchChannels", channelless: true,
			// A bearer of another app instance searching this one's members:
			// semantics.md §2.1.6 allows ForbiddenException or
			// BadRequestException.
			crossApp: []chime.ErrorKind{chime.Forbidden, chime.BadRequest},
			call: func(c *authzCall) (any, error) {
				return c.w.s.SearchChannels(c.ctx, &chime.SearchChannelsRequest{ChimeBearer: &c.bearer, Fields: []chime.SearchField{
					{Key: chime.SearchFieldKeyMembers, Operator: chime.SearchFieldOperatorIncludes, Values: []string{c.user("other")}},
				}})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.SearchChannelsResponse).Channels, func(s chime.ChannelSummary) *string { return s.ChannelArn })
				authzWantListed(t, got, c.ch, c.role.searchesAll(parseAuthzTable(t)["SearchChannels"]) || c.role.isMember())
			}},

		// Channel operations.
		{name: "BatchCreateChannelMembership", touches: partChannel | partMembers, row: "BatchCreateChannelMembership",
			call: func(c *authzCall) (any, error) {
				return c.w.s.BatchCreateChannelMembership(c.ctx, &chime.BatchCreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArns: []string{c.user("outsider")}})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				r := out.(*chime.BatchCreateChannelMembershipResponse)
				ok(t, len(r.Errors) == 0, "Errors = %+v", r.Errors)
				_, added := c.membership(t, "outsider")
				ok(t, added, "outsider was not added")
			},
			undo: dropMembership(outsider)},
		{name: "BatchCreateChannelMembership(HIDDEN)", row: "BatchCreateChannelMembership(HIDDEN)", touches: partChannel | partMembers,
			call: func(c *authzCall) (any, error) {
				return c.w.s.BatchCreateChannelMembership(c.ctx, &chime.BatchCreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer,
					MemberArns: []string{c.user("outsider")}, Type: chime.ChannelMembershipTypeHidden})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				r := out.(*chime.BatchCreateChannelMembershipResponse)
				ok(t, len(r.Errors) == 0, "Errors = %+v", r.Errors)
				m, added := c.membership(t, "outsider")
				ok(t, added && m.Type == chime.ChannelMembershipTypeHidden, "outsider's membership = %+v, %v", m, added)
			},
			undo: dropMembership(outsider)},
		{name: "CreateChannelMembership(HIDDEN)", row: "CreateChannelMembership(HIDDEN)", touches: partChannel | partMembers,
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelMembership(c.ctx, &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer,
					MemberArn: p(c.user("outsider")), Type: chime.ChannelMembershipTypeHidden})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, added := c.membership(t, "outsider")
				ok(t, added && m.Type == chime.ChannelMembershipTypeHidden, "outsider's membership = %+v, %v", m, added)
			},
			undo: dropMembership(outsider)},
		{name: "CreateChannelBan(admin)", row: "CreateChannelBan(admin)", touches: partChannel | partMembers | partGrants,
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelBan(c.ctx, &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("admin"))})
			},
			undo: func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
				return tx.DeleteChannelGrant(ctx, store.Ban, c.w.appID, c.chID, authzActor("admin"))
			}},
		{name: "CreateChannelBan(moderator)", row: "CreateChannelBan(moderator)", touches: partChannel | partMembers | partGrants,
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelBan(c.ctx, &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("mod2"))})
			},
			undo: func(ctx context.Context, tx store.Tx, c *authzCall, _ any) error {
				return tx.DeleteChannelGrant(ctx, store.Ban, c.w.appID, c.chID, authzActor("mod2"))
			}},
		{name: "CreateChannelMembership(other)", touches: partChannel | partMembers, row: "CreateChannelMembership",
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelMembership(c.ctx, &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("outsider"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, added := c.membership(t, "outsider")
				ok(t, added && m.Type == chime.ChannelMembershipTypeDefault, "outsider's membership = %+v, %v", m, added)
			},
			undo: dropMembership(outsider)},
		{name: "CreateChannelMembership(self)", touches: partChannel | partMembers, row: "CreateChannelMembership(self)", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelMembership(c.ctx, &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: &c.bearer})
			},
			result: conflictIfMember,
			check: func(t *testing.T, c *authzCall, _ any) {
				_, joined := c.membership(t, c.role.user)
				ok(t, joined, "the bearer did not join")
			},
			undo: dropMembership(bearer)},
		{name: "CreateChannelBan", touches: partChannel | partMembers | partGrants, row: "CreateChannelBan",
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelBan(c.ctx, &chime.CreateChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("outsider"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ok(t, c.hasGrant(t, store.Ban, "outsider"), "outsider not banned")
			},
			undo: dropGrant(store.Ban)},
		{name: "CreateChannelModerator", touches: partChannel | partGrants, row: "CreateChannelModerator",
			call: func(c *authzCall) (any, error) {
				return c.w.s.CreateChannelModerator(c.ctx, &chime.CreateChannelModeratorRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, ChannelModeratorArn: p(c.user("outsider"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ok(t, c.hasGrant(t, store.Moderator, "outsider"), "outsider not a moderator")
			},
			undo: dropGrant(store.Moderator)},
		{name: "DeleteChannel", touches: partAll, row: "DeleteChannel", fresh: true,
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannel(c.ctx, &chime.DeleteChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				_, exists := c.channel(t, c.w.appID, c.chID)
				ok(t, !exists, "the channel still exists")
			}},
		{name: "DeleteChannelBan", touches: partChannel | partGrants, row: "DeleteChannelBan",
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelBan(c.ctx, &chime.DeleteChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("banned"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ok(t, !c.hasGrant(t, store.Ban, "banned"), "the ban is still there")
			},
			undo: recreateGrant(store.Ban, "banned")},
		{name: "DeleteChannelMembership(self)", touches: partChannel | partMembers, row: "DeleteChannelMembership", own: true,
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelMembership(c.ctx, &chime.DeleteChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				_, still := c.membership(t, c.role.user)
				ok(t, !still, "the bearer is still a member")
			},
			undo: recreateMembership(bearer)},
		{name: "DeleteChannelMembership(other)", touches: partChannel | partMembers, row: "DeleteChannelMembership",
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelMembership(c.ctx, &chime.DeleteChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("other"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				_, still := c.membership(t, "other")
				ok(t, !still, "other is still a member")
			},
			undo: recreateMembership(other)},
		{name: "DeleteChannelMessage(own)", touches: partChannel | partMessages, row: "DeleteChannelMessage", own: true,
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelMessage(c.ctx, &chime.DeleteChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: c.ownMsg()})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				_, still := c.message(t, *c.ownMsg())
				ok(t, !still, "the message still exists")
			},
			undo: recreateMessage(own)},
		{name: "DeleteChannelMessage(other's)", touches: partChannel | partMessages, row: "DeleteChannelMessage",
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelMessage(c.ctx, &chime.DeleteChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: p(c.msg["other"])})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				_, still := c.message(t, c.msg["other"])
				ok(t, !still, "the message still exists")
			},
			undo: recreateMessage(others)},
		{name: "DeleteChannelModerator", touches: partChannel | partGrants, row: "DeleteChannelModerator",
			call: func(c *authzCall) (any, error) {
				return nil, c.w.s.DeleteChannelModerator(c.ctx, &chime.DeleteChannelModeratorRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, ChannelModeratorArn: p(c.user("mod2"))})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ok(t, !c.hasGrant(t, store.Moderator, "mod2"), "mod2 is still a moderator")
			},
			undo: recreateGrant(store.Moderator, "mod2")},
		{name: "DescribeChannel", row: "DescribeChannel",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannel(c.ctx, &chime.DescribeChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelResponse).Channel.ChannelArn)
				ok(t, got == c.ch, "ChannelArn = %s", got)
			}},
		{name: "DescribeChannelBan", row: "DescribeChannelBan",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelBan(c.ctx, &chime.DescribeChannelBanRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("banned"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelBanResponse).ChannelBan.Member.Arn)
				ok(t, got == c.user("banned"), "Member = %s", got)
			}},
		{name: "DescribeChannelMembership", row: "DescribeChannelMembership",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelMembership(c.ctx, &chime.DescribeChannelMembershipRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("other"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelMembershipResponse).ChannelMembership.Member.Arn)
				ok(t, got == c.user("other"), "Member = %s", got)
			}},
		{name: "DescribeChannelMembershipForAppInstanceUser(self)", row: "DescribeChannelMembershipForAppInstanceUser", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelMembershipForAppInstanceUser(c.ctx, &chime.DescribeChannelMembershipForAppInstanceUserRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, AppInstanceUserArn: &c.bearer})
			},
			result: notFoundUnless(authzRole.isMember),
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelMembershipForAppInstanceUserResponse).ChannelMembership.ChannelSummary.ChannelArn)
				ok(t, got == c.ch, "ChannelArn = %s", got)
			}},
		{name: "DescribeChannelMembershipForAppInstanceUser(other)", row: "DescribeChannelMembershipForAppInstanceUser",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelMembershipForAppInstanceUser(c.ctx, &chime.DescribeChannelMembershipForAppInstanceUserRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, AppInstanceUserArn: p(c.user("other"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelMembershipForAppInstanceUserResponse).ChannelMembership.ChannelSummary.ChannelArn)
				ok(t, got == c.ch, "ChannelArn = %s", got)
			}},
		{name: "DescribeChannelModeratedByAppInstanceUser(self)", row: "DescribeChannelModeratedByAppInstanceUser", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelModeratedByAppInstanceUser(c.ctx, &chime.DescribeChannelModeratedByAppInstanceUserRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, AppInstanceUserArn: &c.bearer})
			},
			result: notFoundUnless(func(r authzRole) bool { return r.moderator }),
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelModeratedByAppInstanceUserResponse).Channel.ChannelSummary.ChannelArn)
				ok(t, got == c.ch, "ChannelArn = %s", got)
			}},
		{name: "DescribeChannelModeratedByAppInstanceUser(other)", row: "DescribeChannelModeratedByAppInstanceUser",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelModeratedByAppInstanceUser(c.ctx, &chime.DescribeChannelModeratedByAppInstanceUserRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, AppInstanceUserArn: p(c.user("mod2"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelModeratedByAppInstanceUserResponse).Channel.ChannelSummary.ChannelArn)
				ok(t, got == c.ch, "ChannelArn = %s", got)
			}},
		{name: "DescribeChannelModerator", row: "DescribeChannelModerator",
			call: func(c *authzCall) (any, error) {
				return c.w.s.DescribeChannelModerator(c.ctx, &chime.DescribeChannelModeratorRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, ChannelModeratorArn: p(c.user("mod2"))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := deref(out.(*chime.DescribeChannelModeratorResponse).ChannelModerator.Moderator.Arn)
				ok(t, got == c.user("mod2"), "Moderator = %s", got)
			}},
		{name: "GetChannelMembershipPreferences(self)", row: "GetChannelMembershipPreferences", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.GetChannelMembershipPreferences(c.ctx, &chime.GetChannelMembershipPreferencesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: &c.bearer})
			},
			result: notFoundUnless(authzRole.isMember),
			check: func(t *testing.T, c *authzCall, out any) {
				r := out.(*chime.GetChannelMembershipPreferencesResponse)
				ok(t, deref(r.Member.Arn) == c.bearer && r.Preferences != nil, "answer = %+v", r)
			}},
		{name: "GetChannelMembershipPreferences(other)", row: "GetChannelMembershipPreferences",
			call: func(c *authzCall) (any, error) {
				return c.w.s.GetChannelMembershipPreferences(c.ctx, &chime.GetChannelMembershipPreferencesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("other"))})
			}},
		{name: "PutChannelMembershipPreferences(self)", touches: partChannel | partMembers, row: "PutChannelMembershipPreferences", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.PutChannelMembershipPreferences(c.ctx, &chime.PutChannelMembershipPreferencesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: &c.bearer, Preferences: prefs})
			},
			result: notFoundUnless(authzRole.isMember),
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.membership(t, c.role.user)
				ok(t, strings.Contains(m.Preferences, "NONE"), "preferences = %q", m.Preferences)
			},
			undo: restoreMembership(bearer)},
		{name: "PutChannelMembershipPreferences(other)", touches: partChannel | partMembers, row: "PutChannelMembershipPreferences",
			call: func(c *authzCall) (any, error) {
				return c.w.s.PutChannelMembershipPreferences(c.ctx, &chime.PutChannelMembershipPreferencesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MemberArn: p(c.user("other")), Preferences: prefs})
			},
			undo: restoreMembership(other)},
		{name: "GetChannelMessage", row: "GetChannelMessage",
			call: func(c *authzCall) (any, error) {
				return c.w.s.GetChannelMessage(c.ctx, &chime.GetChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: p(c.msg["other"])})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				m := out.(*chime.GetChannelMessageResponse).ChannelMessage
				ok(t, deref(m.MessageId) == c.msg["other"] && deref(m.Content) == "hello from other", "message = %+v", m)
			}},
		{name: "GetChannelMessageStatus(own)", row: "GetChannelMessageStatus", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.GetChannelMessageStatus(c.ctx, &chime.GetChannelMessageStatusRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: c.ownMsg()})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				st := out.(*chime.GetChannelMessageStatusResponse).Status
				ok(t, st != nil && st.Value == chime.ChannelMessageStatusSent, "status = %+v", st)
			}},
		{name: "GetChannelMessageStatus(other's)", row: "GetChannelMessageStatus",
			call: func(c *authzCall) (any, error) {
				return c.w.s.GetChannelMessageStatus(c.ctx, &chime.GetChannelMessageStatusRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: p(c.msg["other"])})
			}},
		{name: "ListChannelBans", row: "ListChannelBans",
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelBans(c.ctx, &chime.ListChannelBansRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelBansResponse).ChannelBans, func(b chime.ChannelBanSummary) *string { return b.Member.Arn })
				authzWantListed(t, got, c.user("banned"), true)
			}},
		{name: "ListChannelMemberships", row: "ListChannelMemberships",
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelMemberships(c.ctx, &chime.ListChannelMembershipsRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelMembershipsResponse).ChannelMemberships, func(m chime.ChannelMembershipSummary) *string { return m.Member.Arn })
				authzWantListed(t, got, c.user("other"), true)
			}},
		{name: "ListChannelMessages", row: "ListChannelMessages",
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelMessages(c.ctx, &chime.ListChannelMessagesRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelMessagesResponse).ChannelMessages, func(m chime.ChannelMessageSummary) *string { return m.MessageId })
				ok(t, len(got) == len(c.msg) && slices.Contains(got, c.msg["other"]), "messages = %v", got)
			}},
		{name: "ListChannelModerators", row: "ListChannelModerators",
			call: func(c *authzCall) (any, error) {
				return c.w.s.ListChannelModerators(c.ctx, &chime.ListChannelModeratorsRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				got := authzARNs(out.(*chime.ListChannelModeratorsResponse).ChannelModerators, func(m chime.ChannelModeratorSummary) *string { return m.Moderator.Arn })
				authzWantListed(t, got, c.user("mod2"), true)
			}},
		{name: "PutChannelExpirationSettings", touches: partChannel, row: "PutChannelExpirationSettings",
			call: func(c *authzCall) (any, error) {
				return c.w.s.PutChannelExpirationSettings(c.ctx, &chime.PutChannelExpirationSettingsRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer,
					ExpirationSettings: &chime.ExpirationSettings{ExpirationCriterion: chime.ExpirationCriterionCreatedTimestamp, ExpirationDays: p(int32(30))}})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ch, _ := c.channel(t, c.w.appID, c.chID)
				ok(t, ch.Expiration != nil && ch.Expiration.Days == 30, "expiration = %+v", ch.Expiration)
			},
			undo: restoreChannel},
		{name: "RedactChannelMessage(own)", touches: partChannel | partMessages, row: "RedactChannelMessage", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.RedactChannelMessage(c.ctx, &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: c.ownMsg()})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.message(t, *c.ownMsg())
				ok(t, m.Redacted && m.Content == "", "message = %+v", m)
			},
			undo: restoreMessage(own)},
		{name: "RedactChannelMessage(other's)", touches: partChannel | partMessages, row: "RedactChannelMessage",
			call: func(c *authzCall) (any, error) {
				return c.w.s.RedactChannelMessage(c.ctx, &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: p(c.msg["other"])})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.message(t, c.msg["other"])
				ok(t, m.Redacted && m.Content == "", "message = %+v", m)
			},
			undo: restoreMessage(others)},
		{name: "SendChannelMessage", touches: partChannel | partMessages | partViewers, row: "SendChannelMessage",
			call: func(c *authzCall) (any, error) {
				return c.w.s.SendChannelMessage(c.ctx, &chime.SendChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, Content: p("new"),
					Type: chime.ChannelMessageTypeStandard, Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(fmt.Sprint("tok-", c.n))})
			},
			check: func(t *testing.T, c *authzCall, out any) {
				id := deref(out.(*chime.SendChannelMessageResponse).MessageId)
				m, stored := c.message(t, id)
				ok(t, stored && m.Sender == authzActor(c.role.user), "message %s = %+v, %v", id, m, stored)
			},
			undo: func(ctx context.Context, tx store.Tx, c *authzCall, out any) error {
				if err := tx.DeleteChannelMessage(ctx, c.w.appID, c.chID, deref(out.(*chime.SendChannelMessageResponse).MessageId)); err != nil {
					return err
				}
				return tx.UpdateChannel(ctx, c.base.Channel) // LastMessageTimestamp
			}},
		{name: "UpdateChannel", touches: partChannel, row: "UpdateChannel",
			call: func(c *authzCall) (any, error) {
				return c.w.s.UpdateChannel(c.ctx, &chime.UpdateChannelRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, Name: p("renamed")})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				ch, _ := c.channel(t, c.w.appID, c.chID)
				ok(t, ch.Name == "renamed", "name = %q", ch.Name)
			},
			undo: restoreChannel},
		{name: "UpdateChannelMessage(own)", touches: partChannel | partMessages, row: "UpdateChannelMessage", own: true,
			call: func(c *authzCall) (any, error) {
				return c.w.s.UpdateChannelMessage(c.ctx, &chime.UpdateChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: c.ownMsg(), Content: p("edited")})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.message(t, *c.ownMsg())
				ok(t, m.Content == "edited", "message = %+v", m)
			},
			undo: restoreMessage(own)},
		{name: "UpdateChannelMessage(other's)", touches: partChannel | partMessages, row: "UpdateChannelMessage",
			call: func(c *authzCall) (any, error) {
				return c.w.s.UpdateChannelMessage(c.ctx, &chime.UpdateChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer, MessageId: p(c.msg["other"]), Content: p("edited")})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.message(t, c.msg["other"])
				ok(t, m.Content == "edited", "message = %+v", m)
			},
			undo: restoreMessage(others)},
		{name: "UpdateChannelReadMarker", touches: partChannel | partMembers, row: "UpdateChannelReadMarker",
			call: func(c *authzCall) (any, error) {
				return c.w.s.UpdateChannelReadMarker(c.ctx, &chime.UpdateChannelReadMarkerRequest{ChannelArn: &c.ch, ChimeBearer: &c.bearer})
			},
			check: func(t *testing.T, c *authzCall, _ any) {
				m, _ := c.membership(t, c.role.user)
				ok(t, !m.ReadMarkerAt.IsZero(), "read marker not set: %+v", m)
			},
			undo: restoreMembership(bearer)},
	}
}

// runOp runs every cell of op in w, then the bearer errors.
func (w *authzWorld) runOp(t *testing.T, op authzOp, row authzRow) {
	for _, role := range authzRoles {
		t.Run(role.name, func(t *testing.T) {
			for _, kind := range authzKinds {
				t.Run(kind.name, func(t *testing.T) {
					want := role.allows(row, authzFacts{public: kind.public, unrestricted: kind.unrestricted, own: op.own})
					w.runCell(t, op, role, kind, want)
				})
			}
		})
	}
	w.runBearerErrors(t, op)
	// Every cell that ran on a shared channel, with its undo, must have
	// left what the operation can change as it was.
	if op.touches != 0 {
		w.checkShared(t, "a cell of this operation, an incomplete undo, or an earlier operation in a part it should not touch,", op.touches)
	}
}

// runCell runs one cell: op by role in a channel of kind, allowed or
// denied per authzTable.
func (w *authzWorld) runCell(t *testing.T, op authzOp, role authzRole, kind authzKind, allowed bool) {
	sh := w.shared[kind.name]
	w.n++
	c := &authzCall{ctx: t.Context(), w: w, authzChannel: sh.authzChannel, role: role, bearer: w.users[role.user], n: w.n, base: &sh.base}
	var want chime.ErrorKind
	if allowed && op.result != nil {
		want = op.result(c)
	}
	if allowed && want == "" && op.fresh {
		c.authzChannel, c.base = w.createChannel(t, kind, "fresh-", []authzRole{role}, []string{role.user, "other"}), nil
		defer w.deleteChannel(t, w.appID, c.chID)
	}
	out, err := op.call(c)
	kindOf := chime.KindOf(err)
	if !allowed {
		if kindOf != chime.Forbidden {
			t.Errorf("denied per semantics.md §2.3, but err = %v, want ForbiddenException", err)
			// It may have changed the shared channel: say what, and
			// rebuild it for the next cells.
			w.checkShared(t, "the denied call", partAll)
		}
		return
	}
	switch {
	case kindOf == chime.Forbidden:
		t.Errorf("allowed per semantics.md §2.3, but got %v", err)
	case want == "" && err != nil:
		t.Errorf("allowed per semantics.md §2.3: want success, got %v", err)
	case want != "" && kindOf != want:
		t.Errorf("allowed per semantics.md §2.3: want %s, got %v", want, err)
	}
	if err != nil {
		return
	}
	if op.check != nil {
		op.check(t, c, out)
	}
	if op.undo != nil && c.base != nil {
		if err := w.st.Update(c.ctx, func(tx store.Tx) error { return op.undo(c.ctx, tx, c, out) }); err != nil {
			t.Fatalf("undo: %v", err)
		}
	}
}

// runBearerErrors checks, for op, the errors that come before the matrix:
// an unknown or malformed bearer (UnauthorizedClientException), a bearer
// of another app instance (ForbiddenException), a missing channel
// (NotFoundException). They run on a shared channel, so the check after
// the operation also proves that they changed nothing.
func (w *authzWorld) runBearerErrors(t *testing.T, op authzOp) {
	member := authzRoles[2]
	if member.user != "member" {
		t.Fatal("authzRoles changed: fix the member role index")
	}
	type variant struct {
		name   string
		mutate func(c *authzCall)
		want   []chime.ErrorKind
	}
	variants := []variant{
		{"unknown-bearer", func(c *authzCall) { c.bearer = w.app + "/user/nobody" }, []chime.ErrorKind{chime.UnauthorizedClient}},
		{"malformed-bearer", func(c *authzCall) { c.bearer = "not-an-arn" }, []chime.ErrorKind{chime.UnauthorizedClient}},
	}
	switch {
	case op.crossApp == nil:
		variants = append(variants, variant{"other-app-instance-bearer", func(c *authzCall) { c.bearer = w.stranger }, []chime.ErrorKind{chime.Forbidden}})
	case len(op.crossApp) > 0:
		variants = append(variants, variant{"other-app-instance-bearer", func(c *authzCall) { c.bearer = w.stranger }, op.crossApp})
	}
	if !op.channelless {
		variants = append(variants, variant{"missing-channel", func(c *authzCall) {
			c.authzChannel = &authzChannel{kind: c.kind, chID: "no-such-channel", ch: w.s.channelArn(w.appID, "no-such-channel"), msg: c.msg}
		}, []chime.ErrorKind{chime.NotFound}})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			sh := w.shared[authzKinds[0].name]
			w.n++
			c := &authzCall{ctx: t.Context(), w: w, authzChannel: sh.authzChannel, role: member, bearer: w.users[member.user], n: w.n, base: &sh.base}
			v.mutate(c)
			if _, err := op.call(c); !slices.Contains(v.want, chime.KindOf(err)) {
				t.Errorf("err = %v, want one of %v", err, v.want)
			}
		})
	}
}

// authzWorlds is how many worlds (stores) run operations concurrently.
const authzWorlds = 2

// TestAuthzMatrix runs every cell, operation × role × privacy × mode,
// and the bearer errors of every operation.
func TestAuthzMatrix(t *testing.T) {
	rows := parseAuthzTable(t)
	ops := authzOps()
	queue := make(chan authzOp, len(ops))
	for _, op := range ops {
		row, found := rows[op.row]
		if !found {
			t.Fatalf("%s: no row %s in authzTable", op.name, op.row)
		}
		if op.pending != "" {
			t.Run(op.name, func(t *testing.T) { t.Skipf("pending: %s; expected row %v", op.pending, row) })
			continue
		}
		queue <- op
	}
	close(queue)
	// The worlds are built in parallel.
	worlds := make([]*authzWorld, authzWorlds)
	errs := make([]any, authzWorlds)
	var wg sync.WaitGroup
	for i := range worlds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { errs[i] = recover() }()
			worlds[i] = newAuthzWorld(authzSetupT{ctx: t.Context()}, t)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("building a world: %v", err)
		}
	}
	// Each world, in its own goroutine, takes the next operation from the
	// queue (t.Run may be called from several goroutines).
	for _, w := range worlds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := range queue {
				t.Run(op.name, func(t *testing.T) { w.runOp(t, op, rows[op.row]) })
			}
			// Every part of every shared channel, after all operations.
			t.Run("shared-channels-unchanged", func(t *testing.T) { w.checkShared(t, "an operation", partAll) })
		}()
	}
	wg.Wait()
}

// TestAuthzTableCoversEveryBearerOperation checks that every messaging
// operation with an x-amz-chime-bearer has a row in authzTable with at
// least one test case (or a pending note), and that every row is used.
func TestAuthzTableCoversEveryBearerOperation(t *testing.T) {
	rows := parseAuthzTable(t)
	used := map[string]bool{}
	covered := map[string]bool{}
	for _, op := range authzOps() {
		used[op.row] = true
		covered[strings.SplitN(op.row, "(", 2)[0]] = true
		if op.pending != "" {
			continue
		}
		reads := false
		for _, verb := range []string{"Describe", "Get", "List", "Search"} {
			reads = reads || strings.HasPrefix(op.name, verb)
		}
		// A writing operation must say what it can change, and how its
		// allowed calls are undone (or that they get a fresh channel).
		if !reads && (op.touches == 0 || (op.undo == nil && !op.fresh)) {
			t.Errorf("%s writes but has no touches, or neither undo nor fresh", op.name)
		}
		if reads && (op.touches != 0 || op.undo != nil || op.fresh) {
			t.Errorf("%s reads but has touches, undo or fresh", op.name)
		}
	}
	for row := range rows {
		if !used[row] {
			t.Errorf("authzTable row %s has no test case", row)
		}
	}
	for _, op := range chime.Operations {
		if op.Services&chime.ServiceMessaging == 0 || op.Bearer == chime.BearerNone {
			continue
		}
		if !covered[op.Name] {
			t.Errorf("bearer operation %s has no row in authzTable", op.Name)
		}
	}
}
