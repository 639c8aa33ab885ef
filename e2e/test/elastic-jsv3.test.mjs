// Elastic channels through the JS SDK v3 and an unmodified amazon-chime-sdk-js messaging session
// (semantics.md §4.1, §5 "Elastic membership allocation"; websocket-protocol.md §4):
// - a 10 × 6 × 40 channel grows from 0 to 30 members with BatchCreateChannelMembership and shrinks
//   back to 3 with DeleteChannelMembership; ListSubChannels shows every scale-out and scale-in with
//   counts equal to the memberships listed per sub-channel;
// - the AWS demo's 2 × 4 × 40 takes 8 members and refuses the 9th with nothing written;
// - messages live in one sub-channel: listed, read and edited there only; a member of another
//   sub-channel is refused (Forbidden) or does not find them (NotFound);
// - bad inputs (missing/extra SubChannelId, out-of-range configuration, MemberArns, UNRESTRICTED)
//   are BadRequestException naming the field, and change nothing;
// - a member's DefaultMessagingSession receives its sub-channel's events, with SubChannelId, and
//   none of the other sub-channel's (proven by a later marker, not a sleep); a transferred member
//   receives UPDATE_CHANNEL_MEMBERSHIP; a moderator whose sub-channel is merged away receives
//   DELETE_CHANNEL_MEMBERSHIP with x-amz-chime-event-reason subchannel_DELETED.
//
// Every test builds its own app instance (the quota is one elastic channel per app instance).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { assertAwsError, identityClient, messagingClient, rejection, send, success } from '../lib/aws.mjs';
import { REQUEST_TIMEOUT_MS, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';
import { openSession, trustBelfryCA } from '../lib/session.mjs';

const TEST = { timeout: 30 * REQUEST_TIMEOUT_MS };

describe('elastic channels (JS SDK v3, amazon-chime-sdk-js)', () => {
  let server;
  let identity;
  let messaging;
  const sessions = [];
  const withOutput = (fn) => withServerOutput(() => server, fn);
  const idOk = (cmd, what = cmd.constructor.name) => success(send(identity, cmd), what);
  const ok = (cmd, what = cmd.constructor.name) => success(send(messaging, cmd), what);
  const badRequest = async (cmd, field, what) => {
    const err = await rejection(send(messaging, cmd), what);
    assertAwsError(err, { name: 'BadRequestException', status: 400 }, what);
    assert.match(err.message, new RegExp(field), `${what}: the message must name ${field}: ${err.message}`);
  };

  /** An app instance with a moderator (mod), an admin and n users u01…. */
  async function world(n) {
    const { AppInstanceArn: app } = await idOk(new I.CreateAppInstanceCommand({ Name: `el-${crypto.randomUUID().slice(0, 8)}` }));
    const w = { app, users: [] };
    for (const id of ['mod', 'admin']) {
      w[id] = (await idOk(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: id, Name: id }))).AppInstanceUserArn;
    }
    await idOk(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: w.admin }));
    for (let i = 1; i <= n; i++) {
      const id = `u${String(i).padStart(2, '0')}`;
      w.users.push((await idOk(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: id, Name: id }))).AppInstanceUserArn);
    }
    return w;
  }

  const elastic = async (w, [MaximumSubChannels, TargetMembershipsPerSubChannel, MinimumMembershipPercentage], extra = {}) =>
    (await ok(new M.CreateChannelCommand({
      AppInstanceArn: w.app, Name: 'live', ChimeBearer: w.mod, Mode: 'RESTRICTED', Privacy: 'PUBLIC',
      ElasticChannelConfiguration: { MaximumSubChannels, TargetMembershipsPerSubChannel, MinimumMembershipPercentage }, ...extra,
    }), 'CreateChannel elastic')).ChannelArn;

  /** Every sub-channel (paging 2 at a time) as [{SubChannelId, MembershipCount}]. */
  async function subChannels(ChannelArn, bearer) {
    const out = [];
    let NextToken;
    do {
      const page = await ok(new M.ListSubChannelsCommand({ ChannelArn, ChimeBearer: bearer, MaxResults: 2, NextToken }));
      out.push(...page.SubChannels);
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  async function membersOf(ChannelArn, SubChannelId, bearer) {
    const out = [];
    let NextToken;
    do {
      const page = await ok(new M.ListChannelMembershipsCommand({ ChannelArn, SubChannelId, ChimeBearer: bearer, MaxResults: 50, NextToken }));
      out.push(...page.ChannelMemberships.map((m) => m.Member.Arn));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** ListSubChannels agrees with the memberships listed per sub-channel; returns member → sub-channel. */
  async function checkInvariants(ch, w, joined, target, max) {
    const subs = await subChannels(ch, w.mod);
    assert.ok(subs.length <= max, `${subs.length} sub-channels, maximum ${max}`);
    const where = new Map();
    for (const { SubChannelId, MembershipCount } of subs) {
      const ms = await membersOf(ch, SubChannelId, w.mod);
      assert.equal(MembershipCount, ms.length, `sub-channel ${SubChannelId}: MembershipCount ${MembershipCount}, ${ms.length} listed`);
      assert.ok(ms.length <= target, `sub-channel ${SubChannelId} has ${ms.length} members, target ${target}`);
      for (const m of ms) {
        assert.ok(!where.has(m), `${m} is in two sub-channels`);
        where.set(m, SubChannelId);
      }
    }
    assert.deepEqual([...where.keys()].sort(), [...joined].sort(), 'every joined member is in exactly one sub-channel');
    return { subs, where };
  }

  const sendMsg = async (ChannelArn, bearer, SubChannelId, Content) =>
    (await ok(new M.SendChannelMessageCommand({ ChannelArn, SubChannelId, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: bearer }), `send ${Content}`)).MessageId;

  before(async () => {
    server = await startBelfry();
    trustBelfryCA(server);
    identity = identityClient(server);
    messaging = messagingClient(server);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    for (const s of sessions) if (s.events.some((e) => e.kind === 'start')) s.stop();
    await server?.stop();
  }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('10 × 6 × 40 grows from 0 to 30 members and back to 3; ListSubChannels follows every scale-out and scale-in', TEST, withOutput(async () => {
    const w = await world(30);
    const ch = await elastic(w, [10, 6, 40]);
    const d = (await ok(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.mod }))).Channel;
    assert.deepEqual(d.ElasticChannelConfiguration, { MaximumSubChannels: 10, TargetMembershipsPerSubChannel: 6, MinimumMembershipPercentage: 40 });
    assert.deepEqual(await subChannels(ch, w.mod), [], 'no sub-channel before the first member');
    // The creator is a moderator only.
    const notMember = await rejection(send(messaging, new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.mod, ChimeBearer: w.mod })), 'creator membership');
    assertAwsError(notMember, { name: 'NotFoundException', status: 404 }, 'creator membership');

    const joined = new Set();
    const history = [];
    for (let i = 0; i < 30; i += 5) {
      const batch = w.users.slice(i, i + 5);
      const out = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: batch, ChimeBearer: w.mod }));
      assert.deepEqual(out.Errors ?? [], [], `batch ${i}: errors`);
      assert.equal(out.BatchChannelMemberships.Members.length, 5);
      batch.forEach((m) => joined.add(m));
      const { subs } = await checkInvariants(ch, w, joined, 6, 10);
      assert.ok(subs.length >= Math.ceil(joined.size / 6), `${joined.size} members in ${subs.length} sub-channels of 6`);
      history.push(subs.length);
    }
    assert.ok(history.at(-1) >= 5 && history.every((n, i) => i === 0 || n >= history[i - 1]), `sub-channels while growing: ${history}`);
    // A member sees its own membership with its sub-channel.
    const { where } = await checkInvariants(ch, w, joined, 6, 10);
    const own = (await ok(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.users[0], ChimeBearer: w.users[0] }))).ChannelMembership;
    assert.equal(own.SubChannelId, where.get(w.users[0]));

    const shrinking = [];
    for (let i = 29; i >= 3; i--) {
      await ok(new M.DeleteChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.users[i], ChimeBearer: i % 2 ? w.mod : w.users[i] }));
      joined.delete(w.users[i]);
      const { subs } = await checkInvariants(ch, w, joined, 6, 10);
      shrinking.push(subs.length);
    }
    assert.ok(shrinking.some((n, i) => i > 0 && n < shrinking[i - 1]), `no scale-in seen: ${shrinking}`);
    const final = await subChannels(ch, w.mod);
    assert.deepEqual(final.map((s) => s.MembershipCount), [3], `3 members left in ${JSON.stringify(final)}`);
  }));

  test("2 × 4 × 40 (the AWS demo's settings) takes 8 members and refuses the 9th, writing nothing", TEST, withOutput(async () => {
    const w = await world(9);
    const ch = await elastic(w, [2, 4, 40]);
    for (const m of w.users.slice(0, 8)) await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: m, ChimeBearer: w.mod }));
    const before = await subChannels(ch, w.mod);
    assert.deepEqual(before.map((s) => s.MembershipCount), [4, 4]);
    const err = await rejection(send(messaging, new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: w.users[8], ChimeBearer: w.mod })), '9th member');
    assertAwsError(err, { name: 'ResourceLimitExceededException', status: 400 }, '9th member');
    const batch = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.users[8]], ChimeBearer: w.mod }));
    assert.equal(batch.Errors?.length, 1);
    assert.equal(batch.Errors[0].MemberArn, w.users[8]);
    assert.equal(batch.Errors[0].ErrorCode, 'ResourceLimitExceeded');
    assert.deepEqual(await subChannels(ch, w.mod), before, 'nothing written');
    const gone = await rejection(send(messaging, new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.users[8], ChimeBearer: w.mod })), '9th membership');
    assertAwsError(gone, { name: 'NotFoundException', status: 404 }, '9th membership');
  }));

  test('messages live in one sub-channel: listed, read and edited there only', TEST, withOutput(async () => {
    const w = await world(3);
    const ch = await elastic(w, [2, 2, 40]);
    for (const m of w.users) await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: m, ChimeBearer: w.mod }));
    const { subs, where } = await checkInvariants(ch, w, new Set(w.users), 2, 2);
    assert.equal(subs.length, 2);
    const [a, b] = subs.map((s) => s.SubChannelId);
    const inA = w.users.filter((u) => where.get(u) === a);
    const inB = w.users.filter((u) => where.get(u) === b);
    const [sender] = inA.length === 2 ? inA : inB;
    const sub = where.get(sender);
    const other = w.users.find((u) => where.get(u) !== sub);
    const otherSub = where.get(other);

    const res = await ok(new M.SendChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, Content: 'hi sub', Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: sender }));
    assert.equal(res.SubChannelId, sub);
    const list = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, SubChannelId: sub, ChimeBearer: sender }));
    assert.equal(list.SubChannelId, sub);
    assert.deepEqual(list.ChannelMessages.map((m) => m.MessageId), [res.MessageId]);
    const modList = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, SubChannelId: otherSub, ChimeBearer: w.mod }));
    assert.deepEqual(modList.ChannelMessages, [], 'the other sub-channel has no messages');
    for (const who of [w.mod, w.admin]) {
      const got = (await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, MessageId: res.MessageId, ChimeBearer: who }))).ChannelMessage;
      assert.equal(got.Content, 'hi sub');
      assert.equal(got.SubChannelId, sub);
    }
    const up = await ok(new M.UpdateChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, MessageId: res.MessageId, Content: 'hi sub (edited)', ChimeBearer: sender }));
    assert.equal(up.SubChannelId, sub);
    const edited = (await ok(new M.GetChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, MessageId: res.MessageId, ChimeBearer: sender }))).ChannelMessage;
    assert.equal(edited.Content, 'hi sub (edited)');

    // A member of the other sub-channel.
    for (const [cmd, name, status] of [
      [new M.ListChannelMessagesCommand({ ChannelArn: ch, SubChannelId: sub, ChimeBearer: other }), 'ForbiddenException', 403],
      [new M.GetChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, MessageId: res.MessageId, ChimeBearer: other }), 'ForbiddenException', 403],
      [new M.GetChannelMessageCommand({ ChannelArn: ch, SubChannelId: otherSub, MessageId: res.MessageId, ChimeBearer: other }), 'NotFoundException', 404],
      [new M.SendChannelMessageCommand({ ChannelArn: ch, SubChannelId: sub, Content: 'x', Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: other }), 'ForbiddenException', 403],
      [new M.ListSubChannelsCommand({ ChannelArn: ch, ChimeBearer: other }), 'ForbiddenException', 403],
    ]) {
      const err = await rejection(send(messaging, cmd), cmd.constructor.name);
      assertAwsError(err, { name, status }, `${cmd.constructor.name} by a member of another sub-channel`);
    }
    const otherList = await ok(new M.ListChannelMessagesCommand({ ChannelArn: ch, SubChannelId: otherSub, ChimeBearer: other }));
    assert.deepEqual(otherList.ChannelMessages, []);
  }));

  test('bad inputs are BadRequestException naming the field, and change nothing', TEST, withOutput(async () => {
    const w = await world(2);
    const std = (await ok(new M.CreateChannelCommand({ AppInstanceArn: w.app, Name: 'std', ChimeBearer: w.mod, MemberArns: [w.users[0]] }))).ChannelArn;
    const create = (cfg, extra = {}) => new M.CreateChannelCommand({ AppInstanceArn: w.app, Name: 'bad', ChimeBearer: w.mod, ElasticChannelConfiguration: cfg, ...extra });
    await badRequest(create({ MaximumSubChannels: 101, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40 }), 'MaximumSubChannels', 'too many sub-channels');
    await badRequest(create({ MaximumSubChannels: 1, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40 }), 'MaximumSubChannels', 'too few sub-channels');
    await badRequest(create({ MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 1001, MinimumMembershipPercentage: 40 }), 'TargetMembershipsPerSubChannel', 'target too big');
    await badRequest(create({ MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 41 }), 'MinimumMembershipPercentage', 'percentage too big');
    await badRequest(create({ MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40 }, { MemberArns: [w.users[0]] }), 'MemberArns', 'MemberArns on elastic');
    await badRequest(create({ MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40 }, { Mode: 'UNRESTRICTED' }), 'Mode', 'UNRESTRICTED elastic');
    // Nothing was created: the app instance's one elastic channel is still available.
    const ch = await elastic(w, [2, 4, 40]);
    const listed = await ok(new M.ListChannelsCommand({ AppInstanceArn: w.app, ChimeBearer: w.admin, Privacy: 'PUBLIC' }));
    assert.deepEqual(listed.Channels.map((c) => c.Name).sort(), ['live', 'std']);

    await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: w.users[0], ChimeBearer: w.mod }));
    const [{ SubChannelId: sub }] = await subChannels(ch, w.mod);
    await badRequest(new M.SendChannelMessageCommand({ ChannelArn: ch, Content: 'x', Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: w.users[0] }), 'SubChannelId', 'send without SubChannelId');
    await badRequest(new M.ListChannelMessagesCommand({ ChannelArn: ch, ChimeBearer: w.users[0] }), 'SubChannelId', 'list without SubChannelId');
    await badRequest(new M.SendChannelMessageCommand({ ChannelArn: std, SubChannelId: sub, Content: 'x', Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: w.users[0] }), 'SubChannelId', 'SubChannelId on a standard channel');
    await badRequest(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: w.users[1], SubChannelId: sub, ChimeBearer: w.mod }), 'SubChannelId', 'member placed by hand');
    await badRequest(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: w.mod, ChimeBearer: w.mod }), 'SubChannelId', 'moderator without SubChannelId');
    await badRequest(new M.DeleteChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.users[0], SubChannelId: sub, ChimeBearer: w.mod }), 'SubChannelId', 'member removed from a named sub-channel');
    await badRequest(new M.UpdateChannelReadMarkerCommand({ ChannelArn: ch, ChimeBearer: w.users[0] }), 'elastic', 'read marker');
    await badRequest(new M.PutChannelMembershipPreferencesCommand({ ChannelArn: ch, MemberArn: w.users[0], ChimeBearer: w.users[0], Preferences: { PushNotifications: { AllowNotifications: 'NONE' } } }), 'elastic', 'preferences');
    await badRequest(new M.ListSubChannelsCommand({ ChannelArn: std, ChimeBearer: w.mod }), 'elastic', 'ListSubChannels of a standard channel');
    assert.deepEqual((await subChannels(ch, w.mod)).map((s) => s.MembershipCount), [1], 'nothing written');
    // A second elastic channel exceeds the quota.
    const quota = await rejection(send(messaging, create({ MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40 })), 'second elastic channel');
    assertAwsError(quota, { name: 'ResourceLimitExceededException', status: 400 }, 'second elastic channel');
  }));

  test("a member's messaging session receives its sub-channel's events and none of the other's", TEST, withOutput(async () => {
    const w = await world(5);
    const ch = await elastic(w, [2, 4, 40]); // threshold 2
    const [u1, u2, u3, u4, u5] = w.users;
    for (const m of [u1, u2, u3, u4]) await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: m, ChimeBearer: w.mod }));
    const [s1, s3, smod] = await Promise.all([u1, u3, w.mod].map((u) => openSession(server, u)));
    sessions.push(s1, s3, smod);

    // u5 joins: every sub-channel is full, a second opens and the two newest (u3, u4) move to it.
    await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: u5, ChimeBearer: w.mod }));
    const { where } = await checkInvariants(ch, w, new Set(w.users), 4, 2);
    const first = where.get(u1);
    const second = where.get(u3);
    assert.notEqual(first, second, 'u3 was transferred');
    const moved = await s3.waitFor((e) => e.kind === 'message' && e.type === 'UPDATE_CHANNEL_MEMBERSHIP', 'UPDATE_CHANNEL_MEMBERSHIP for u3');
    assert.equal(moved.headers['x-amz-chime-message-type'], 'SYSTEM');
    assert.equal(moved.json.ChannelArn, ch);
    assert.equal(moved.json.Member.Arn, u3);
    assert.equal(moved.json.SubChannelId, second);

    // The moderator joins the second sub-channel; a message there reaches u3 and the moderator, not u1.
    await ok(new M.CreateChannelMembershipCommand({ Type: 'DEFAULT', ChannelArn: ch, MemberArn: w.mod, SubChannelId: second, ChimeBearer: w.mod }));
    const hidden = await sendMsg(ch, u3, second, 'second only');
    for (const s of [s3, smod]) {
      const ev = await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: hidden });
      assert.equal(ev.json.SubChannelId, second, `${s.label}: SubChannelId in the payload`);
    }
    const marker = await sendMsg(ch, u1, first, 'first only');
    const markerEv = await s1.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: marker });
    assert.equal(markerEv.json.SubChannelId, first);
    s1.assertNone((e) => e.json?.MessageId === hidden, "the other sub-channel's message");
    s1.assertNone((e) => e.type === 'UPDATE_CHANNEL_MEMBERSHIP', 'a transfer it was not part of');

    // Scale-in: u4, u5 and u3 leave the second sub-channel; with only the moderator left (1 < 2) it
    // merges into the first, and the moderator hears DELETE_CHANNEL_MEMBERSHIP, reason subchannel_DELETED.
    for (const m of [u4, u5, u3]) await ok(new M.DeleteChannelMembershipCommand({ ChannelArn: ch, MemberArn: m, ChimeBearer: m }));
    const subs = await subChannels(ch, w.mod);
    assert.deepEqual(subs.map((s) => [s.SubChannelId, s.MembershipCount]), [[first, 2]]);
    const dropped = await smod.waitFor((e) => e.kind === 'message' && e.type === 'DELETE_CHANNEL_MEMBERSHIP' && e.headers['x-amz-chime-event-reason'] === 'subchannel_DELETED',
      'DELETE_CHANNEL_MEMBERSHIP with reason subchannel_DELETED');
    assert.equal(dropped.json.Member.Arn, w.mod);
    assert.equal(dropped.json.SubChannelId, second);
    const gone = await rejection(send(messaging, new M.GetChannelMessageCommand({ ChannelArn: ch, SubChannelId: second, MessageId: hidden, ChimeBearer: w.mod })), 'message of a deleted sub-channel');
    assert.ok(['NotFoundException'].includes(gone.name), `message of a deleted sub-channel: ${gone.name}`);
  }));
});
