package main

import (
	"context"
	"fmt"
	"io"

	"github.com/belfryhq/belfry/chime"
)

// demoApp is the name of the app instance `serve --demo` seeds; a later
// start finds it and seeds nothing again.
const demoApp = "demo"

// seedDemo creates, through the same API the SDKs call (as the root
// credential), an app instance with two users, a channel with both in it
// and a few messages, then prints what to try.
func seedDemo(ctx context.Context, api chime.API, cfg config, root rootKey, e endpoints, w io.Writer) error {
	ctx = chime.WithPrincipal(ctx, chime.Principal{AccessKeyID: root.AccessKeyID})
	s := func(v string) *string { return &v }

	appArn, err := findAppInstance(ctx, api, demoApp)
	if err != nil {
		return err
	}
	if appArn != "" {
		fmt.Fprintf(w, "Demo data: app instance %q is already there (%s).\n", demoApp, appArn)
		printDemoTries(w, e, appArn+"/user/alice", "")
		return nil
	}
	app, err := api.CreateAppInstance(ctx, &chime.CreateAppInstanceRequest{Name: s(demoApp), ClientRequestToken: s("belfry-demo-app"), Metadata: s("seeded by belfry serve --demo")})
	if err != nil {
		return fmt.Errorf("create app instance: %w", err)
	}
	appArn = *app.AppInstanceArn
	users := map[string]string{}
	for _, u := range []struct{ id, name string }{{"alice", "Alice"}, {"bob", "Bob"}} {
		res, err := api.CreateAppInstanceUser(ctx, &chime.CreateAppInstanceUserRequest{
			AppInstanceArn: s(appArn), AppInstanceUserId: s(u.id), Name: s(u.name), ClientRequestToken: s("belfry-demo-" + u.id),
		})
		if err != nil {
			return fmt.Errorf("create user %s: %w", u.id, err)
		}
		users[u.id] = *res.AppInstanceUserArn
	}
	ch, err := api.CreateChannel(ctx, &chime.CreateChannelRequest{
		AppInstanceArn: s(appArn), Name: s("general"), Mode: chime.ChannelModeUnrestricted, Privacy: chime.ChannelPrivacyPublic,
		ChimeBearer: s(users["alice"]), ClientRequestToken: s("belfry-demo-general"),
	})
	if err != nil {
		return fmt.Errorf("create channel: %w", err)
	}
	if _, err := api.CreateChannelMembership(ctx, &chime.CreateChannelMembershipRequest{
		ChannelArn: ch.ChannelArn, MemberArn: s(users["bob"]), Type: chime.ChannelMembershipTypeDefault, ChimeBearer: s(users["alice"]),
	}); err != nil {
		return fmt.Errorf("add bob to the channel: %w", err)
	}
	for i, m := range []struct{ from, text string }{
		{"alice", "Welcome to Belfry! This channel was seeded by --demo."},
		{"bob", "Hi Alice. Open the web console's live chat and act as me to answer."},
		{"alice", "Messages sent with the AWS CLI or an SDK show up there live."},
	} {
		if _, err := api.SendChannelMessage(ctx, &chime.SendChannelMessageRequest{
			ChannelArn: ch.ChannelArn, Content: s(m.text), Type: chime.ChannelMessageTypeStandard,
			Persistence: chime.ChannelMessagePersistenceTypePersistent, ChimeBearer: s(users[m.from]),
			ClientRequestToken: s(fmt.Sprintf("belfry-demo-message-%d", i)),
		}); err != nil {
			return fmt.Errorf("send a message: %w", err)
		}
	}
	fmt.Fprintf(w, "Demo data: app instance %q (%s), users alice and bob, channel \"general\" with 3 messages.\n", demoApp, appArn)
	printDemoTries(w, e, users["alice"], *ch.ChannelArn)
	return nil
}

func findAppInstance(ctx context.Context, api chime.API, name string) (string, error) {
	var next *string
	for {
		max := int32(50)
		res, err := api.ListAppInstances(ctx, &chime.ListAppInstancesRequest{MaxResults: &max, NextToken: next})
		if err != nil {
			return "", fmt.Errorf("list app instances: %w", err)
		}
		for _, a := range res.AppInstances {
			if a.Name != nil && *a.Name == name && a.AppInstanceArn != nil {
				return *a.AppInstanceArn, nil
			}
		}
		if res.NextToken == nil || *res.NextToken == "" {
			return "", nil
		}
		next = res.NextToken
	}
}

func printDemoTries(w io.Writer, e endpoints, alice, channel string) {
	fmt.Fprintf(w, "Try:\n  - the console: %s, open app instance %q, then a channel's live chat (Act as Alice or Bob)\n", e.Console, demoApp)
	fmt.Fprintf(w, "  - with the exports above, the AWS CLI:\n      aws chime-sdk-identity list-app-instances\n")
	if channel != "" {
		fmt.Fprintf(w, "      aws chime-sdk-messaging list-channel-messages --channel-arn %s --chime-bearer %s\n", channel, alice)
		fmt.Fprintf(w, "      aws chime-sdk-messaging send-channel-message --channel-arn %s --chime-bearer %s --content hello --type STANDARD --persistence PERSISTENT\n", channel, alice)
	} else {
		fmt.Fprintf(w, "      aws chime-sdk-messaging list-channels --app-instance-arn %s --chime-bearer %s\n", alice[:len(alice)-len("/user/alice")], alice)
	}
	fmt.Fprintln(w)
}
