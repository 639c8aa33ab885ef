package service

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/belfryhq/belfry/chime"
	"github.com/belfryhq/belfry/store"
)

// deliveries returns the queued deliveries of kind, oldest first.
func (c *chat) deliveries(t *testing.T, kind store.DeliveryKind) []store.Delivery {
	t.Helper()
	var ds []store.Delivery
	err := c.st.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		ds, err = tx.ListDeliveries(t.Context(), store.DeliveryFilter{Kind: kind, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ds)
	return ds
}

func (c *chat) pushes(t *testing.T) []PushDocument {
	t.Helper()
	var out []PushDocument
	for _, d := range c.deliveries(t, store.DeliveryPush) {
		var doc PushDocument
		if err := json.Unmarshal([]byte(d.Body), &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	return out
}

func (c *chat) endpoint(t *testing.T, user, typ, token, voip string, allow chime.AllowMessages) {
	t.Helper()
	attrs := &chime.EndpointAttributes{DeviceToken: &token}
	if voip != "" {
		attrs.VoipDeviceToken = &voip
	}
	must(c.s.RegisterAppInstanceUserEndpoint(t.Context(), &chime.RegisterAppInstanceUserEndpointRequest{
		AppInstanceUserArn: &user, Name: p(token), Type: chime.AppInstanceUserEndpointType(typ),
		ResourceArn: p("arn:aws:mobiletargeting:us-east-1:111122223333:apps/app1"), EndpointAttributes: attrs,
		AllowMessages: allow, ClientRequestToken: p(token),
	}))
}

func (c *chat) prefs(t *testing.T, member string, allow chime.AllowNotifications, rule string) {
	t.Helper()
	pn := &chime.PushNotificationPreferences{AllowNotifications: allow}
	if rule != "" {
		pn.FilterRule = &rule
	}
	must(c.s.PutChannelMembershipPreferences(t.Context(), &chime.PutChannelMembershipPreferencesRequest{
		ChannelArn: &c.ch, MemberArn: &member, ChimeBearer: &member, Preferences: &chime.ChannelMembershipPreferences{PushNotifications: pn},
	}))
}

func (c *chat) sendPush(t *testing.T, content string, typ chime.PushNotificationType, attrs map[string][]string) string {
	t.Helper()
	ma := map[string]chime.MessageAttributeValue{}
	for k, v := range attrs {
		ma[k] = chime.MessageAttributeValue{StringValues: v}
	}
	return *must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: &content, Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p(content), MessageAttributes: ma,
		PushNotification: &chime.PushNotificationConfiguration{Title: p("t"), Body: p(content), Type: typ},
	})).MessageId
}

// got lists "message token" for each push queued since from.
func got(ps []PushDocument, from int) []string {
	var out []string
	for _, d := range ps[from:] {
		tok := d.DeviceToken
		if d.VoipDeviceToken != "" {
			tok = "voip:" + d.VoipDeviceToken
		}
		out = append(out, d.Body+" "+tok)
	}
	slices.Sort(out)
	return out
}

func TestPushDecisions(t *testing.T) {
	c := newChat(t)
	must(c.s.CreateChannelMembership(t.Context(), &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, MemberArn: &c.carol, Type: chime.ChannelMembershipTypeDefault, ChimeBearer: &c.alice}))
	c.endpoint(t, c.alice, "APNS", "alice", "", chime.AllowMessagesAll)
	c.endpoint(t, c.bob, "GCM", "bob-gcm", "", chime.AllowMessagesNone)
	c.endpoint(t, c.bob, "APNS_SANDBOX", "bob-sbx", "", chime.AllowMessagesAll)
	c.endpoint(t, c.carol, "APNS", "carol", "carol-voip", chime.AllowMessagesAll)
	c.prefs(t, c.bob, chime.AllowNotificationsFiltered, `{"prio":[{"anything-but":["low"]}]}`)
	c.prefs(t, c.carol, chime.AllowNotificationsFiltered, `{"$or":[{"topic":["eng"]},{"prio":["urgent"]}]}`)

	for _, tc := range []struct {
		content string
		typ     chime.PushNotificationType
		attrs   map[string][]string
		want    []string
	}{
		{"high-sales", chime.PushNotificationTypeDefault, map[string][]string{"prio": {"high"}, "topic": {"sales"}}, []string{"high-sales alice", "high-sales bob-sbx"}},
		{"low-eng", chime.PushNotificationTypeDefault, map[string][]string{"prio": {"low"}, "topic": {"eng"}}, []string{"low-eng alice", "low-eng carol"}},
		// anything-but with the attribute missing does not match (EventBridge).
		{"no-attrs", chime.PushNotificationTypeDefault, nil, []string{"no-attrs alice"}},
		// Any one value of a list attribute may match.
		{"multi", chime.PushNotificationTypeDefault, map[string][]string{"prio": {"low", "high"}}, []string{"multi alice", "multi bob-sbx"}},
		// VOIP goes to VoIP tokens only.
		{"urgent-voip", chime.PushNotificationTypeVoip, map[string][]string{"prio": {"urgent"}}, []string{"urgent-voip voip:carol-voip"}},
	} {
		before := len(c.pushes(t))
		c.sendPush(t, tc.content, tc.typ, tc.attrs)
		if g := got(c.pushes(t), before); !slices.Equal(g, tc.want) {
			t.Errorf("%s: pushes %v, want %v", tc.content, g, tc.want)
		}
	}

	// NONE mutes; a message without PushNotification pushes nothing.
	c.prefs(t, c.alice, chime.AllowNotificationsNone, "")
	before := len(c.pushes(t))
	c.sendPush(t, "muted", chime.PushNotificationTypeDefault, map[string][]string{"prio": {"high"}})
	if g := got(c.pushes(t), before); !slices.Equal(g, []string{"muted bob-sbx"}) {
		t.Errorf("muted alice: %v", g)
	}
	before = len(c.pushes(t))
	c.send(t, c.alice, "plain")
	if n := len(c.pushes(t)); n != before {
		t.Errorf("a message without PushNotification queued %d pushes", n-before)
	}
	// A targeted message pushes to the sender and the target only.
	c.prefs(t, c.alice, chime.AllowNotificationsAll, "")
	before = len(c.pushes(t))
	must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("secret"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypePersistent, ClientRequestToken: p("secret"),
		MessageAttributes: map[string]chime.MessageAttributeValue{"prio": {StringValues: []string{"urgent"}}, "topic": {StringValues: []string{"eng"}}},
		Target:            []chime.Target{{MemberArn: &c.carol}},
		PushNotification:  &chime.PushNotificationConfiguration{Title: p("t"), Body: p("secret"), Type: chime.PushNotificationTypeDefault},
	}))
	if g := got(c.pushes(t), before); !slices.Equal(g, []string{"secret alice", "secret carol"}) {
		t.Errorf("targeted: %v", g)
	}
	// A NON_PERSISTENT message pushes as a persistent one does
	// (semantics.md §3: push allowed), though it is never stored.
	before = len(c.pushes(t))
	must(c.s.SendChannelMessage(t.Context(), &chime.SendChannelMessageRequest{
		ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("fleeting"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypeNonPersistent, ClientRequestToken: p("fleeting"),
		MessageAttributes: map[string]chime.MessageAttributeValue{"prio": {StringValues: []string{"high"}}},
		PushNotification:  &chime.PushNotificationConfiguration{Title: p("t"), Body: p("fleeting"), Type: chime.PushNotificationTypeDefault},
	}))
	if g := got(c.pushes(t), before); !slices.Equal(g, []string{"fleeting alice", "fleeting bob-sbx"}) {
		t.Errorf("non-persistent: %v", g)
	}
	for _, d := range c.pushes(t) {
		if d.Data["chime.message_id"] != d.MessageId || d.Data["chime.channel_arn"] != c.ch || d.ChannelArn != c.ch {
			t.Errorf("push data %+v", d)
		}
	}
}

func TestFlowHeldMessagesArePushedOnlyWhenSent(t *testing.T) {
	c, proc, _ := flowChat(t, chime.FallbackActionAbort)
	c.endpoint(t, c.bob, "APNS", "bob", "", chime.AllowMessagesAll)
	sent := c.sendPush(t, "allowed", chime.PushNotificationTypeDefault, nil)
	denied := c.sendPush(t, "denied", chime.PushNotificationTypeDefault, nil)
	if n := len(c.pushes(t)); n != 0 {
		t.Fatalf("%d pushes queued while the messages are PENDING", n)
	}
	if err := c.dispatchFlows(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, e := range proc.events {
		cb := &chime.ChannelFlowCallbackRequest{ChannelArn: &c.ch, CallbackId: p(e.CallbackId),
			ChannelMessage: &chime.ChannelMessageCallback{MessageId: p(e.ChannelMessage.MessageId)}}
		if e.ChannelMessage.MessageId == denied {
			cb.DeleteResource = true
		}
		must(c.s.ChannelFlowCallback(t.Context(), cb))
	}
	ps := c.pushes(t)
	if len(ps) != 1 || ps[0].MessageId != sent || ps[0].DeviceToken != "bob" {
		t.Errorf("pushes after SENT and DENIED: %+v", ps)
	}
}

func TestStreamingConfigurationsAndRecords(t *testing.T) {
	c := newChat(t)
	ctx := t.Context()
	stream := "arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-test"
	c.send(t, c.alice, "before")
	if _, err := c.s.GetMessagingStreamingConfigurations(ctx, &chime.GetMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app}); chime.KindOf(err) != chime.NotFound {
		t.Errorf("Get without configuration: %v", err)
	}
	for _, bad := range [][]chime.StreamingConfiguration{
		nil,
		{{DataType: chime.MessagingDataTypeChannel, ResourceArn: p("arn:aws:kinesis:us-east-1:111122223333:stream/other")}},
		{{DataType: chime.MessagingDataTypeChannel, ResourceArn: p("arn:aws:kinesis:us-east-1:111122223333:stream/chime-messaging-")}},
		{{DataType: chime.MessagingDataTypeChannel, ResourceArn: p("arn:aws:sqs:us-east-1:111122223333:chime-messaging-x")}},
		{{DataType: chime.MessagingDataTypeChannel, ResourceArn: &stream}, {DataType: chime.MessagingDataTypeChannel, ResourceArn: &stream}},
	} {
		_, err := c.s.PutMessagingStreamingConfigurations(ctx, &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app, StreamingConfigurations: bad})
		wantKind(t, err, chime.BadRequest, "Put "+jsonString(bad))
	}
	must(c.s.PutMessagingStreamingConfigurations(ctx, &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app,
		StreamingConfigurations: []chime.StreamingConfiguration{{DataType: chime.MessagingDataTypeChannelmessage, ResourceArn: &stream}}}))
	m := c.send(t, c.alice, "after")
	// Channel events are not configured: a membership change is not streamed.
	must(c.s.CreateChannelMembership(ctx, &chime.CreateChannelMembershipRequest{ChannelArn: &c.ch, MemberArn: &c.carol, Type: chime.ChannelMembershipTypeDefault, ChimeBearer: &c.alice}))
	must(c.s.RedactChannelMessage(ctx, &chime.RedactChannelMessageRequest{ChannelArn: &c.ch, MessageId: &m, ChimeBearer: &c.alice}))
	// Non-persistent messages are not streamed.
	must(c.s.SendChannelMessage(ctx, &chime.SendChannelMessageRequest{ChannelArn: &c.ch, ChimeBearer: &c.alice, Content: p("np"), Type: chime.ChannelMessageTypeStandard,
		Persistence: chime.ChannelMessagePersistenceTypeNonPersistent}))

	var types []string
	for _, d := range c.deliveries(t, store.DeliveryStream) {
		var r streamRecord
		if err := json.Unmarshal([]byte(d.Body), &r); err != nil {
			t.Fatal(err)
		}
		if d.Target != stream || d.PartitionKey != c.ch || d.OrderKey == "" || d.State != store.DeliveryPending {
			t.Errorf("delivery %+v", d)
		}
		types = append(types, r.EventType)
	}
	if want := []string{evCreateMessage, evRedactMessage}; !slices.Equal(types, want) {
		t.Errorf("streamed %v, want %v", types, want)
	}

	// Both data types; Channel adds membership, ban and moderator events.
	must(c.s.PutMessagingStreamingConfigurations(ctx, &chime.PutMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app,
		StreamingConfigurations: []chime.StreamingConfiguration{{DataType: chime.MessagingDataTypeChannelmessage, ResourceArn: &stream}, {DataType: chime.MessagingDataTypeChannel, ResourceArn: &stream}}}))
	n := len(c.deliveries(t, store.DeliveryStream))
	must(c.s.CreateChannelModerator(ctx, &chime.CreateChannelModeratorRequest{ChannelArn: &c.ch, ChannelModeratorArn: &c.bob, ChimeBearer: &c.alice}))
	must(c.s.CreateChannelBan(ctx, &chime.CreateChannelBanRequest{ChannelArn: &c.ch, MemberArn: &c.carol, ChimeBearer: &c.alice}))
	types = nil
	for _, d := range c.deliveries(t, store.DeliveryStream)[n:] {
		var r streamRecord
		_ = json.Unmarshal([]byte(d.Body), &r)
		types = append(types, r.EventType)
	}
	if want := []string{evCreateModerator, evDeleteMembership, evCreateBan}; !slices.Equal(types, want) {
		t.Errorf("streamed %v, want %v", types, want)
	}
	// A batch is one CREATE_CHANNEL_MEMBERSHIP record per member added.
	dave := createUser(t, c.s, c.app, "dave")
	erin := createUser(t, c.s, c.app, "erin")
	n = len(c.deliveries(t, store.DeliveryStream))
	must(c.s.BatchCreateChannelMembership(ctx, &chime.BatchCreateChannelMembershipRequest{ChannelArn: &c.ch, MemberArns: []string{dave, erin},
		Type: chime.ChannelMembershipTypeDefault, ChimeBearer: &c.alice}))
	var members []string
	for _, d := range c.deliveries(t, store.DeliveryStream)[n:] {
		var r struct {
			EventType string
			Payload   struct {
				ChannelArn string
				Member     struct{ Arn string }
				InvitedBy  struct{ Arn string }
			}
		}
		_ = json.Unmarshal([]byte(d.Body), &r)
		if r.EventType != evCreateMembership || r.Payload.ChannelArn != c.ch || r.Payload.InvitedBy.Arn != c.alice {
			t.Errorf("batch record %s", d.Body)
		}
		members = append(members, r.Payload.Member.Arn)
	}
	if !slices.Equal(members, []string{dave, erin}) {
		t.Errorf("batch records for %v", members)
	}
	got := must(c.s.GetMessagingStreamingConfigurations(ctx, &chime.GetMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app}))
	if len(got.StreamingConfigurations) != 2 {
		t.Errorf("Get: %+v", got)
	}

	if err := c.s.DeleteMessagingStreamingConfigurations(ctx, &chime.DeleteMessagingStreamingConfigurationsRequest{AppInstanceArn: &c.app}); err != nil {
		t.Fatal(err)
	}
	n = len(c.deliveries(t, store.DeliveryStream))
	c.send(t, c.alice, "after delete")
	if len(c.deliveries(t, store.DeliveryStream)) != n {
		t.Error("a message was streamed after Delete")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
