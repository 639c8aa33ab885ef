// The Messaging API (channels, memberships, moderators, bans, messages) through the unmodified AWS
// SDK for JavaScript v3: a conversation between real users with the authorization rules of
// semantics.md §2.3, message edit/redact/delete (§3.4), limits (§3.2), targeted and
// non-persistent messages, private channels, bans, read markers, preferences, search, tags;
// then pagination of a 500-message history (§3.7) and ClientRequestToken idempotency (§3.5).
//
// Every test builds its own app instance ("world": alice, bob, carol, dave and an admin), so the
// tests do not see each other's channels.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { assertAwsError, assertParseableAwsError, identityClient, messagingClient, rejection, send, success } from '../lib/aws.mjs';
import { modeledEnum, SPEC_MISSING } from '../lib/model.mjs';
import { REQUEST_TIMEOUT_MS, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';

const TEST = { timeout: 12 * REQUEST_TIMEOUT_MS };
const LONG_TEST = { timeout: 30 * REQUEST_TIMEOUT_MS };

const NOT_FOUND = { name: 'NotFoundException', status: 404 };
const CONFLICT = { name: 'ConflictException', status: 409 };
const FORBIDDEN = { name: 'ForbiddenException', status: 403 };
const BAD_REQUEST = { name: 'BadRequestException', status: 400 };

const MESSAGE_ID = /^[0-9a-f]{64}$/;
// Without a model (SPEC_MISSING) the ErrorCode check below is left out; the rest still runs.
const ERROR_CODES = SPEC_MISSING ? null : new Set(modeledEnum('messaging', 'ErrorCode'));

describe('Messaging API through the JS SDK v3', () => {
  let server;
  let identity;
  let messaging;
  const withOutput = (fn) => withServerOutput(() => server, fn);
  const idOk = (cmd, what = cmd.constructor.name) => success(send(identity, cmd), what);
  const ok = (cmd, what = cmd.constructor.name) => success(send(messaging, cmd), what);
  async function fails(cmd, expected, what = cmd.constructor.name) {
    const err = await rejection(send(messaging, cmd), what);
    assertParseableAwsError(err, what);
    assertAwsError(err, expected, what);
    return err;
  }

  /** A fresh app instance with users alice, bob, carol, dave and `admin` (an AppInstanceAdmin). */
  async function world(names = ['alice', 'bob', 'carol', 'dave']) {
    const { AppInstanceArn: app } = await idOk(new I.CreateAppInstanceCommand({ Name: `msg-${crypto.randomUUID().slice(0, 8)}` }));
    const w = { app };
    for (const n of [...names, 'admin']) {
      w[n] = (await idOk(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: n, Name: n }))).AppInstanceUserArn;
    }
    await idOk(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: w.admin }));
    return w;
  }

  async function newChannel(w, creator, extra = {}) {
    const res = await ok(new M.CreateChannelCommand({ AppInstanceArn: w.app, Name: extra.Name ?? 'channel', ChimeBearer: creator, ...extra }), 'CreateChannel');
    assert.equal(res.$metadata.httpStatusCode, 201);
    assert.ok(res.ChannelArn.startsWith(`${w.app}/channel/`), res.ChannelArn);
    return res.ChannelArn;
  }

  async function addMember(ChannelArn, bearer, MemberArn, extra = {}) {
    const res = await ok(new M.CreateChannelMembershipCommand({ ChannelArn, MemberArn, Type: 'DEFAULT', ChimeBearer: bearer, ...extra }), `add ${MemberArn}`);
    assert.equal(res.$metadata.httpStatusCode, 201);
    return res;
  }

  const sendCmd = (ChannelArn, bearer, Content, extra = {}) =>
    new M.SendChannelMessageCommand({ ChannelArn, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: bearer, ...extra });

  async function sendMsg(ChannelArn, bearer, Content, extra = {}) {
    const res = await ok(sendCmd(ChannelArn, bearer, Content, extra), `send ${JSON.stringify(Content).slice(0, 40)}`);
    assert.equal(res.$metadata.httpStatusCode, 201);
    assert.match(res.MessageId, MESSAGE_ID);
    assert.equal(res.ChannelArn, ChannelArn);
    return res.MessageId;
  }

  /** Every page of ListChannelMessages: { messages, pages: [sizes], tokens }. */
  async function listAll(ChannelArn, bearer, params = {}, between = async () => {}) {
    const messages = [];
    const pages = [];
    let NextToken;
    for (let i = 0; ; i++) {
      assert.ok(i < 200, 'ListChannelMessages never ended');
      const page = await ok(new M.ListChannelMessagesCommand({ ChannelArn, ChimeBearer: bearer, ...params, NextToken }), `ListChannelMessages page ${i}`);
      assert.equal(page.ChannelArn, ChannelArn);
      pages.push(page.ChannelMessages.length);
      messages.push(...page.ChannelMessages);
      NextToken = page.NextToken;
      if (NextToken === undefined) break;
      assert.ok(NextToken.length > 0, 'NextToken must be omitted, not empty, on the last page');
      await between(i);
    }
    return { messages, pages };
  }

  const ids = (messages) => messages.map((m) => m.MessageId);

  before(async () => {
    server = await startBelfry();
    identity = identityClient(server);
    messaging = messagingClient(server);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('conversation: public channel, members, send, get, list, edit, redact, admin delete', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice, { Name: 'general', Metadata: 'chan-meta' });

    const { Channel: c } = await ok(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.equal(c.ChannelArn, ch);
    assert.equal(c.Name, 'general');
    assert.equal(c.Metadata, 'chan-meta');
    assert.equal(c.Privacy, 'PUBLIC', 'default Privacy');
    assert.equal(c.Mode, 'UNRESTRICTED', 'default Mode');
    assert.deepEqual(c.CreatedBy, { Arn: w.alice, Name: 'alice' });
    assert.ok(c.CreatedTimestamp instanceof Date && Math.abs(c.CreatedTimestamp - Date.now()) < 60_000, `CreatedTimestamp ${c.CreatedTimestamp}`);

    // The creator is member and moderator.
    let mems = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(mems.ChannelMemberships.map((m) => m.Member.Arn), [w.alice]);
    const mods = await ok(new M.ListChannelModeratorsCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(mods.ChannelModerators.map((m) => m.Moderator.Arn), [w.alice]);

    const added = await addMember(ch, w.alice, w.bob);
    assert.deepEqual(added.Member, { Arn: w.bob, Name: 'bob' });
    assert.equal(added.ChannelArn, ch);
    // Mode UNRESTRICTED: an ordinary member may add others.
    await addMember(ch, w.bob, w.carol);
    const dup = await fails(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.bob, Type: 'DEFAULT', ChimeBearer: w.alice }), CONFLICT, 're-adding a member');
    assert.ok(dup.message.includes(w.bob), dup.message);
    mems = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.carol }));
    assert.deepEqual(mems.ChannelMemberships.map((m) => m.Member.Arn).sort(), [w.alice, w.bob, w.carol].sort());
    const { ChannelMembership: bm } = await ok(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.carol }));
    assert.deepEqual(bm.Member, { Arn: w.bob, Name: 'bob' });
    assert.deepEqual(bm.InvitedBy, { Arn: w.alice, Name: 'alice' });
    assert.equal(bm.Type, 'DEFAULT');

    const m1 = await sendMsg(ch, w.alice, 'hello from alice', { Metadata: 'm1-meta', ContentType: 'text/plain' });
    const m2 = await sendMsg(ch, w.bob, 'hi alice');
    const m3 = await sendMsg(ch, w.carol, 'hey both');
    assert.equal(new Set([m1, m2, m3]).size, 3);

    const { ChannelMessage: g1 } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: m1, ChimeBearer: w.bob }));
    assert.equal(g1.MessageId, m1);
    assert.equal(g1.ChannelArn, ch);
    assert.equal(g1.Content, 'hello from alice');
    assert.equal(g1.Metadata, 'm1-meta');
    assert.equal(g1.ContentType, 'text/plain');
    assert.equal(g1.Type, 'STANDARD');
    assert.equal(g1.Persistence, 'PERSISTENT');
    assert.deepEqual(g1.Sender, { Arn: w.alice, Name: 'alice' });
    assert.ok(!g1.Redacted, 'fresh message not redacted');
    assert.equal(g1.Status?.Value, 'SENT');
    assert.ok(g1.CreatedTimestamp instanceof Date, `CreatedTimestamp ${g1.CreatedTimestamp}`);
    assert.equal(g1.LastUpdatedTimestamp?.getTime(), g1.CreatedTimestamp.getTime(), 'fresh: LastUpdatedTimestamp = CreatedTimestamp');
    assert.equal(g1.LastEditedTimestamp, undefined, 'fresh: no LastEditedTimestamp');

    let list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.carol }));
    assert.deepEqual(ids(list.ChannelMessages), [m3, m2, m1], 'default order is DESCENDING');
    assert.equal(list.NextToken, undefined);
    assert.equal(list.ChannelMessages[2].Content, 'hello from alice');
    assert.deepEqual(list.ChannelMessages[1].Sender, { Arn: w.bob, Name: 'bob' });
    list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.carol, SortOrder: 'ASCENDING' }));
    assert.deepEqual(ids(list.ChannelMessages), [m1, m2, m3]);

    // Edit: only the sender.
    const edited = await ok(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: m1, Content: 'hello (edited)', Metadata: 'm1-meta2', ChimeBearer: w.alice }));
    assert.equal(edited.MessageId, m1);
    assert.equal(edited.ChannelArn, ch);
    const { ChannelMessage: e1 } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: m1, ChimeBearer: w.carol }));
    assert.equal(e1.Content, 'hello (edited)');
    assert.equal(e1.Metadata, 'm1-meta2');
    assert.ok(e1.LastEditedTimestamp instanceof Date, `LastEditedTimestamp after edit: ${e1.LastEditedTimestamp}`);
    assert.ok(e1.LastEditedTimestamp >= e1.CreatedTimestamp);
    assert.ok(e1.LastUpdatedTimestamp >= e1.LastEditedTimestamp);
    assert.equal(e1.CreatedTimestamp.getTime(), g1.CreatedTimestamp.getTime(), 'an edit keeps CreatedTimestamp');
    list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
    const l1 = list.ChannelMessages.find((m) => m.MessageId === m1);
    assert.deepEqual(ids(list.ChannelMessages), [m3, m2, m1], 'an edit does not move a message');
    assert.equal(l1?.Content, 'hello (edited)', 'ListChannelMessages shows the latest version');
    assert.ok(l1.LastEditedTimestamp instanceof Date);
    await fails(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: m1, Content: 'bob was here', ChimeBearer: w.bob }), FORBIDDEN, "bob edits alice's message");
    await fails(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: m1, Content: 'mod edit', ChimeBearer: w.admin }), FORBIDDEN, "admin edits alice's message");
    assert.equal((await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: m1, ChimeBearer: w.alice }))).ChannelMessage.Content, 'hello (edited)');

    // Redact: a member its own messages, a moderator anyone's.
    await fails(new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId: m1, ChimeBearer: w.bob }), FORBIDDEN, "bob redacts alice's message");
    const red = await ok(new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId: m2, ChimeBearer: w.bob }));
    assert.equal(red.MessageId, m2);
    const { ChannelMessage: r2 } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: m2, ChimeBearer: w.alice }));
    assert.equal(r2.Redacted, true);
    assert.equal(r2.Content, undefined, `redacted Content: ${JSON.stringify(r2.Content)}`);
    assert.equal(r2.Metadata, undefined, `redacted Metadata: ${JSON.stringify(r2.Metadata)}`);
    list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.carol }));
    const l2 = list.ChannelMessages.find((m) => m.MessageId === m2);
    assert.ok(l2, 'a redacted message is still listed');
    assert.equal(l2.Redacted, true);
    assert.equal(l2.Content, undefined);
    assert.equal(l2.Metadata, undefined);

    // Delete: admins only, not even the moderator or the sender.
    await fails(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId: m3, ChimeBearer: w.carol }), FORBIDDEN, 'the sender deletes');
    await fails(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId: m3, ChimeBearer: w.alice }), FORBIDDEN, 'the moderator deletes');
    const del = await ok(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId: m3, ChimeBearer: w.admin }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(ids(list.ChannelMessages), [m2, m1], 'the deleted message is gone from the list');
    const nf = await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: m3, ChimeBearer: w.alice }), NOT_FOUND, 'get deleted message');
    assert.ok(nf.message.includes(m3), `message should name the message id: ${nf.message}`);
    await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: 'f'.repeat(64), ChimeBearer: w.alice }), NOT_FOUND, 'get unknown message');

    // A non-member may read a PUBLIC channel but not write to it.
    list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.dave }), 'non-member lists a public channel');
    assert.deepEqual(ids(list.ChannelMessages), [m2, m1]);
    await ok(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.dave }), 'non-member describes a public channel');
    await fails(sendCmd(ch, w.dave, 'let me in'), FORBIDDEN, 'non-member sends');
    // The admin is no member: admins must join to send.
    await fails(sendCmd(ch, w.admin, 'admin speaking'), FORBIDDEN, 'admin (not a member) sends');
  }));

  test('bans: kick, no sending, no re-join, listed; admins and moderators cannot be banned; unban', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    await addMember(ch, w.alice, w.bob);
    await addMember(ch, w.alice, w.carol);
    await sendMsg(ch, w.carol, 'before the ban');

    await fails(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.bob }), FORBIDDEN, 'a member bans');
    const ban = await ok(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }));
    assert.equal(ban.$metadata.httpStatusCode, 201);
    assert.deepEqual(ban.Member, { Arn: w.carol, Name: 'carol' });
    assert.equal(ban.ChannelArn, ch);
    await fails(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }), CONFLICT, 'ban twice');

    const mems = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.ok(!mems.ChannelMemberships.some((m) => m.Member.Arn === w.carol), `banned user still a member: ${JSON.stringify(mems.ChannelMemberships)}`);
    await fails(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }), NOT_FOUND, 'membership of the banned user');
    await fails(sendCmd(ch, w.carol, 'after the ban'), FORBIDDEN, 'banned user sends');
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.carol }), FORBIDDEN, 'banned user re-joins');
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.alice }), FORBIDDEN, 'moderator re-adds banned user');
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.admin }), FORBIDDEN, 'admin re-adds banned user');
    const batch = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.carol], Type: 'DEFAULT', ChimeBearer: w.alice }), 'batch re-add banned user');
    assert.deepEqual((batch.BatchChannelMemberships?.Members ?? []).map((m) => m.Arn), [], 'banned user added by batch');
    assert.deepEqual(batch.Errors?.map((e) => [e.MemberArn, e.ErrorCode]), [[w.carol, 'Forbidden']]);

    const bans = await ok(new M.ListChannelBansCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(bans.ChannelBans.map((b) => b.Member), [{ Arn: w.carol, Name: 'carol' }]);
    assert.equal(bans.ChannelArn, ch);
    const { ChannelBan: db } = await ok(new M.DescribeChannelBanCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.admin }));
    assert.deepEqual(db.Member, { Arn: w.carol, Name: 'carol' });
    assert.deepEqual(db.CreatedBy, { Arn: w.alice, Name: 'alice' });
    assert.ok(db.CreatedTimestamp instanceof Date);
    await fails(new M.ListChannelBansCommand({ ChannelArn: ch, ChimeBearer: w.bob }), FORBIDDEN, 'a member lists bans');
    await fails(new M.DescribeChannelBanCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.alice }), NOT_FOUND, 'ban that does not exist');

    // Admins and moderators cannot be banned.
    await fails(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.admin, ChimeBearer: w.alice }), FORBIDDEN, 'ban an AppInstanceAdmin');
    await fails(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.alice, ChimeBearer: w.admin }), FORBIDDEN, 'ban a moderator');
    await ok(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.alice, ChimeBearer: w.alice }), 'the moderator stays a member');

    // Undo: DeleteChannelBan, then CreateChannelMembership.
    const unban = await ok(new M.DeleteChannelBanCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }));
    assert.equal(unban.$metadata.httpStatusCode, 204);
    assert.deepEqual((await ok(new M.ListChannelBansCommand({ ChannelArn: ch, ChimeBearer: w.alice }))).ChannelBans, []);
    await fails(sendCmd(ch, w.carol, 'unbanned but not re-added'), FORBIDDEN, 'unbanned non-member sends');
    await addMember(ch, w.alice, w.carol);
    await sendMsg(ch, w.carol, 'back again');
  }));

  test('private channel: invisible to non-members, listed only for admins with Privacy=PRIVATE', TEST, withOutput(async () => {
    const w = await world();
    const pub = await newChannel(w, w.alice, { Name: 'public-one' });
    const priv = await newChannel(w, w.alice, { Name: 'secret', Privacy: 'PRIVATE', Mode: 'RESTRICTED' });
    await addMember(priv, w.alice, w.bob);
    const msg = await sendMsg(priv, w.bob, 'private words');

    const { Channel: c } = await ok(new M.DescribeChannelCommand({ ChannelArn: priv, ChimeBearer: w.bob }), 'member describes private channel');
    assert.equal(c.Privacy, 'PRIVATE');
    assert.equal(c.Mode, 'RESTRICTED');
    assert.equal((await ok(new M.ListChannelMessagesCommand({ ChannelArn: priv, ChimeBearer: w.bob }))).ChannelMessages.length, 1);

    for (const who of ['carol', 'dave']) {
      await fails(new M.DescribeChannelCommand({ ChannelArn: priv, ChimeBearer: w[who] }), FORBIDDEN, `${who} describes private channel`);
      await fails(new M.ListChannelMessagesCommand({ ChannelArn: priv, ChimeBearer: w[who] }), FORBIDDEN, `${who} lists private messages`);
      await fails(new M.GetChannelMessageCommand({ ChannelArn: priv, MessageId: msg, ChimeBearer: w[who] }), FORBIDDEN, `${who} gets a private message`);
      await fails(new M.ListChannelMembershipsCommand({ ChannelArn: priv, ChimeBearer: w[who] }), FORBIDDEN, `${who} lists private memberships`);
    }
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: priv, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.carol }), FORBIDDEN, 'self-join a private channel');
    // RESTRICTED: a member cannot add others.
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: priv, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.bob }), FORBIDDEN, 'member adds someone to a RESTRICTED channel');
    // Self-join of a PUBLIC channel works.
    await addMember(pub, w.carol, w.carol);

    const names = (r) => r.Channels.map((x) => x.ChannelArn);
    const carolList = await ok(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: w.carol }));
    assert.deepEqual(names(carolList), [pub], 'ListChannels without Privacy lists PUBLIC channels only');
    assert.equal(carolList.Channels[0].Privacy, 'PUBLIC');
    assert.equal(carolList.Channels[0].Name, 'public-one');
    assert.deepEqual(names(await ok(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: w.alice }))), [pub], 'even for its creator');
    await fails(new M.ListChannelsCommand({ AppInstanceArn: w.app, Privacy: 'PRIVATE', ChimeBearer: w.carol }), FORBIDDEN, 'non-admin lists PRIVATE');
    await fails(new M.ListChannelsCommand({ AppInstanceArn: w.app, Privacy: 'PRIVATE', ChimeBearer: w.alice }), FORBIDDEN, 'creator (non-admin) lists PRIVATE');
    const adminPriv = await ok(new M.ListChannelsCommand({ AppInstanceArn: w.app, Privacy: 'PRIVATE', ChimeBearer: w.admin }));
    assert.deepEqual(adminPriv.Channels.map((x) => [x.ChannelArn, x.Privacy, x.Name]), [[priv, 'PRIVATE', 'secret']]);
    const { Channel: ac } = await ok(new M.DescribeChannelCommand({ ChannelArn: priv, ChimeBearer: w.admin }), 'admin describes private channel');
    assert.equal(ac.Privacy, 'PRIVATE');
    assert.equal((await ok(new M.ListChannelMessagesCommand({ ChannelArn: priv, ChimeBearer: w.admin }))).ChannelMessages[0]?.MessageId, msg);
  }));

  test('read marker: UpdateChannelReadMarker shows up in ListChannelMembershipsForAppInstanceUser', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice, { Name: 'marked' });
    await addMember(ch, w.alice, w.bob);
    const last = await sendMsg(ch, w.alice, 'unread');
    const { ChannelMessage: lm } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: last, ChimeBearer: w.bob }));
    // NON_PERSISTENT messages do not move LastMessageTimestamp.
    await sendMsg(ch, w.alice, 'typing', { Type: 'CONTROL', Persistence: 'NON_PERSISTENT' });

    const summaryOf = async (bearer, user) => {
      const r = await ok(new M.ListChannelMembershipsForAppInstanceUserCommand({ AppInstanceUserArn: user, ChimeBearer: bearer }));
      const entry = r.ChannelMemberships.find((m) => m.ChannelSummary?.ChannelArn === ch);
      assert.ok(entry, `channel missing from ListChannelMembershipsForAppInstanceUser: ${JSON.stringify(r.ChannelMemberships)}`);
      return entry;
    };
    let e = await summaryOf(w.bob, w.bob);
    assert.equal(e.ChannelSummary.Name, 'marked');
    assert.equal(e.ChannelSummary.Privacy, 'PUBLIC');
    assert.equal(e.ChannelSummary.LastMessageTimestamp?.getTime(), lm.CreatedTimestamp.getTime(), 'LastMessageTimestamp = CreatedTimestamp of the last persistent message');
    assert.equal((await ok(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.bob }))).Channel.LastMessageTimestamp?.getTime(), lm.CreatedTimestamp.getTime(),
      'DescribeChannel LastMessageTimestamp');
    assert.equal(e.AppInstanceUserMembershipSummary.Type, 'DEFAULT');
    assert.equal(e.AppInstanceUserMembershipSummary.ReadMarkerTimestamp, undefined, 'no read marker before UpdateChannelReadMarker');

    const t0 = Date.now();
    const res = await ok(new M.UpdateChannelReadMarkerCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
    assert.equal(res.ChannelArn, ch);
    e = await summaryOf(w.bob, w.bob);
    const rm = e.AppInstanceUserMembershipSummary.ReadMarkerTimestamp;
    assert.ok(rm instanceof Date, `ReadMarkerTimestamp: ${rm}`);
    assert.ok(rm.getTime() >= t0 - 5_000 && rm.getTime() <= Date.now() + 5_000, `ReadMarkerTimestamp ${rm.toISOString()} is not now`);
    assert.ok(rm >= e.ChannelSummary.LastMessageTimestamp, 'marker after the last message');
    // Alice's marker is untouched; an admin may look at anyone's list, others only their own.
    e = await summaryOf(w.admin, w.alice);
    assert.equal(e.AppInstanceUserMembershipSummary.ReadMarkerTimestamp, undefined);
    await fails(new M.ListChannelMembershipsForAppInstanceUserCommand({ AppInstanceUserArn: w.bob, ChimeBearer: w.alice }), FORBIDDEN, "alice lists bob's memberships");
    await fails(new M.UpdateChannelReadMarkerCommand({ ChannelArn: ch, ChimeBearer: w.carol }), FORBIDDEN, 'non-member sets a read marker');
  }));

  test('membership preferences: FILTERED rule round trip, invalid rule rejected, own membership only', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    await addMember(ch, w.alice, w.bob);

    const dflt = await ok(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.bob }));
    assert.equal(dflt.Preferences?.PushNotifications?.AllowNotifications, 'ALL', `default preferences: ${JSON.stringify(dflt.Preferences)}`);

    const rule = JSON.stringify({ $or: [{ type: ['urgent'] }, { mention: [{ 'anything-but': ['nobody'] }] }] });
    const prefs = { PushNotifications: { AllowNotifications: 'FILTERED', FilterRule: rule } };
    const put = await ok(new M.PutChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.bob, Preferences: prefs }));
    assert.equal(put.ChannelArn, ch);
    assert.deepEqual(put.Member, { Arn: w.bob, Name: 'bob' });
    assert.deepEqual(put.Preferences, prefs);
    const got = await ok(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.bob }));
    assert.deepEqual(got.Preferences, prefs);
    assert.deepEqual(got.Member, { Arn: w.bob, Name: 'bob' });

    for (const [bad, what] of [['not json', 'not JSON'], ['{"type": "urgent"}', 'value not a list'], ['[]', 'not an object']]) {
      const err = await fails(new M.PutChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.bob,
        Preferences: { PushNotifications: { AllowNotifications: 'FILTERED', FilterRule: bad } } }), BAD_REQUEST, `FilterRule ${what}`);
      assert.match(err.message, /FilterRule/, `the message should name FilterRule: ${err.message}`);
    }
    assert.deepEqual((await ok(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.bob }))).Preferences, prefs, 'rejected puts change nothing');

    // Not even admins or moderators read or write someone else's preferences.
    await fails(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.alice }), FORBIDDEN, "moderator reads bob's preferences");
    await fails(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.admin }), FORBIDDEN, "admin reads bob's preferences");
    await fails(new M.PutChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.alice,
      Preferences: { PushNotifications: { AllowNotifications: 'NONE' } } }), FORBIDDEN, "moderator writes bob's preferences");
    await fails(new M.GetChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.carol }), FORBIDDEN, 'non-member reads preferences');
  }));

  test('targeted message: visible to sender and target only; NON_PERSISTENT never listed', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    await addMember(ch, w.alice, w.bob);
    await addMember(ch, w.alice, w.carol);
    const pub = await sendMsg(ch, w.alice, 'for everyone');
    const tgt = await sendMsg(ch, w.alice, 'psst bob', { Target: [{ MemberArn: w.bob }] });

    const { ChannelMessage: gb } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.bob }), 'target gets it');
    assert.equal(gb.Content, 'psst bob');
    assert.deepEqual(gb.Target, [{ MemberArn: w.bob }]);
    await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.alice }), 'sender gets it');
    await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.carol }), NOT_FOUND, 'third member gets it');
    await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.dave }), NOT_FOUND, 'non-member gets it');

    for (const [who, expected] of [['alice', [tgt, pub]], ['bob', [tgt, pub]], ['carol', [pub]], ['dave', [pub]]]) {
      const l = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w[who] }));
      assert.deepEqual(ids(l.ChannelMessages), expected, `${who}'s list`);
    }
    // Only those who see a targeted message act on it (which of 403/404 is not documented).
    const redact = await rejection(send(messaging, new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.carol })), 'third member redacts it');
    assertParseableAwsError(redact, 'third member redacts it');
    assert.ok(['NotFoundException', 'ForbiddenException'].includes(redact.name), `third member redacts it: ${redact.name} ${redact.message}`);
    assert.equal((await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: tgt, ChimeBearer: w.bob }))).ChannelMessage.Content, 'psst bob');
    const err = await fails(sendCmd(ch, w.alice, 'to a stranger', { Target: [{ MemberArn: w.dave }] }), BAD_REQUEST, 'target not a member');
    assert.match(err.message, /Target/, err.message);

    // NON_PERSISTENT: a MessageId, but never stored.
    const np = await sendMsg(ch, w.alice, 'typing…', { Persistence: 'NON_PERSISTENT' });
    const npc = await sendMsg(ch, w.alice, 'typing', { Type: 'CONTROL', Persistence: 'NON_PERSISTENT' });
    for (const id of [np, npc]) {
      await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: id, ChimeBearer: w.bob }), NOT_FOUND, 'get a NON_PERSISTENT message');
    }
    const l = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
    assert.deepEqual(ids(l.ChannelMessages), [tgt, pub], 'NON_PERSISTENT messages are not listed');

    // A persistent CONTROL message is stored and listed like any other.
    const ctl = await sendMsg(ch, w.bob, 'ping', { Type: 'CONTROL' });
    const { ChannelMessage: gc } = await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: ctl, ChimeBearer: w.alice }));
    assert.equal(gc.Type, 'CONTROL');
    assert.equal(gc.Content, 'ping');
  }));

  test('hidden memberships: listed only with Type HIDDEN; hidden members read but cannot send', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    await addMember(ch, w.alice, w.bob);
    await fails(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, Type: 'HIDDEN', ChimeBearer: w.bob }), FORBIDDEN, 'a plain member adds a HIDDEN member');
    const h = await addMember(ch, w.alice, w.dave, { Type: 'HIDDEN' });
    assert.deepEqual(h.Member, { Arn: w.dave, Name: 'dave' });

    const dflt = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
    assert.deepEqual(dflt.ChannelMemberships.map((m) => m.Member.Arn).sort(), [w.alice, w.bob].sort(), 'hidden member not in the default list');
    const explicit = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, Type: 'DEFAULT', ChimeBearer: w.bob }));
    assert.deepEqual(explicit.ChannelMemberships.map((m) => m.Member.Arn).sort(), [w.alice, w.bob].sort());
    const hidden = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, Type: 'HIDDEN', ChimeBearer: w.alice }));
    assert.deepEqual(hidden.ChannelMemberships.map((m) => m.Member.Arn), [w.dave]);
    const { ChannelMembership: dm } = await ok(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.dave, ChimeBearer: w.alice }));
    assert.equal(dm.Type, 'HIDDEN');

    const m = await sendMsg(ch, w.bob, 'dave is watching');
    await fails(sendCmd(ch, w.dave, 'I am hidden'), FORBIDDEN, 'hidden member sends');
    assert.deepEqual(ids((await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.dave }))).ChannelMessages), [m], 'hidden member reads');
    const mine = await ok(new M.ListChannelMembershipsForAppInstanceUserCommand({ AppInstanceUserArn: w.dave, ChimeBearer: w.dave }));
    assert.deepEqual(mine.ChannelMemberships.map((x) => [x.ChannelSummary.ChannelArn, x.AppInstanceUserMembershipSummary.Type]), [[ch, 'HIDDEN']]);
  }));

  test('BatchCreateChannelMembership: one good and one bad member → 200 with Errors[]', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    const missing = `${w.app}/user/nobody`;
    const res = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.bob, missing], Type: 'DEFAULT', ChimeBearer: w.alice }));
    assert.equal(res.$metadata.httpStatusCode, 200);
    assert.equal(res.BatchChannelMemberships?.ChannelArn, ch);
    assert.deepEqual(res.BatchChannelMemberships?.InvitedBy, { Arn: w.alice, Name: 'alice' });
    assert.equal(res.BatchChannelMemberships?.Type, 'DEFAULT');
    assert.deepEqual(res.BatchChannelMemberships?.Members, [{ Arn: w.bob, Name: 'bob' }]);
    assert.equal(res.Errors?.length, 1, JSON.stringify(res.Errors));
    const [e] = res.Errors;
    assert.equal(e.MemberArn, missing);
    if (ERROR_CODES) assert.ok(ERROR_CODES.has(e.ErrorCode), `ErrorCode ${e.ErrorCode} is not an ErrorCode enum value`);
    // AWS answers an unknown user ARN in a parameter with 403 "An invalid app instance user ARN was
    // supplied for the input parameter" (semantics.md §8.2); NotFound would be as good.
    assert.ok(['NotFound', 'Forbidden'].includes(e.ErrorCode), `a missing user: ${JSON.stringify(e)}`);
    assert.ok(e.ErrorMessage?.includes(missing), `ErrorMessage should name the member: ${e.ErrorMessage}`);

    const mems = await ok(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(mems.ChannelMemberships.map((m) => m.Member.Arn).sort(), [w.alice, w.bob].sort());
    // Already a member → a Conflict entry, still 200.
    const again = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.bob, w.carol], Type: 'DEFAULT', ChimeBearer: w.alice }));
    assert.deepEqual(again.BatchChannelMemberships?.Members, [{ Arn: w.carol, Name: 'carol' }]);
    assert.deepEqual(again.Errors?.map((x) => [x.MemberArn, x.ErrorCode]), [[w.bob, 'Conflict']]);
    // A non-member may not add anyone: the whole call fails.
    await fails(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.carol], Type: 'DEFAULT', ChimeBearer: w.dave }), FORBIDDEN, 'non-member batch-adds');
  }));

  test('SearchChannels by MEMBERS: INCLUDES and EQUALS, scope = own channels unless admin', TEST, withOutput(async () => {
    const w = await world();
    const chA = await newChannel(w, w.alice, { Name: 'A' }); // alice bob
    await addMember(chA, w.alice, w.bob);
    const chB = await newChannel(w, w.alice, { Name: 'B' }); // alice bob carol
    await addMember(chB, w.alice, w.bob);
    await addMember(chB, w.alice, w.carol);
    const chC = await newChannel(w, w.alice, { Name: 'C', Privacy: 'PRIVATE' }); // alice carol
    await addMember(chC, w.alice, w.carol);
    const chD = await newChannel(w, w.bob, { Name: 'D' }); // bob carol
    await addMember(chD, w.bob, w.carol);

    const search = async (bearer, Operator, Values) => {
      const r = await ok(new M.SearchChannelsCommand({ ChimeBearer: bearer, Fields: [{ Key: 'MEMBERS', Operator, Values }] }), `SearchChannels ${Operator}`);
      return r.Channels.map((c) => c.ChannelArn).sort();
    };
    assert.deepEqual(await search(w.alice, 'INCLUDES', [w.alice, w.bob]), [chA, chB].sort());
    assert.deepEqual(await search(w.alice, 'EQUALS', [w.alice, w.bob]), [chA]);
    assert.deepEqual(await search(w.alice, 'INCLUDES', [w.carol]), [chB, chC].sort(), 'private channels of the bearer are found');
    assert.deepEqual(await search(w.alice, 'INCLUDES', [w.bob, w.carol]), [chB], "not channels alice does not belong to");
    assert.deepEqual(await search(w.admin, 'INCLUDES', [w.bob, w.carol]), [chB, chD].sort(), 'an admin searches every channel');
    assert.deepEqual(await search(w.dave, 'INCLUDES', [w.alice]), [], 'dave belongs to no channel');
    const r = await ok(new M.SearchChannelsCommand({ ChimeBearer: w.alice, Fields: [{ Key: 'MEMBERS', Operator: 'EQUALS', Values: [w.alice, w.carol] }] }));
    assert.deepEqual(r.Channels.map((c) => [c.ChannelArn, c.Name, c.Privacy]), [[chC, 'C', 'PRIVATE']]);
  }));

  test('limits: content, CONTROL, metadata, MaxResults and NextToken are checked by the server', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    const bad = async (cmd, what, field) => {
      const err = await fails(cmd, BAD_REQUEST, what);
      assert.match(err.message, field, `${what}: the message should name the field: ${err.message}`);
      return err;
    };

    // STANDARD content: 4096 bytes (not characters).
    await sendMsg(ch, w.alice, 'a'.repeat(4096));
    await sendMsg(ch, w.alice, 'é'.repeat(2048)); // 4096 bytes
    await bad(sendCmd(ch, w.alice, 'a'.repeat(4097)), '4097-byte content', /Content/);
    await bad(sendCmd(ch, w.alice, `${'é'.repeat(2048)}a`), '2049 characters, 4097 bytes', /Content/);
    // Metadata: 1024 bytes.
    await sendMsg(ch, w.alice, 'x', { Metadata: 'm'.repeat(1024) });
    await bad(sendCmd(ch, w.alice, 'x', { Metadata: 'm'.repeat(1025) }), '1025-byte metadata', /Metadata/);
    // CONTROL: 30 bytes, no metadata.
    await sendMsg(ch, w.alice, 'c'.repeat(30), { Type: 'CONTROL' });
    await bad(sendCmd(ch, w.alice, 'c'.repeat(31), { Type: 'CONTROL' }), '31-byte CONTROL', /Content/);
    await bad(sendCmd(ch, w.alice, 'ü'.repeat(16), { Type: 'CONTROL' }), '16 characters, 32 bytes, CONTROL', /Content/);
    await bad(sendCmd(ch, w.alice, 'ok', { Type: 'CONTROL', Metadata: 'm' }), 'CONTROL with metadata', /Metadata/);
    // The same limits on edits.
    const id = await sendMsg(ch, w.alice, 'short');
    await bad(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: id, Content: 'a'.repeat(4097), ChimeBearer: w.alice }), 'edit to 4097 bytes', /Content/);
    await bad(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: id, Content: 'x', Metadata: 'm'.repeat(1025), ChimeBearer: w.alice }), 'edit to 1025-byte metadata', /Metadata/);
    assert.equal((await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: id, ChimeBearer: w.alice }))).ChannelMessage.Content, 'short');

    // MaxResults 1..50: the SDK does not check, the server must.
    for (const MaxResults of [51, 0, -1]) {
      await bad(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice, MaxResults }), `ListChannelMessages MaxResults ${MaxResults}`, /MaxResults/);
    }
    await bad(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice, MaxResults: 51 }), 'ListChannelMemberships MaxResults 51', /MaxResults/);
    await bad(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: w.alice, MaxResults: 51 }), 'ListChannels MaxResults 51', /MaxResults/);
    const page = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice, MaxResults: 50 }));
    assert.ok(page.ChannelMessages.length <= 50);
    await bad(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice, NextToken: 'forged' }), 'forged NextToken', /NextToken/);
    await bad(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice, NextToken: 'forged' }), 'forged NextToken (memberships)', /NextToken/);
    // A real token of another list, or of the same list with other parameters.
    const two = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice, MaxResults: 2 }));
    assert.ok(two.NextToken, 'more than 2 messages: a NextToken');
    await bad(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice, SortOrder: 'ASCENDING', NextToken: two.NextToken }), 'DESCENDING token on an ASCENDING list', /NextToken/);
    await bad(new M.ListChannelMembershipsCommand({ ChannelArn: ch, ChimeBearer: w.alice, NextToken: two.NextToken }), 'messages token on ListChannelMemberships', /NextToken/);
  }));

  test('tags on a channel through the messaging client', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice, { Tags: [{ Key: 'created', Value: 'yes' }] });
    assert.deepEqual((await ok(new M.ListTagsForResourceCommand({ ResourceARN: ch }))).Tags, [{ Key: 'created', Value: 'yes' }], 'tags given to CreateChannel');
    const tagged = await ok(new M.TagResourceCommand({ ResourceARN: ch, Tags: [{ Key: 'team', Value: 'blue' }, { Key: 'env', Value: 'test' }] }));
    assert.equal(tagged.$metadata.httpStatusCode, 204);
    const sortTags = (t) => [...t].sort((a, b) => a.Key.localeCompare(b.Key));
    assert.deepEqual(sortTags((await ok(new M.ListTagsForResourceCommand({ ResourceARN: ch }))).Tags),
      sortTags([{ Key: 'created', Value: 'yes' }, { Key: 'team', Value: 'blue' }, { Key: 'env', Value: 'test' }]));
    const untagged = await ok(new M.UntagResourceCommand({ ResourceARN: ch, TagKeys: ['team', 'created'] }));
    assert.equal(untagged.$metadata.httpStatusCode, 204);
    assert.deepEqual((await ok(new M.ListTagsForResourceCommand({ ResourceARN: ch }))).Tags, [{ Key: 'env', Value: 'test' }]);
    await fails(new M.ListTagsForResourceCommand({ ResourceARN: `${w.app}/channel/${'0'.repeat(64)}` }), NOT_FOUND, 'tags of a missing channel');
  }));

  test('DeleteChannel: moderators only; then every call on it is NotFound', TEST, withOutput(async () => {
    const w = await world();
    const ch = await newChannel(w, w.alice);
    await addMember(ch, w.alice, w.bob);
    const msg = await sendMsg(ch, w.bob, 'soon gone');
    await fails(new M.DeleteChannelCommand({ ChannelArn: ch, ChimeBearer: w.bob }), FORBIDDEN, 'a member deletes the channel');
    const del = await ok(new M.DeleteChannelCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const err = await fails(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.alice }), NOT_FOUND, 'describe deleted channel');
    assert.ok(err.message.includes(ch), `message should name the channel: ${err.message}`);
    await fails(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.bob }), NOT_FOUND, 'list messages of deleted channel');
    await fails(new M.GetChannelMessageCommand({ ChannelArn: ch, MessageId: msg, ChimeBearer: w.bob }), NOT_FOUND, 'get message of deleted channel');
    await fails(sendCmd(ch, w.bob, 'anyone?'), NOT_FOUND, 'send to deleted channel');
    await fails(new M.DeleteChannelCommand({ ChannelArn: ch, ChimeBearer: w.admin }), NOT_FOUND, 'delete twice');
    const mine = await ok(new M.ListChannelMembershipsForAppInstanceUserCommand({ AppInstanceUserArn: w.bob, ChimeBearer: w.bob }));
    assert.deepEqual(mine.ChannelMemberships, [], 'memberships of a deleted channel are gone');
    assert.deepEqual((await ok(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: w.admin }))).Channels, []);
  }));

  test('bearer errors: unknown bearer → 401, bearer of another app instance → 403, unknown channel → 404', TEST, withOutput(async () => {
    const w = await world(['alice']);
    const other = await world(['mallory']);
    const ch = await newChannel(w, w.alice);
    const err = await fails(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: `${w.app}/user/ghost` }), { name: 'UnauthorizedClientException', status: 401 }, 'unknown bearer');
    assert.match(err.message, /bearer/i, err.message);
    await fails(sendCmd(ch, `${w.app}/user/ghost`, 'boo'), { name: 'UnauthorizedClientException', status: 401 }, 'unknown bearer sends');
    await fails(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: other.mallory }), FORBIDDEN, 'bearer of another app instance');
    await fails(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: other.mallory }), FORBIDDEN, 'ListChannels of another app instance');
    await fails(new M.DescribeChannelCommand({ ChannelArn: `${w.app}/channel/${'0'.repeat(64)}`, ChimeBearer: w.alice }), NOT_FOUND, 'unknown channel');
  }));

  describe('pagination over 500 messages', () => {
    let w;
    let ch;
    const sent = new Map(); // MessageId → index
    let asc; // the full ASCENDING walk

    // Monotonic in CreatedTimestamp (ties allowed), no repeats.
    function assertOrdered(messages, order, what) {
      const seen = new Set();
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        assert.ok(!seen.has(m.MessageId), `${what}: ${m.MessageId} listed twice (position ${i})`);
        seen.add(m.MessageId);
        assert.ok(m.CreatedTimestamp instanceof Date, `${what}: CreatedTimestamp ${m.CreatedTimestamp}`);
        if (i === 0) continue;
        const prev = messages[i - 1].CreatedTimestamp.getTime();
        const cur = m.CreatedTimestamp.getTime();
        if (order === 'ASCENDING') assert.ok(prev <= cur, `${what}: position ${i} (${m.CreatedTimestamp.toISOString()}) is older than position ${i - 1} (${messages[i - 1].CreatedTimestamp.toISOString()})`);
        else assert.ok(prev >= cur, `${what}: position ${i} (${m.CreatedTimestamp.toISOString()}) is newer than position ${i - 1} (${messages[i - 1].CreatedTimestamp.toISOString()})`);
      }
    }

    before(async () => {
      w = await world(['alice', 'bob']);
      ch = await newChannel(w, w.alice, { Name: 'busy' });
      await addMember(ch, w.alice, w.bob);
      const all = [...Array(500).keys()];
      for (let i = 0; i < all.length; i += 10) {
        const batch = all.slice(i, i + 10);
        const got = await Promise.all(batch.map((n) => sendMsg(ch, n % 2 ? w.bob : w.alice, `message #${n}`)));
        got.forEach((id, k) => sent.set(id, batch[k]));
      }
      assert.equal(sent.size, 500, 'every send got its own MessageId');
    }, { timeout: LONG_TEST.timeout });

    test('DESCENDING (default) and ASCENDING walks with MaxResults 50: 500 unique ids, ordered, no gaps', LONG_TEST, withOutput(async () => {
      const desc = await listAll(ch, w.bob, { MaxResults: 50 });
      assert.deepEqual(desc.pages, Array(10).fill(50));
      assert.equal(desc.messages.length, 500);
      assertOrdered(desc.messages, 'DESCENDING', 'DESCENDING walk');
      assert.deepEqual(new Set(ids(desc.messages)), new Set(sent.keys()), 'DESCENDING walk: exactly the sent messages');
      for (const m of desc.messages) assert.equal(m.Content, `message #${sent.get(m.MessageId)}`);

      const explicit = await listAll(ch, w.bob, { MaxResults: 50, SortOrder: 'DESCENDING' });
      assert.deepEqual(ids(explicit.messages), ids(desc.messages), 'SortOrder DESCENDING = default order');

      asc = (await listAll(ch, w.alice, { MaxResults: 50, SortOrder: 'ASCENDING' })).messages;
      assert.equal(asc.length, 500);
      assertOrdered(asc, 'ASCENDING', 'ASCENDING walk');
      assert.deepEqual(new Set(ids(asc)), new Set(sent.keys()), 'ASCENDING walk: exactly the sent messages');
      assert.ok(asc.some((m) => m.CreatedTimestamp.getMilliseconds() !== 0), 'CreatedTimestamp carries milliseconds');

      // Default page size is 50.
      const first = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
      assert.equal(first.ChannelMessages.length, 50);
      assert.ok(first.NextToken);
      // Odd page size: 500 = 7 × 71 + 3.
      const odd = await listAll(ch, w.bob, { MaxResults: 7, SortOrder: 'ASCENDING' });
      assert.equal(odd.messages.length, 500);
      assert.equal(new Set(ids(odd.messages)).size, 500);
      assert.deepEqual(odd.pages.slice(-1), [3]);
    }));

    test('NotBefore/NotAfter (inclusive) from the CreatedTimestamps of messages #100 and #399, both orders', LONG_TEST, withOutput(async () => {
      assert.ok(asc, 'needs the ASCENDING walk of the previous test');
      const NotBefore = asc[100].CreatedTimestamp;
      const NotAfter = asc[399].CreatedTimestamp;
      const inRange = asc.filter((m) => m.CreatedTimestamp >= NotBefore && m.CreatedTimestamp <= NotAfter);
      assert.ok(inRange.length >= 300, `at least messages #100..#399 are in range (${inRange.length})`);
      const expected = new Set(ids(inRange));
      for (const SortOrder of ['ASCENDING', 'DESCENDING']) {
        const { messages } = await listAll(ch, w.bob, { MaxResults: 50, SortOrder, NotBefore, NotAfter });
        assertOrdered(messages, SortOrder, `filtered ${SortOrder} walk`);
        const got = new Set(ids(messages));
        const missing = [...expected].filter((id) => !got.has(id)).map((id) => asc.find((m) => m.MessageId === id).CreatedTimestamp.toISOString());
        const extra = messages.filter((m) => !expected.has(m.MessageId)).map((m) => m.CreatedTimestamp.toISOString());
        assert.deepEqual({ missing, extra, count: messages.length }, { missing: [], extra: [], count: expected.size },
          `filtered ${SortOrder} walk [${NotBefore.toISOString()}, ${NotAfter.toISOString()}]`);
      }
      // A window of exactly one millisecond: the messages created in it.
      const t = asc[250].CreatedTimestamp;
      const same = asc.filter((m) => m.CreatedTimestamp.getTime() === t.getTime());
      const { messages } = await listAll(ch, w.bob, { NotBefore: t, NotAfter: t });
      assert.deepEqual(new Set(ids(messages)), new Set(ids(same)), `NotBefore = NotAfter = ${t.toISOString()}`);
      // Only one bound.
      const after = await listAll(ch, w.bob, { MaxResults: 50, NotBefore: asc[450].CreatedTimestamp, SortOrder: 'ASCENDING' });
      assert.deepEqual(new Set(ids(after.messages)), new Set(ids(asc.filter((m) => m.CreatedTimestamp >= asc[450].CreatedTimestamp))), 'NotBefore only');
      const upTo = await listAll(ch, w.bob, { MaxResults: 50, NotAfter: asc[49].CreatedTimestamp });
      assert.deepEqual(new Set(ids(upTo.messages)), new Set(ids(asc.filter((m) => m.CreatedTimestamp <= asc[49].CreatedTimestamp))), 'NotAfter only');
    }));

    test('messages sent between pages: no duplicates or gaps in the DESCENDING walk; ASCENDING picks them up at the end', LONG_TEST, withOutput(async () => {
      const existing = new Set(ids((await listAll(ch, w.alice, { MaxResults: 50 })).messages));
      const added = [];
      const desc = await listAll(ch, w.bob, { MaxResults: 50 }, async (page) => {
        if (page < 3) for (let k = 0; k < 2; k++) added.push(await sendMsg(ch, w.alice, `between pages ${page}.${k}`));
      });
      assert.equal(added.length, 6);
      assertOrdered(desc.messages, 'DESCENDING', 'DESCENDING walk with concurrent sends');
      assert.deepEqual(new Set(ids(desc.messages)), existing, 'the DESCENDING walk returns exactly the messages that existed when it began');

      // Deleting and redacting messages the walk has not reached yet: no gaps, no repeats.
      const snapshot = (await listAll(ch, w.alice, { MaxResults: 50 })).messages;
      const doomed = snapshot[260].MessageId;
      const redacted = snapshot[370];
      const redactor = redacted.Sender.Arn;
      const changed = await listAll(ch, w.bob, { MaxResults: 50 }, async (page) => {
        if (page !== 1) return;
        await ok(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId: doomed, ChimeBearer: w.admin }));
        await ok(new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId: redacted.MessageId, ChimeBearer: redactor }));
        await ok(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: snapshot[420].MessageId, Content: 'edited between pages', ChimeBearer: snapshot[420].Sender.Arn }));
      });
      assertOrdered(changed.messages, 'DESCENDING', 'DESCENDING walk with deletes and edits');
      assert.deepEqual(ids(changed.messages), ids(snapshot).filter((id) => id !== doomed), 'the walk skips the deleted message and nothing else');
      const rm = changed.messages.find((m) => m.MessageId === redacted.MessageId);
      assert.equal(rm.Redacted, true);
      assert.equal(rm.Content, undefined);
      assert.equal(changed.messages.find((m) => m.MessageId === snapshot[420].MessageId).Content, 'edited between pages');
      existing.delete(doomed);

      const added2 = [];
      const ascWalk = await listAll(ch, w.bob, { MaxResults: 50, SortOrder: 'ASCENDING' }, async (page) => {
        if (page < 3) added2.push(await sendMsg(ch, w.bob, `ascending between pages ${page}`));
      });
      assertOrdered(ascWalk.messages, 'ASCENDING', 'ASCENDING walk with concurrent sends');
      assert.deepEqual(new Set(ids(ascWalk.messages)), new Set([...existing, ...added, ...added2]), 'the ASCENDING walk ends with the new messages');
      assert.deepEqual(ids(ascWalk.messages).slice(-3), added2, 'new messages come last, in order');
    }));
  });

  test('idempotency: 20 concurrent sends with one ClientRequestToken → one message; other content → Conflict', LONG_TEST, withOutput(async () => {
    const w = await world(['alice']);
    const ch = await newChannel(w, w.alice);
    const ClientRequestToken = crypto.randomUUID();
    const params = { Metadata: 'once', ClientRequestToken };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => send(messaging, sendCmd(ch, w.alice, 'exactly once', params))));
    const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.$metadata ? `${r.reason.name} ${r.reason.$metadata.httpStatusCode}: ${r.reason.message}` : String(r.reason));
    assert.deepEqual(failures, [], 'every concurrent retry succeeds');
    const messageIds = new Set(results.map((r) => r.value.MessageId));
    assert.equal(messageIds.size, 1, `one MessageId for one token, got ${[...messageIds].join(', ')}`);
    const [id] = messageIds;
    assert.match(id, MESSAGE_ID);

    const again = await ok(sendCmd(ch, w.alice, 'exactly once', params), 'a later retry');
    assert.equal(again.MessageId, id);
    const list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice }));
    assert.deepEqual(ids(list.ChannelMessages), [id], 'exactly one stored message');
    assert.equal(list.ChannelMessages[0].Content, 'exactly once');

    const err = await fails(sendCmd(ch, w.alice, 'something else', params), CONFLICT, 'same token, other content');
    assert.match(err.message, /ClientRequestToken/, err.message);
    await fails(sendCmd(ch, w.alice, 'exactly once', { ...params, Metadata: 'other' }), CONFLICT, 'same token, other metadata');
    // A new token is a new message.
    const other = await sendMsg(ch, w.alice, 'exactly once', { Metadata: 'once', ClientRequestToken: crypto.randomUUID() });
    assert.notEqual(other, id);
    assert.equal((await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.alice }))).ChannelMessages.length, 2);
  }));
});
