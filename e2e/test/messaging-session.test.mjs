// The messaging-session websocket through the unmodified amazon-chime-sdk-js DefaultMessagingSession
// (shared/docs/websocket-protocol.md §1–§4, docs/realtime.md): the SDK calls
// GetMessagingSessionEndpoint through a real ChimeSDKMessagingClient, presigns the wss:// URL
// itself and dials Belfry's TLS listener, trusting the CA Belfry generated in its data dir.
//
// Events are compared with what the REST API returns for the same resource (GetChannelMessage,
// DescribeChannel, DescribeChannelMembership, ListChannelMessages …), timestamps as ISO-8601 with
// milliseconds. Absence ("carol no longer receives this channel") is proven without sleeping: a
// session receives events in dispatch order, so once a later marker event on another channel has
// arrived, an earlier event that was going to arrive would have.
//
// Every test builds its own app instance, so the tests do not see each other's channels.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { identityClient, messagingClient, send, success } from '../lib/aws.mjs';
import { buildBelfry, REQUEST_TIMEOUT_MS, run, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';
import {
  createSession, dialledFor, dialledQuery, openSession, PrefetchOn, PrefetchSortBy, sessionClient, toWire, trustBelfryCA,
} from '../lib/session.mjs';

const TEST = { timeout: 6 * REQUEST_TIMEOUT_MS };

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const EVENT_TYPE = 'x-amz-chime-event-type';
const MESSAGE_TYPE = 'x-amz-chime-message-type';
// Header keys the contract knows (§2.1); x-amz-chime-persistence-type is optional.
const KNOWN_HEADERS = new Set([EVENT_TYPE, MESSAGE_TYPE, 'x-amz-chime-event-reason', 'x-amz-chime-persistence-type']);
// Members of the model's shapes, for "no unknown keys" checks (§2.5).
const CHANNEL_KEYS = ['Name', 'ChannelArn', 'Mode', 'Privacy', 'Metadata', 'CreatedBy', 'CreatedTimestamp', 'LastMessageTimestamp',
  'LastUpdatedTimestamp', 'ChannelFlowArn', 'ElasticChannelConfiguration', 'ExpirationSettings'];
const MEMBERSHIP_KEYS = ['InvitedBy', 'Type', 'Member', 'ChannelArn', 'CreatedTimestamp', 'LastUpdatedTimestamp', 'SubChannelId'];
const BATCH_KEYS = ['InvitedBy', 'Type', 'Members', 'ChannelArn', 'SubChannelId'];
const MESSAGE_KEYS = ['ChannelArn', 'MessageId', 'Content', 'Metadata', 'Type', 'CreatedTimestamp', 'LastEditedTimestamp',
  'LastUpdatedTimestamp', 'Sender', 'Redacted', 'Persistence', 'Status', 'MessageAttributes', 'SubChannelId', 'ContentType', 'Target'];
const DETAILS_KEYS = ['Channel', 'ChannelMessages', 'ChannelMemberships', 'ReadMarkerTimestamp', 'ChannelMessagesHasMore'];
const SUMMARY_KEYS = ['Name', 'ChannelArn', 'Mode', 'Privacy', 'Metadata', 'LastMessageTimestamp'];

function assertKeysWithin(obj, allowed, what) {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  assert.deepEqual(extra, [], `${what}: keys outside the model's shape: ${JSON.stringify(obj)}`);
}

/** Every timestamp-named member (at any depth) is an ISO-8601 string with milliseconds. */
function assertIsoTimestamps(value, what, where = '') {
  if (Array.isArray(value)) { value.forEach((v, i) => assertIsoTimestamps(v, what, `${where}[${i}]`)); return; }
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (/Timestamp$/.test(k)) assert.match(String(v), ISO_MS, `${what}: ${where}.${k} = ${JSON.stringify(v)} is not ISO-8601 with milliseconds`);
    else assertIsoTimestamps(v, what, `${where}.${k}`);
  }
}

/** Headers of a frame: the event type, the message type, nothing the contract does not know. */
function assertHeaders(ev, type, messageType, what) {
  assert.equal(ev.headers[EVENT_TYPE], type, `${what}: ${EVENT_TYPE} in ${JSON.stringify(ev.headers)}`);
  assert.equal(ev.headers[MESSAGE_TYPE], messageType, `${what}: ${MESSAGE_TYPE} in ${JSON.stringify(ev.headers)}`);
  const unknown = Object.keys(ev.headers).filter((k) => !KNOWN_HEADERS.has(k));
  assert.deepEqual(unknown, [], `${what}: unexpected headers ${JSON.stringify(ev.headers)}`);
  assert.equal(typeof ev.payload, 'string', `${what}: Payload must be a JSON string, got ${JSON.stringify(ev.payload)}`);
  assert.ok(ev.json && typeof ev.json === 'object' && !Array.isArray(ev.json), `${what}: Payload is not a JSON object: ${ev.payload}`);
}

/** The session's observer saw: connecting (not a reconnect), didStart, then SESSION_ESTABLISHED as the first frame. */
function assertEstablishedFirst(s) {
  const [connecting, started, first] = s.events;
  assert.deepEqual(connecting, { kind: 'connecting', reconnecting: false }, `${s.label}: first observer call\n${s.describeEvents()}`);
  assert.deepEqual(started, { kind: 'start' }, `${s.label}: messagingSessionDidStart must follow\n${s.describeEvents()}`);
  assert.equal(first?.kind, 'message', `${s.label}: no frame after didStart\n${s.describeEvents()}`);
  assert.equal(first.type, 'SESSION_ESTABLISHED', `${s.label}: the first frame must be SESSION_ESTABLISHED\n${s.describeEvents()}`);
  assert.equal(first.payload, null, `${s.label}: SESSION_ESTABLISHED carries no Payload`);
  assert.equal(dialledFor(s.sessionId).length, 1, `${s.label}: dialled more than once:\n${dialledFor(s.sessionId).join('\n')}`);
}

/** Index of an event in the session's record (for ordering assertions). */
const indexOf = (s, ev) => s.events.indexOf(ev);

describe('messaging session (amazon-chime-sdk-js DefaultMessagingSession over wss)', () => {
  let server;
  let identity;
  let messaging;
  const sessions = new Set();
  const withOutput = (fn) => withServerOutput(() => server, fn);
  const idOk = (cmd, what = cmd.constructor.name) => success(send(identity, cmd), what);
  const ok = (cmd, what = cmd.constructor.name) => success(send(messaging, cmd), what);

  async function world(names = ['alice', 'bob', 'carol', 'dave', 'erin']) {
    const { AppInstanceArn: app } = await idOk(new I.CreateAppInstanceCommand({ Name: `ws-${crypto.randomUUID().slice(0, 8)}` }));
    const w = { app };
    for (const n of [...names, 'admin']) {
      w[n] = (await idOk(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: n, Name: n }))).AppInstanceUserArn;
    }
    await idOk(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: w.admin }));
    return w;
  }

  /** A channel created by `creator` (member and moderator) with `members` added by the creator. */
  async function channel(w, creator, members = [], extra = {}) {
    const { ChannelArn } = await ok(new M.CreateChannelCommand({ AppInstanceArn: w.app, Name: extra.Name ?? 'room', ChimeBearer: creator, ...extra }));
    for (const m of members) await ok(new M.CreateChannelMembershipCommand({ ChannelArn, MemberArn: m, Type: 'DEFAULT', ChimeBearer: creator }));
    return ChannelArn;
  }

  async function sendMsg(ChannelArn, bearer, Content, extra = {}) {
    const res = await ok(new M.SendChannelMessageCommand({ ChannelArn, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: bearer, ...extra }), `send ${Content}`);
    return res.MessageId;
  }

  const getMsg = async (ChannelArn, MessageId, bearer) =>
    (await ok(new M.GetChannelMessageCommand({ ChannelArn, MessageId, ChimeBearer: bearer }), `GetChannelMessage ${MessageId}`)).ChannelMessage;

  /** Open sessions in parallel; each is stopped after the test. */
  async function connect(...args) {
    const s = await openSession(server, ...args);
    sessions.add(s);
    return s;
  }
  const connectAll = (users) => Promise.all(users.map((u) => connect(u)));

  async function stopAll() {
    const open = [...sessions];
    sessions.clear();
    for (const s of open) if (s.events.some((e) => e.kind === 'start')) s.stop();
  }

  before(async () => {
    server = await startBelfry();
    trustBelfryCA(server);
    identity = identityClient(server);
    messaging = messagingClient(server);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    await stopAll();
    await server?.stop();
  }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('SESSION_ESTABLISHED first; a message, its edit, redaction and admin deletion reach every member', TEST, withOutput(async () => {
    try {
      const w = await world();
      const ch = await channel(w, w.alice, [w.bob], { Name: 'general' });

      // The endpoint the SDK will dial: the TLS listener, bare host:port.
      const { Endpoint } = await ok(new M.GetMessagingSessionEndpointCommand({}));
      assert.equal(Endpoint.Url, new URL(server.tlsEndpoint).host);

      const [alice, bob] = await connectAll([w.alice, w.bob]);
      for (const s of [alice, bob]) {
        assertEstablishedFirst(s);
        const url = new URL(dialledFor(s.sessionId)[0]);
        assert.equal(`${url.protocol}//${url.host}${url.pathname}`, `wss://${Endpoint.Url}/connect`);
        assert.equal(dialledQuery(url).userArn, s.userArn);
      }

      // Send (JS SDK v3) → CREATE_CHANNEL_MESSAGE to the sender and the other member, equal to GetChannelMessage.
      const MessageId = await sendMsg(ch, w.alice, 'hello bob', {
        Metadata: 'm-meta', ContentType: 'text/markdown', MessageAttributes: { topic: { StringValues: ['a', 'b'] } },
      });
      const created = await bob.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      const createdForAlice = await alice.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      const rest = await getMsg(ch, MessageId, w.bob);
      for (const [who, ev] of [['bob', created], ['alice', createdForAlice]]) {
        assertHeaders(ev, 'CREATE_CHANNEL_MESSAGE', 'STANDARD', `${who}'s CREATE_CHANNEL_MESSAGE`);
        assertIsoTimestamps(ev.json, `${who}'s CREATE_CHANNEL_MESSAGE`);
        assert.deepEqual(ev.json, toWire(rest), `${who}'s CREATE_CHANNEL_MESSAGE payload must equal GetChannelMessage`);
      }
      // The fields the brief names, explicitly (so a failure above is easy to read).
      const p = created.json;
      assert.equal(p.MessageId, MessageId);
      assert.equal(p.ChannelArn, ch);
      assert.equal(p.Content, 'hello bob');
      assert.equal(p.Metadata, 'm-meta');
      assert.equal(p.Type, 'STANDARD');
      assert.deepEqual(p.Sender, { Arn: w.alice, Name: 'alice' });
      assert.equal(p.Redacted, false);
      assert.equal(p.Persistence, 'PERSISTENT');
      assert.deepEqual(p.Status, { Value: 'SENT' });
      assert.equal(p.CreatedTimestamp, rest.CreatedTimestamp.toISOString());
      assert.equal(p.LastUpdatedTimestamp, rest.LastUpdatedTimestamp.toISOString());
      assertKeysWithin(p, MESSAGE_KEYS, 'CREATE_CHANNEL_MESSAGE payload');

      // Update → UPDATE_CHANNEL_MESSAGE with the new content, equal to GetChannelMessage after the update.
      await ok(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId, Content: 'hello bob (edited)', Metadata: 'm-meta-2', ChimeBearer: w.alice }));
      const updated = await bob.waitForEvent('UPDATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      await alice.waitForEvent('UPDATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      const restUpdated = await getMsg(ch, MessageId, w.bob);
      assertHeaders(updated, 'UPDATE_CHANNEL_MESSAGE', 'STANDARD', 'UPDATE_CHANNEL_MESSAGE');
      assert.equal(updated.json.Content, 'hello bob (edited)');
      assert.equal(updated.json.Metadata, 'm-meta-2');
      assert.match(updated.json.LastEditedTimestamp ?? '', ISO_MS, 'an edited message has LastEditedTimestamp');
      assert.deepEqual(updated.json, toWire(restUpdated), 'UPDATE_CHANNEL_MESSAGE payload must equal GetChannelMessage after the update');

      // Redact → REDACT_CHANNEL_MESSAGE, Redacted true, no Content or Metadata.
      await ok(new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId, ChimeBearer: w.alice }));
      const redacted = await bob.waitForEvent('REDACT_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      await alice.waitForEvent('REDACT_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      const restRedacted = await getMsg(ch, MessageId, w.bob);
      assertHeaders(redacted, 'REDACT_CHANNEL_MESSAGE', 'STANDARD', 'REDACT_CHANNEL_MESSAGE');
      assert.equal(redacted.json.Redacted, true);
      assert.ok(!('Content' in redacted.json), `a redacted message has no Content: ${redacted.payload}`);
      assert.ok(!('Metadata' in redacted.json), `a redacted message has no Metadata: ${redacted.payload}`);
      assert.deepEqual(redacted.json, toWire(restRedacted), 'REDACT_CHANNEL_MESSAGE payload must equal GetChannelMessage after the redaction');

      // An AppInstanceAdmin (not a member) deletes it → DELETE_CHANNEL_MESSAGE to the members.
      await ok(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId, ChimeBearer: w.admin }));
      const deleted = await bob.waitForEvent('DELETE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      await alice.waitForEvent('DELETE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId });
      assertHeaders(deleted, 'DELETE_CHANNEL_MESSAGE', 'STANDARD', 'DELETE_CHANNEL_MESSAGE');
      assertKeysWithin(deleted.json, MESSAGE_KEYS, 'DELETE_CHANNEL_MESSAGE payload');
      assertIsoTimestamps(deleted.json, 'DELETE_CHANNEL_MESSAGE');

      // bob saw them in commit order, and no prefetch frames were sent without prefetch-on.
      const order = [created, updated, redacted, deleted].map((ev) => indexOf(bob, ev));
      assert.deepEqual([...order].sort((a, b) => a - b), order, `events out of order:\n${bob.describeEvents()}`);
      for (const s of [alice, bob]) s.assertNone((m) => m.type === 'CHANNEL_DETAILS', 'CHANNEL_DETAILS without prefetch-on');
      for (const s of [alice, bob]) assert.ok(!s.events.some((e) => e.kind === 'connecting' && e.reconnecting), `${s.label} reconnected:\n${s.describeEvents()}`);
    } finally {
      await stopAll();
    }
  }));

  test('UPDATE_CHANNEL and DELETE_CHANNEL reach the members', TEST, withOutput(async () => {
    try {
      const w = await world();
      const ch = await channel(w, w.alice, [w.bob], { Name: 'before', Metadata: 'old' });
      const ch2 = await channel(w, w.alice, [w.bob], { Name: 'doomed' });
      const [alice, bob] = await connectAll([w.alice, w.bob]);

      await ok(new M.UpdateChannelCommand({ ChannelArn: ch, Name: 'after', Metadata: 'new', Mode: 'RESTRICTED', ChimeBearer: w.alice }));
      const up = await bob.waitForEvent('UPDATE_CHANNEL', { ChannelArn: ch });
      await alice.waitForEvent('UPDATE_CHANNEL', { ChannelArn: ch });
      const { Channel: described } = await ok(new M.DescribeChannelCommand({ ChannelArn: ch, ChimeBearer: w.bob }));
      assertHeaders(up, 'UPDATE_CHANNEL', 'SYSTEM', 'UPDATE_CHANNEL');
      assertIsoTimestamps(up.json, 'UPDATE_CHANNEL');
      assert.equal(up.json.Name, 'after');
      assert.equal(up.json.Metadata, 'new');
      assert.equal(up.json.Mode, 'RESTRICTED');
      assert.deepEqual(up.json, toWire(described), 'UPDATE_CHANNEL payload must equal DescribeChannel after the update');

      const { Channel: before2 } = await ok(new M.DescribeChannelCommand({ ChannelArn: ch2, ChimeBearer: w.bob }));
      await ok(new M.DeleteChannelCommand({ ChannelArn: ch2, ChimeBearer: w.alice }));
      const del = await bob.waitForEvent('DELETE_CHANNEL', { ChannelArn: ch2 });
      await alice.waitForEvent('DELETE_CHANNEL', { ChannelArn: ch2 });
      assertHeaders(del, 'DELETE_CHANNEL', 'SYSTEM', 'DELETE_CHANNEL');
      assertKeysWithin(del.json, CHANNEL_KEYS, 'DELETE_CHANNEL payload');
      assertIsoTimestamps(del.json, 'DELETE_CHANNEL');
      const b2 = toWire(before2);
      for (const k of ['ChannelArn', 'Name', 'Mode', 'Privacy', 'CreatedBy', 'CreatedTimestamp']) {
        assert.deepEqual(del.json[k], b2[k], `DELETE_CHANNEL ${k} must be the channel's (DescribeChannel before the deletion: ${JSON.stringify(b2)})`);
      }
    } finally {
      await stopAll();
    }
  }));

  test('memberships: CREATE/DELETE_CHANNEL_MEMBERSHIP reach the member too; a removed member hears nothing more; BATCH_CREATE', TEST, withOutput(async () => {
    try {
      const w = await world();
      const ch = await channel(w, w.alice, [w.bob], { Name: 'main' });
      const side = await channel(w, w.alice, [w.carol], { Name: 'side' }); // carol's marker channel
      const [alice, bob, carol, dave] = await connectAll([w.alice, w.bob, w.carol, w.dave]);

      // carol is added: alice, bob and carol herself get CREATE_CHANNEL_MEMBERSHIP.
      await ok(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, Type: 'DEFAULT', ChimeBearer: w.alice }));
      const isCarol = (e) => e.json?.ChannelArn === ch && e.json?.Member?.Arn === w.carol;
      const joined = {};
      for (const s of [alice, bob, carol]) {
        joined[s.label] = await s.waitForMessage((e) => e.type === 'CREATE_CHANNEL_MEMBERSHIP' && isCarol(e), `CREATE_CHANNEL_MEMBERSHIP of carol`);
      }
      const { ChannelMembership: desc } = await ok(new M.DescribeChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }));
      for (const [who, ev] of Object.entries(joined)) {
        assertHeaders(ev, 'CREATE_CHANNEL_MEMBERSHIP', 'SYSTEM', `${who}'s CREATE_CHANNEL_MEMBERSHIP`);
        assertIsoTimestamps(ev.json, `${who}'s CREATE_CHANNEL_MEMBERSHIP`);
        assertKeysWithin(ev.json, MEMBERSHIP_KEYS, `${who}'s CREATE_CHANNEL_MEMBERSHIP`);
        assert.deepEqual(ev.json.Member, { Arn: w.carol, Name: 'carol' });
        assert.deepEqual(ev.json.InvitedBy, { Arn: w.alice, Name: 'alice' });
        assert.equal(ev.json.Type, 'DEFAULT');
        assert.deepEqual(ev.json, toWire(desc), `${who}'s CREATE_CHANNEL_MEMBERSHIP payload must equal DescribeChannelMembership`);
      }

      // As a member, carol receives the channel's messages at once.
      const m1 = await sendMsg(ch, w.alice, 'welcome carol');
      await carol.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: m1 });

      // carol is removed: everyone, carol included, gets DELETE_CHANNEL_MEMBERSHIP.
      await ok(new M.DeleteChannelMembershipCommand({ ChannelArn: ch, MemberArn: w.carol, ChimeBearer: w.alice }));
      const left = {};
      for (const s of [alice, bob, carol]) {
        left[s.label] = await s.waitForMessage((e) => e.type === 'DELETE_CHANNEL_MEMBERSHIP' && isCarol(e), 'DELETE_CHANNEL_MEMBERSHIP of carol');
      }
      for (const [who, ev] of Object.entries(left)) {
        assertHeaders(ev, 'DELETE_CHANNEL_MEMBERSHIP', 'SYSTEM', `${who}'s DELETE_CHANNEL_MEMBERSHIP`);
        assertKeysWithin(ev.json, MEMBERSHIP_KEYS, `${who}'s DELETE_CHANNEL_MEMBERSHIP`);
        assertIsoTimestamps(ev.json, `${who}'s DELETE_CHANNEL_MEMBERSHIP`);
        assert.deepEqual(ev.json.Member, { Arn: w.carol, Name: 'carol' });
      }

      // After removal: a message in `main` reaches bob, not carol — proven by a later marker on `side`.
      const m2 = await sendMsg(ch, w.alice, 'carol is gone');
      await bob.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: m2 });
      const marker = await sendMsg(side, w.alice, 'marker');
      const markerEv = await carol.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: side, MessageId: marker });
      const leftAt = indexOf(carol, left.carol);
      carol.assertNone((e) => indexOf(carol, e) > leftAt && e.json?.ChannelArn === ch, 'any event of `main` after her DELETE_CHANNEL_MEMBERSHIP');
      assert.ok(indexOf(carol, markerEv) > leftAt);

      // BatchCreateChannelMembership → BATCH_CREATE_CHANNEL_MEMBERSHIP to the members and to the new ones.
      const batch = await ok(new M.BatchCreateChannelMembershipCommand({ ChannelArn: ch, MemberArns: [w.dave, w.erin], Type: 'DEFAULT', ChimeBearer: w.alice }));
      assert.deepEqual(batch.Errors ?? [], [], `BatchCreateChannelMembership errors: ${JSON.stringify(batch.Errors)}`);
      const sortMembers = (b) => ({ ...b, Members: [...(b.Members ?? [])].sort((x, y) => x.Arn.localeCompare(y.Arn)) });
      for (const s of [alice, bob, dave]) {
        const ev = await s.waitForMessage((e) => e.type === 'BATCH_CREATE_CHANNEL_MEMBERSHIP' && e.json?.ChannelArn === ch, 'BATCH_CREATE_CHANNEL_MEMBERSHIP');
        assertHeaders(ev, 'BATCH_CREATE_CHANNEL_MEMBERSHIP', 'SYSTEM', `${s.label}'s BATCH_CREATE_CHANNEL_MEMBERSHIP`);
        assertKeysWithin(ev.json, BATCH_KEYS, `${s.label}'s BATCH_CREATE_CHANNEL_MEMBERSHIP`);
        assert.deepEqual(sortMembers(ev.json), sortMembers(toWire(batch.BatchChannelMemberships)),
          `${s.label}'s BATCH_CREATE_CHANNEL_MEMBERSHIP payload must equal the BatchCreateChannelMembership response`);
        assert.deepEqual(sortMembers(ev.json).Members, [{ Arn: w.dave, Name: 'dave' }, { Arn: w.erin, Name: 'erin' }]);
        assert.deepEqual(ev.json.InvitedBy, { Arn: w.alice, Name: 'alice' });
      }
      // dave, now a member, receives the channel's messages.
      const m3 = await sendMsg(ch, w.bob, 'hi dave');
      await dave.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: m3 });
    } finally {
      await stopAll();
    }
  }));

  test('targeted messages reach only sender and target; NON_PERSISTENT and CONTROL carry their message type', TEST, withOutput(async () => {
    try {
      const w = await world();
      const ch = await channel(w, w.alice, [w.bob, w.carol]);
      const [alice, bob, carol] = await connectAll([w.alice, w.bob, w.carol]);

      const targeted = await sendMsg(ch, w.alice, 'psst bob', { Target: [{ MemberArn: w.bob }] });
      const tb = await bob.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: targeted });
      const ta = await alice.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: targeted });
      const restTargeted = await getMsg(ch, targeted, w.bob);
      for (const ev of [tb, ta]) {
        assertHeaders(ev, 'CREATE_CHANNEL_MESSAGE', 'STANDARD', 'targeted CREATE_CHANNEL_MESSAGE');
        assert.deepEqual(ev.json.Target, [{ MemberArn: w.bob }]);
        assert.deepEqual(ev.json, toWire(restTargeted), 'targeted CREATE_CHANNEL_MESSAGE payload must equal GetChannelMessage');
      }

      // NON_PERSISTENT: delivered to everyone connected, message type STANDARD.
      const { MessageId: np } = await ok(new M.SendChannelMessageCommand({ ChannelArn: ch, Content: 'typing…', Type: 'STANDARD', Persistence: 'NON_PERSISTENT', ChimeBearer: w.alice }));
      for (const s of [alice, bob, carol]) {
        const ev = await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: np });
        assertHeaders(ev, 'CREATE_CHANNEL_MESSAGE', 'STANDARD', `${s.label}'s NON_PERSISTENT message`);
        if ('x-amz-chime-persistence-type' in ev.headers) assert.equal(ev.headers['x-amz-chime-persistence-type'], 'NON_PERSISTENT');
        assertKeysWithin(ev.json, MESSAGE_KEYS, 'NON_PERSISTENT payload');
        assertIsoTimestamps(ev.json, 'NON_PERSISTENT payload');
        assert.equal(ev.json.Persistence, 'NON_PERSISTENT');
        assert.equal(ev.json.Type, 'STANDARD');
        assert.equal(ev.json.Content, 'typing…');
        assert.deepEqual(ev.json.Sender, { Arn: w.alice, Name: 'alice' });
        assert.equal(ev.json.Redacted, false);
        assert.deepEqual(ev.json.Status, { Value: 'SENT' });
      }

      // CONTROL: message type CONTROL in the header.
      const ctl = await sendMsg(ch, w.bob, 'ctl:ping', { Type: 'CONTROL' });
      const restCtl = await getMsg(ch, ctl, w.carol);
      for (const s of [alice, bob, carol]) {
        const ev = await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: ctl });
        assertHeaders(ev, 'CREATE_CHANNEL_MESSAGE', 'CONTROL', `${s.label}'s CONTROL message`);
        assert.equal(ev.json.Type, 'CONTROL');
        assert.deepEqual(ev.json, toWire(restCtl), 'CONTROL CREATE_CHANNEL_MESSAGE payload must equal GetChannelMessage');
      }

      // carol (not targeted) received the later messages but never the targeted one.
      carol.assertNone((e) => e.json?.MessageId === targeted, 'the message targeted at bob');
    } finally {
      await stopAll();
    }
  }));

  test('a banned member stops receiving the channel at once', TEST, withOutput(async () => {
    try {
      const w = await world();
      const ch = await channel(w, w.alice, [w.bob], { Name: 'main' });
      const side = await channel(w, w.alice, [w.bob], { Name: 'side' });
      const [alice, bob] = await connectAll([w.alice, w.bob]);

      const before = await sendMsg(ch, w.alice, 'before the ban');
      await bob.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: before });

      await ok(new M.CreateChannelBanCommand({ ChannelArn: ch, MemberArn: w.bob, ChimeBearer: w.alice }));
      const afterBan = await sendMsg(ch, w.alice, 'after the ban');
      await alice.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: afterBan });
      const marker = await sendMsg(side, w.alice, 'marker');
      await bob.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: side, MessageId: marker });
      bob.assertNone((e) => e.json?.MessageId === afterBan, 'a message sent in `main` after his ban');
      bob.assertNone((e) => e.json?.ChannelArn === ch && e.type !== 'DELETE_CHANNEL_MEMBERSHIP'
        && indexOf(bob, e) > bob.events.findIndex((x) => x.json?.MessageId === before), 'any event of `main` after the ban but a DELETE_CHANNEL_MEMBERSHIP');
    } finally {
      await stopAll();
    }
  }));

  test('a bad signature ends in close 4401 with no reconnect', TEST, withOutput(async () => {
    const w = await world(['alice']);
    // The SDK reads config.region / config.credentials to presign, and calls send() for
    // GetMessagingSessionEndpoint. The REST call goes through a correct client; only the
    // websocket is signed with a wrong secret.
    const good = sessionClient(server);
    let endpointCalls = 0;
    const wrongSecret = { accessKeyId: server.credentials.accessKeyId, secretAccessKey: `${server.credentials.secretAccessKey.slice(0, -4)}XXXX` };
    const client = {
      config: { region: good.config.region, credentials: async () => wrongSecret },
      send(command, options) {
        if (command.constructor.name === 'GetMessagingSessionEndpointCommand') endpointCalls++;
        return good.send(command, options);
      },
    };
    const s = createSession(w.alice, client);
    sessions.add(s);
    // A close before SESSION_ESTABLISHED reaches the app as the rejection of start() (the SDK calls
    // messagingSessionDidStop only for an established session), carrying the CloseEvent.
    let rejected;
    try {
      await s.start();
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      rejected = err;
    }
    assert.ok(rejected, `start() must reject: the server must close with 4401; events:\n${s.describeEvents()}`);
    assert.equal(rejected.code, 4401, `close code (reason ${JSON.stringify(rejected.reason)}); events:\n${s.describeEvents()}`);
    assert.equal(rejected.reason, 'Unauthorized');
    // The SDK decides about reconnecting before it rejects start(), so these counts are final.
    assert.equal(endpointCalls, 1, 'GetMessagingSessionEndpoint calls');
    assert.equal(dialledFor(s.sessionId).length, 1, `connection attempts:\n${dialledFor(s.sessionId).join('\n')}`);
    assert.deepEqual(s.events.map((e) => e.kind), ['connecting'], `observer calls:\n${s.describeEvents()}`);
    sessions.delete(s);
  }));

  test('prefetch-on=connect: one CHANNEL_DETAILS per channel after SESSION_ESTABLISHED, both sort orders', TEST, withOutput(async () => {
    try {
      const w = await world(['alice', 'bob', 'carol']);
      const busy = await channel(w, w.alice, [w.bob, w.carol], { Name: 'busy', Metadata: 'busy-meta' });
      const quiet = await channel(w, w.bob, [w.alice, w.carol], { Name: 'quiet' });
      const empty = await channel(w, w.carol, [w.alice], { Name: 'empty' });
      await channel(w, w.bob, [w.carol], { Name: 'not-alices' });
      for (let i = 0; i < 23; i++) await sendMsg(busy, i % 2 ? w.bob : w.alice, `busy ${i}`);
      await sendMsg(quiet, w.bob, 'quiet 0');
      const hidden = await sendMsg(quiet, w.bob, 'for carol only', { Target: [{ MemberArn: w.carol }] });
      await sendMsg(quiet, w.alice, 'quiet 2');
      const mine = [busy, quiet, empty];

      // What the REST API says, read before the sessions connect.
      const expected = {};
      const { ChannelMemberships: forUser } = await ok(new M.ListChannelMembershipsForAppInstanceUserCommand({ AppInstanceUserArn: w.alice, ChimeBearer: w.alice }));
      for (const ChannelArn of mine) {
        const summary = forUser.find((m) => m.ChannelSummary?.ChannelArn === ChannelArn)?.ChannelSummary;
        assert.ok(summary, `ListChannelMembershipsForAppInstanceUser lacks ${ChannelArn}`);
        const msgs = await ok(new M.ListChannelMessagesCommand({ ChannelArn, SortOrder: 'DESCENDING', MaxResults: 20, ChimeBearer: w.alice }));
        const mems = await ok(new M.ListChannelMembershipsCommand({ ChannelArn, ChimeBearer: w.alice }));
        expected[ChannelArn] = {
          Channel: toWire(summary),
          ChannelMessages: toWire(msgs.ChannelMessages ?? []),
          ChannelMemberships: toWire(mems.ChannelMemberships ?? []).sort((a, b) => a.Member.Arn.localeCompare(b.Member.Arn)),
          ChannelMessagesHasMore: msgs.NextToken !== undefined,
        };
      }
      assert.equal(expected[busy].ChannelMessages.length, 20);
      assert.equal(expected[busy].ChannelMessagesHasMore, true);

      const unread = await connect(w.alice, { prefetchOn: PrefetchOn.Connect, prefetchSortBy: PrefetchSortBy.Unread });
      const byTime = await connect(w.alice, { prefetchOn: PrefetchOn.Connect, prefetchSortBy: PrefetchSortBy.LastMessageTimestamp });
      assert.equal(dialledQuery(dialledFor(unread.sessionId)[0])['prefetch-on'], 'connect');
      assert.equal(dialledQuery(dialledFor(unread.sessionId)[0])['prefetch-sort-by'], 'unread');
      assert.equal(dialledQuery(dialledFor(byTime.sessionId)[0])['prefetch-sort-by'], 'last-message-timestamp');

      // A marker after the prefetch: everything queued at establishment precedes it.
      const marker = await sendMsg(empty, w.carol, 'marker');
      for (const s of [unread, byTime]) {
        assertEstablishedFirst(s);
        const markerEv = await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: empty, MessageId: marker });
        const details = s.messages().filter((e) => e.type === 'CHANNEL_DETAILS');
        const established = s.messages().find((e) => e.type === 'SESSION_ESTABLISHED');
        for (const d of details) {
          assert.ok(indexOf(s, d) > indexOf(s, established) && indexOf(s, d) < indexOf(s, markerEv), `${s.label}: CHANNEL_DETAILS out of place:\n${s.describeEvents()}`);
        }
        const arns = details.map((d) => d.json?.Channel?.ChannelArn);
        assert.deepEqual([...arns].sort(), [...mine].sort(), `${s.label} (${s.sessionId}): one CHANNEL_DETAILS per channel of alice:\n${s.describeEvents()}`);

        for (const d of details) {
          const ChannelArn = d.json.Channel.ChannelArn;
          const what = `CHANNEL_DETAILS of ${ChannelArn.split('/').pop()} (${dialledQuery(dialledFor(s.sessionId)[0])['prefetch-sort-by']})`;
          assertHeaders(d, 'CHANNEL_DETAILS', 'SYSTEM', what);
          assertKeysWithin(d.json, DETAILS_KEYS, what);
          assertKeysWithin(d.json.Channel, SUMMARY_KEYS, `${what} Channel`);
          assertIsoTimestamps(d.json, what);
          const exp = expected[ChannelArn];
          assert.deepEqual(d.json.Channel, exp.Channel, `${what}: Channel must equal the ChannelSummary of ListChannelMembershipsForAppInstanceUser`);
          assert.ok(Array.isArray(d.json.ChannelMessages) && d.json.ChannelMessages.length <= 20, `${what}: ChannelMessages ${JSON.stringify(d.json.ChannelMessages)}`);
          assert.deepEqual(d.json.ChannelMessages, exp.ChannelMessages, `${what}: ChannelMessages must equal ListChannelMessages (DESCENDING, 20)`);
          assert.ok(!d.json.ChannelMessages.some((m) => m.MessageId === hidden), `${what}: a message targeted at carol is not alice's to see`);
          const mems = [...(d.json.ChannelMemberships ?? [])].sort((a, b) => a.Member.Arn.localeCompare(b.Member.Arn));
          assert.deepEqual(mems, exp.ChannelMemberships, `${what}: ChannelMemberships must equal ListChannelMemberships`);
          assert.equal(d.json.ChannelMessagesHasMore, exp.ChannelMessagesHasMore, `${what}: ChannelMessagesHasMore`);
        }
      }
    } finally {
      await stopAll();
    }
  }));

  test('stop() ends the session cleanly; a scoped key may connect only as its own user (4003 otherwise)', TEST, withOutput(async () => {
    try {
      const w = await world(['alice', 'bob']);
      const ch = await channel(w, w.alice, [w.bob]);

      // stop(): messagingSessionDidStop once, no reconnect.
      const s = await connect(w.alice);
      sessions.delete(s);
      s.stop();
      const stop = await s.stopped;
      assert.ok([1000, 1005].includes(stop.code), `close code after stop(): ${JSON.stringify(stop)}`);
      assert.deepEqual(s.events.map((e) => e.kind), ['connecting', 'start', 'message', 'stop'], s.describeEvents());
      assert.equal(dialledFor(s.sessionId).length, 1);

      // A key scoped to alice (belfry credentials create).
      const bin = await buildBelfry();
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BELFRY_') && !k.startsWith('AWS_')));
      const res = await run(bin, ['credentials', 'create', '--user', w.alice, ...server.storeArgs],
        { env, timeoutMs: REQUEST_TIMEOUT_MS });
      assert.equal(res.code, 0, `belfry credentials create: ${res.stdout}${res.stderr}`);
      const key = JSON.parse(res.stdout);
      assert.equal(key.UserArn, w.alice);
      const scoped = sessionClient(server, { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });

      // As alice: established, and it receives her channel's events.
      const own = await connect(w.alice, { client: scoped });
      assertEstablishedFirst(own);
      const m = await sendMsg(ch, w.bob, 'to scoped alice');
      await own.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: ch, MessageId: m });

      // As bob: 4003, terminal.
      const other = createSession(w.bob, scoped);
      let rejected;
      try {
        await other.start();
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        rejected = err;
      }
      assert.ok(rejected, `start() as bob with alice's key must reject with 4003; events:\n${other.describeEvents()}`);
      assert.equal(rejected.code, 4003, `close code (reason ${JSON.stringify(rejected.reason)})`);
      assert.equal(rejected.reason, 'Forbidden');
      assert.equal(dialledFor(other.sessionId).length, 1, 'no reconnect after 4003');
      assert.deepEqual(other.events.map((e) => e.kind), ['connecting']);

      // An AppInstanceUser that does not exist: 4003 too, even with the root key.
      const ghost = createSession(`${w.app}/user/ghost`, sessionClient(server));
      const ghostErr = await ghost.start().then(() => undefined, (err) => err);
      assert.ok(ghostErr && !(ghostErr instanceof assert.AssertionError), `start() for an unknown user must reject: ${ghostErr?.message ?? 'it resolved'}`);
      assert.equal(ghostErr.code, 4003);
      assert.equal(dialledFor(ghost.sessionId).length, 1);
    } finally {
      await stopAll();
    }
  }));
});
