// Push notifications and streaming export end to end (shared/docs/semantics.md §3.9, §9;
// delivery/, service/outbox.go): the unmodified JS SDK v3 drives Belfry; small servers in this
// test stand in for Amazon Pinpoint (SendMessages, REST JSON as the Go SDK v2 sends it), Amazon
// Kinesis (PutRecords, JSON 1.1 with base64 Data) and the signed push and stream webhooks. The
// inspection endpoints (GET /_belfry/push-notifications, /_belfry/stream-records) are read with a
// root SigV4 signature.
//
// Deliveries are queued in the transaction of the change that causes them, so once an API call
// has answered, the inspection endpoint already lists everything it caused: "exactly these
// pushes" and "nothing from before the configuration" are checked there, and the sinks are then
// polled (with a deadline, never a sleep) until they received the same.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { SignatureV4 } from '@smithy/signature-v4';
import { assertAwsError, identityClient, messagingClient, rejection, send, success } from '../lib/aws.mjs';
import {
  ACCOUNT_ID, buildBelfry, randomCredentials, REGION, REQUEST_TIMEOUT_MS, restartBelfry, run, SETUP_TIMEOUT_MS, startBelfry, withServerOutput,
} from '../lib/server.mjs';

const TEST = { timeout: 12 * REQUEST_TIMEOUT_MS };
const WAIT_MS = 20_000;
const PINPOINT_APP = 'e2eapp0123456789abcdef';
const PINPOINT_ARN = `arn:aws:mobiletargeting:${REGION}:${ACCOUNT_ID}:apps/${PINPOINT_APP}`;
const STREAM_ARN = `arn:aws:kinesis:${REGION}:${ACCOUNT_ID}:stream/chime-messaging-e2e`;
const FLOW_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:e2e-push-moderator`;

/** Poll `fn` until it returns a truthy value; fail with `what` after `ms`. */
async function until(what, fn, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class NodeSha256 {
  constructor(secret) { this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256'); }
  update(d) { this.h.update(d); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

/** GET an inspection endpoint, SigV4-signed with `credentials` (the root credential by default). */
async function inspect(server, path, query = {}, credentials = server.credentials) {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({ service: 'chime', region: REGION, credentials, sha256: NodeSha256 });
  const req = await signer.sign({
    method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query,
    headers: { host: url.host },
  });
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${server.endpoint}${path}${qs ? `?${qs}` : ''}`, { headers: req.headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.json();
  return { status: res.status, body };
}

/** The fake sinks: Pinpoint, Kinesis and the two webhooks, on one port; `down` makes all answer 503. */
function startSinks(webhookSecret) {
  const sinks = { pinpoint: [], kinesis: [], pushHooks: [], streamHooks: [], flowEvents: [], badSignatures: 0, down: false, attemptsWhileDown: 0 };
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (sinks.down) {
        sinks.attemptsWhileDown++;
        res.writeHead(503, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceUnavailableException' });
        res.end('{"__type":"ServiceUnavailableException","message":"e2e: sink down"}');
        return;
      }
      const target = req.headers['x-amz-target'];
      if (req.method === 'POST' && target === 'Kinesis_20131202.PutRecords') {
        // JSON 1.1, records' Data base64-encoded, as the Go SDK v2 sends them.
        assert.match(req.headers['content-type'], /application\/x-amz-json-1\.1/);
        assert.match(req.headers.authorization, /^AWS4-HMAC-SHA256 Credential=\S+\/kinesis\/aws4_request/);
        const body = JSON.parse(raw);
        for (const r of body.Records) {
          sinks.kinesis.push({ streamArn: body.StreamARN, streamName: body.StreamName, partitionKey: r.PartitionKey, record: JSON.parse(Buffer.from(r.Data, 'base64').toString('utf8')) });
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedRecordCount: 0, Records: body.Records.map((_, i) => ({ SequenceNumber: String(sinks.kinesis.length + i), ShardId: 'shardId-000000000000' })) }));
        return;
      }
      const m = /^\/v1\/apps\/([^/]+)\/messages$/.exec(req.url);
      if (req.method === 'POST' && m) {
        assert.match(req.headers.authorization, /^AWS4-HMAC-SHA256 Credential=\S+\/mobiletargeting\/aws4_request/);
        const body = JSON.parse(raw); // the MessageRequest is the payload
        sinks.pinpoint.push({ app: m[1], request: body });
        const result = Object.fromEntries(Object.keys(body.Addresses).map((a) => [a, { DeliveryStatus: 'SUCCESSFUL', StatusCode: 200 }]));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ApplicationId: m[1], RequestId: crypto.randomUUID(), Result: result }));
        return;
      }
      if (req.method === 'POST' && (req.url === '/push' || req.url === '/stream' || req.url === '/flow')) {
        const ts = req.headers['x-belfry-timestamp'];
        const want = crypto.createHmac('sha256', webhookSecret).update(`${ts}.`).update(raw).digest('hex');
        if (req.headers['x-belfry-signature'] !== `v1=${want}`) {
          sinks.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const doc = JSON.parse(raw);
        if (req.url === '/flow') sinks.flowEvents.push(doc);
        else if (req.url === '/push') sinks.pushHooks.push({ channelHeader: req.headers['x-belfry-channel-arn'], doc });
        else sinks.streamHooks.push({ streamHeader: req.headers['x-belfry-stream-arn'], record: doc });
        res.writeHead(204).end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    sinks.url = `http://127.0.0.1:${srv.address().port}`;
    sinks.close = () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); });
    resolve(sinks);
  }));
}

function awsEnv(creds) {
  return {
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_REGION: REGION,
    AWS_CONFIG_FILE: '/nonexistent/belfry-e2e/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/belfry-e2e/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

describe('push notifications and streaming export (JS SDK v3; fake Pinpoint, Kinesis and webhooks)', () => {
  const webhookSecret = crypto.randomBytes(24).toString('hex');
  let sinks;
  let hookServer; // --push-webhook, --stream-webhook
  let awsServer; // --pinpoint-endpoint, --kinesis-endpoint

  before(async () => {
    sinks = await startSinks(webhookSecret);
    hookServer = await startBelfry({
      extraArgs: ['--push-webhook', `${sinks.url}/push`, '--stream-webhook', `${sinks.url}/stream`, '--delivery-webhook-secret', webhookSecret,
        '--flow-webhooks', `${FLOW_ARN}=${sinks.url}/flow`, '--flow-webhook-secret', webhookSecret],
    });
    awsServer = await startBelfry({
      extraArgs: ['--pinpoint-endpoint', sinks.url, '--kinesis-endpoint', sinks.url, '--delivery-retry-max', '500ms'],
      extraEnv: awsEnv(randomCredentials()),
    });
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    await hookServer?.stop();
    await awsServer?.stop();
    await sinks?.close();
  });

  function clients(server) {
    const identity = identityClient(server);
    const messaging = messagingClient(server);
    return {
      id: (cmd) => success(send(identity, cmd), cmd.constructor.name),
      ok: (cmd) => success(send(messaging, cmd), cmd.constructor.name),
      fails: async (cmd, expected) => {
        const err = await rejection(send(messaging, cmd), cmd.constructor.name);
        assertAwsError(err, expected, cmd.constructor.name);
        return err;
      },
    };
  }

  /** An app instance with alice (ALL), bob (NONE), carol (FILTERED anything-but), dave (FILTERED $or). */
  async function pushWorld(server) {
    const { id, ok } = clients(server);
    const { AppInstanceArn: app } = await id(new I.CreateAppInstanceCommand({ Name: `push-${crypto.randomUUID().slice(0, 8)}`, ClientRequestToken: crypto.randomUUID() }));
    const user = async (name) => (await id(new I.CreateAppInstanceUserCommand({
      AppInstanceArn: app, AppInstanceUserId: name, Name: name, ClientRequestToken: crypto.randomUUID(),
    }))).AppInstanceUserArn;
    const [alice, bob, carol, dave] = [await user('alice'), await user('bob'), await user('carol'), await user('dave')];
    const suffix = crypto.randomUUID().slice(0, 8);
    const endpoint = (userArn, Type, DeviceToken, extra = {}) => id(new I.RegisterAppInstanceUserEndpointCommand({
      AppInstanceUserArn: userArn, Name: `${Type}-${DeviceToken}`, Type, ResourceArn: PINPOINT_ARN,
      EndpointAttributes: { DeviceToken: `${DeviceToken}-${suffix}`, ...(extra.voip ? { VoipDeviceToken: `${extra.voip}-${suffix}` } : {}) },
      AllowMessages: extra.allow ?? 'ALL', ClientRequestToken: crypto.randomUUID(),
    }));
    await endpoint(alice, 'APNS', 'alice-apns');
    await endpoint(bob, 'APNS', 'bob-apns');
    await endpoint(carol, 'GCM', 'carol-gcm', { allow: 'NONE' });
    await endpoint(carol, 'APNS_SANDBOX', 'carol-sandbox');
    await endpoint(dave, 'APNS', 'dave-apns', { voip: 'dave-voip' });

    const { ChannelArn } = await ok(new M.CreateChannelCommand({
      AppInstanceArn: app, Name: 'push', ChimeBearer: alice, MemberArns: [bob, carol, dave], ClientRequestToken: crypto.randomUUID(),
    }));
    const prefs = (MemberArn, PushNotifications) => ok(new M.PutChannelMembershipPreferencesCommand({
      ChannelArn, MemberArn, ChimeBearer: MemberArn, Preferences: { PushNotifications },
    }));
    await prefs(alice, { AllowNotifications: 'ALL' });
    await prefs(bob, { AllowNotifications: 'NONE' });
    await prefs(carol, { AllowNotifications: 'FILTERED', FilterRule: JSON.stringify({ priority: [{ 'anything-but': ['low'] }] }) });
    await prefs(dave, { AllowNotifications: 'FILTERED', FilterRule: JSON.stringify({ $or: [{ topic: ['eng'] }, { priority: ['urgent'] }] }) });
    return { app, alice, bob, carol, dave, ChannelArn, suffix };
  }

  /** Sends the three messages with pushes (and two without); returns the expected pushes. */
  async function sendPushes(server, w) {
    const { ok } = clients(server);
    const sendMsg = async (Content, extra) => (await ok(new M.SendChannelMessageCommand({
      ChannelArn: w.ChannelArn, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: w.alice, ClientRequestToken: crypto.randomUUID(), ...extra,
    }))).MessageId;
    const attrs = (priority, topic) => ({ priority: { StringValues: [priority] }, topic: { StringValues: [topic] } });
    const m1 = await sendMsg('high sales', { MessageAttributes: attrs('high', 'sales'), PushNotification: { Title: 'T1', Body: 'B1', Type: 'DEFAULT' } });
    const m2 = await sendMsg('low eng', { MessageAttributes: attrs('low', 'eng'), PushNotification: { Title: 'T2', Body: 'B2', Type: 'DEFAULT' } });
    const m3 = await sendMsg('urgent call', { MessageAttributes: attrs('urgent', 'ops'), PushNotification: { Title: 'T3', Body: 'B3', Type: 'VOIP' } });
    await sendMsg('no push', { MessageAttributes: attrs('high', 'eng') });
    await ok(new M.SendChannelMessageCommand({
      ChannelArn: w.ChannelArn, Content: 'control', Type: 'CONTROL', Persistence: 'PERSISTENT', ChimeBearer: w.alice, PushNotification: { Title: 'c', Body: 'c', Type: 'DEFAULT' },
    }));
    const t = (name) => `${name}-${w.suffix}`;
    // Who gets what, by the rules: alice (ALL) every DEFAULT push on her APNS (no VoIP token, so no
    // VOIP push); bob (NONE) nothing; carol (anything-but low) m1 and m3, on APNS_SANDBOX only (her
    // GCM endpoint allows no messages), and m3 is VOIP while her endpoint has no VoIP token; dave
    // ($or topic eng / priority urgent) m2 on APNS and m3 on his VoIP token.
    return [
      { MessageId: m1, AppInstanceUserArn: w.alice, Type: 'APNS', token: t('alice-apns'), PushNotificationType: 'DEFAULT', Title: 'T1', Body: 'B1' },
      { MessageId: m1, AppInstanceUserArn: w.carol, Type: 'APNS_SANDBOX', token: t('carol-sandbox'), PushNotificationType: 'DEFAULT', Title: 'T1', Body: 'B1' },
      { MessageId: m2, AppInstanceUserArn: w.alice, Type: 'APNS', token: t('alice-apns'), PushNotificationType: 'DEFAULT', Title: 'T2', Body: 'B2' },
      { MessageId: m2, AppInstanceUserArn: w.dave, Type: 'APNS', token: t('dave-apns'), PushNotificationType: 'DEFAULT', Title: 'T2', Body: 'B2' },
      { MessageId: m3, AppInstanceUserArn: w.dave, Type: 'APNS', token: t('dave-voip'), voip: true, PushNotificationType: 'VOIP', Title: 'T3', Body: 'B3' },
    ];
  }

  const key = (p) => `${p.MessageId} ${p.token}`;
  const sortKeys = (ps) => ps.map(key).sort();

  test('pushes follow preferences, filter rules, AllowMessages and VoIP tokens: webhook and inspection', TEST, withServerOutput(() => hookServer, async () => {
    const w = await pushWorld(hookServer);
    const expected = await sendPushes(hookServer, w);

    const listed = await inspect(hookServer, '/_belfry/push-notifications', { ChannelArn: w.ChannelArn });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const got = listed.body.PushNotifications;
    assert.deepEqual(sortKeys(got.map((p) => ({ MessageId: p.MessageId, token: p.DeviceToken ?? p.VoipDeviceToken }))), sortKeys(expected), 'inspection: exactly the pushes the rules allow');
    // Newest first.
    const ids = got.map((p) => p.Delivery.Id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    for (const p of got) {
      const e = expected.find((x) => x.MessageId === p.MessageId && x.token === (p.DeviceToken ?? p.VoipDeviceToken));
      assert.equal(p.AppInstanceUserArn, e.AppInstanceUserArn);
      assert.equal(p.Type, e.Type);
      assert.equal(p.PushNotificationType, e.PushNotificationType);
      assert.equal(p.Title, e.Title);
      assert.equal(p.Body, e.Body);
      assert.equal(p.ChannelArn, w.ChannelArn);
      assert.equal(p.ResourceArn, PINPOINT_ARN);
      assert.ok(p.EndpointId);
      assert.equal(e.voip ? p.VoipDeviceToken : p.DeviceToken, e.token);
      assert.deepEqual(p.Data, { 'chime.message_id': p.MessageId, 'chime.channel_arn': w.ChannelArn });
      assert.deepEqual(p.PushNotification, { Title: e.Title, Body: e.Body, Type: e.PushNotificationType });
      assert.ok(p.MessageAttributes.priority.StringValues.length === 1);
    }

    // The webhook receives the same, one signed POST per device.
    const hooks = await until('the push webhook to receive every push', () => {
      const mine = sinks.pushHooks.filter((h) => h.doc.ChannelArn === w.ChannelArn);
      return mine.length >= expected.length && mine;
    });
    assert.equal(sinks.badSignatures, 0);
    assert.deepEqual(sortKeys(hooks.map((h) => ({ MessageId: h.doc.MessageId, token: h.doc.DeviceToken ?? h.doc.VoipDeviceToken }))), sortKeys(expected));
    for (const h of hooks) assert.equal(h.channelHeader, w.ChannelArn);
    const delivered = await until('the inspection to show every push DELIVERED', async () => {
      const r = await inspect(hookServer, '/_belfry/push-notifications', { ChannelArn: w.ChannelArn });
      return r.body.PushNotifications.every((p) => p.Delivery.State === 'DELIVERED') && r.body.PushNotifications;
    });
    assert.equal(delivered.length, expected.length);

    // Filters: by app instance, bounded by MaxResults.
    const byApp = await inspect(hookServer, '/_belfry/push-notifications', { AppInstanceArn: w.app, MaxResults: '2' });
    assert.equal(byApp.body.PushNotifications.length, 2);
    assert.deepEqual(byApp.body.PushNotifications.map((p) => p.Delivery.Id), ids.slice(0, 2));
    const bad = await inspect(hookServer, '/_belfry/push-notifications', { MaxResults: '0' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.Code, 'BadRequestException');
  }));

  test('the inspection endpoints refuse unsigned, wrongly signed and non-root requests', TEST, withServerOutput(() => hookServer, async () => {
    const unsigned = await fetch(`${hookServer.endpoint}/_belfry/push-notifications`);
    assert.equal(unsigned.status, 403);
    const wrong = await inspect(hookServer, '/_belfry/stream-records', {}, { accessKeyId: hookServer.credentials.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.Code, 'InvalidSignatureException');

    // A key scoped to a user (belfry credentials create) may neither inspect nor configure streaming.
    const { id } = clients(hookServer);
    const { AppInstanceArn: app } = await id(new I.CreateAppInstanceCommand({ Name: `scoped-${crypto.randomUUID().slice(0, 8)}`, ClientRequestToken: crypto.randomUUID() }));
    const { AppInstanceUserArn: alice } = await id(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'alice', Name: 'alice', ClientRequestToken: crypto.randomUUID() }));
    const bin = await buildBelfry();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BELFRY_') && !k.startsWith('AWS_')));
    const res = await run(bin, ['credentials', 'create', '--user', alice, ...hookServer.storeArgs],
      { env, timeoutMs: REQUEST_TIMEOUT_MS });
    assert.equal(res.code, 0, `belfry credentials create: ${res.stdout}${res.stderr}`);
    const key = JSON.parse(res.stdout);
    const scoped = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    const denied = await inspect(hookServer, '/_belfry/push-notifications', {}, scoped);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.Code, 'ForbiddenException');
    const scopedMessaging = messagingClient(hookServer, { credentials: scoped });
    for (const cmd of [
      new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'Channel', ResourceArn: STREAM_ARN }] }),
      new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }),
      new M.DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }),
    ]) {
      const err = await rejection(send(scopedMessaging, cmd), cmd.constructor.name);
      assertAwsError(err, { name: 'ForbiddenException', status: 403 }, `${cmd.constructor.name} with a scoped key`);
    }
  }));

  test('pushes go through Pinpoint SendMessages (Go SDK v2 wire format)', TEST, withServerOutput(() => awsServer, async () => {
    const w = await pushWorld(awsServer);
    const expected = await sendPushes(awsServer, w);
    const listed = await inspect(awsServer, '/_belfry/push-notifications', { ChannelArn: w.ChannelArn });
    assert.deepEqual(sortKeys(listed.body.PushNotifications.map((p) => ({ MessageId: p.MessageId, token: p.DeviceToken ?? p.VoipDeviceToken }))), sortKeys(expected));

    const mine = await until('Pinpoint to receive every push', () => {
      const got = sinks.pinpoint.filter((p) => p.request.MessageConfiguration?.APNSMessage?.Data?.['chime.channel_arn'] === w.ChannelArn
        || p.request.MessageConfiguration?.GCMMessage?.Data?.['chime.channel_arn'] === w.ChannelArn);
      return got.length >= expected.length && got;
    });
    assert.equal(mine.length, expected.length);
    const channelOf = { APNS: 'APNS', APNS_SANDBOX: 'APNS_SANDBOX', GCM: 'GCM' };
    const seen = [];
    for (const p of mine) {
      assert.equal(p.app, PINPOINT_APP);
      const [[token, addr]] = Object.entries(p.request.Addresses);
      const msg = p.request.MessageConfiguration.APNSMessage ?? p.request.MessageConfiguration.GCMMessage;
      const e = expected.find((x) => x.token === token && x.MessageId === msg.Data['chime.message_id']);
      assert.ok(e, `unexpected push to ${token}`);
      assert.equal(addr.ChannelType, e.voip ? 'APNS_VOIP' : channelOf[e.Type]);
      assert.equal(msg.Title, e.Title);
      assert.equal(msg.Body, e.Body);
      seen.push(key(e));
    }
    assert.deepEqual(seen.sort(), sortKeys(expected));
  }));

  test('a message held by a channel flow is pushed when SENT, never when DENIED', TEST, withServerOutput(() => hookServer, async () => {
    const { ok } = clients(hookServer);
    const w = await pushWorld(hookServer);
    const { ChannelFlowArn } = await ok(new M.CreateChannelFlowCommand({
      AppInstanceArn: w.app, Name: 'push-moderator', ClientRequestToken: crypto.randomUUID(),
      Processors: [{ Name: 'p', ExecutionOrder: 1, FallbackAction: 'ABORT', Configuration: { Lambda: { ResourceArn: FLOW_ARN, InvocationType: 'ASYNC' } } }],
    }));
    await ok(new M.AssociateChannelFlowCommand({ ChannelArn: w.ChannelArn, ChannelFlowArn, ChimeBearer: w.alice }));
    const sendHeld = async (Content) => {
      const res = await ok(new M.SendChannelMessageCommand({
        ChannelArn: w.ChannelArn, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: w.alice, ClientRequestToken: crypto.randomUUID(),
        MessageAttributes: { priority: { StringValues: ['high'] }, topic: { StringValues: ['sales'] } }, PushNotification: { Title: 'held', Body: Content, Type: 'DEFAULT' },
      }));
      assert.equal(res.Status.Value, 'PENDING');
      return res.MessageId;
    };
    const allowed = await sendHeld('allow me');
    const denied = await sendHeld('deny me');
    const pushesOf = async (id) => (await inspect(hookServer, '/_belfry/push-notifications', { ChannelArn: w.ChannelArn })).body.PushNotifications.filter((p) => p.MessageId === id);
    assert.deepEqual(await pushesOf(allowed), [], 'no push while PENDING');

    const events = await until('the processor to receive both messages', () => {
      const mine = sinks.flowEvents.filter((e) => e.ChannelMessage.ChannelArn === w.ChannelArn);
      return mine.length >= 2 && mine;
    });
    for (const e of events) {
      const deny = e.ChannelMessage.MessageId === denied;
      await ok(new M.ChannelFlowCallbackCommand({
        ChannelArn: w.ChannelArn, CallbackId: e.CallbackId, DeleteResource: deny,
        ChannelMessage: { MessageId: e.ChannelMessage.MessageId },
      }));
    }
    // m1's rules (priority high, topic sales): alice and carol.
    const sent = await pushesOf(allowed);
    assert.deepEqual(sent.map((p) => p.DeviceToken).sort(), [`alice-apns-${w.suffix}`, `carol-sandbox-${w.suffix}`]);
    assert.deepEqual(await pushesOf(denied), [], 'no push for a DENIED message');
    await until('the webhook to receive the SENT message\'s pushes', () => sinks.pushHooks.filter((h) => h.doc.MessageId === allowed).length === 2);
    assert.equal(sinks.pushHooks.filter((h) => h.doc.MessageId === denied).length, 0);
  }));

  test('streaming: Put/Get/Delete validation and authorization', TEST, withServerOutput(() => awsServer, async () => {
    const { id, ok, fails } = clients(awsServer);
    const { AppInstanceArn: app } = await id(new I.CreateAppInstanceCommand({ Name: `stream-v-${crypto.randomUUID().slice(0, 8)}`, ClientRequestToken: crypto.randomUUID() }));
    await fails(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }), { name: 'NotFoundException', status: 404 });
    await fails(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'Channel', ResourceArn: `arn:aws:kinesis:${REGION}:${ACCOUNT_ID}:stream/other-name` }] }),
      { name: 'BadRequestException', status: 400 });
    await fails(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'Channel', ResourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:chime-messaging-q` }] }),
      { name: 'BadRequestException', status: 400 });
    await fails(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [
      { DataType: 'Channel', ResourceArn: STREAM_ARN }, { DataType: 'Channel', ResourceArn: STREAM_ARN }] }), { name: 'BadRequestException', status: 400 });
    await fails(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'Everything', ResourceArn: STREAM_ARN }] }),
      { name: 'BadRequestException', status: 400 });
    // Refused calls changed nothing.
    await fails(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }), { name: 'NotFoundException', status: 404 });
    await fails(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: `${app.slice(0, -4)}dead`, StreamingConfigurations: [{ DataType: 'Channel', ResourceArn: STREAM_ARN }] }),
      { name: 'NotFoundException', status: 404 });

    const put = await ok(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'ChannelMessage', ResourceArn: STREAM_ARN }] }));
    assert.deepEqual(put.StreamingConfigurations, [{ DataType: 'ChannelMessage', ResourceArn: STREAM_ARN }]);
    const got = await ok(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }));
    assert.deepEqual(got.StreamingConfigurations, [{ DataType: 'ChannelMessage', ResourceArn: STREAM_ARN }]);

    await ok(new M.DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }));
    await fails(new M.GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }), { name: 'NotFoundException', status: 404 });
    await ok(new M.DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }));
  }));

  test('streaming to Kinesis: per-channel order, nothing from before the configuration, sink down across kill -9, Delete stops it', TEST, async () => {
    let server = awsServer;
    await withServerOutput(() => server, async () => {
      let c = clients(server);
      const { AppInstanceArn: app } = await c.id(new I.CreateAppInstanceCommand({ Name: `stream-${crypto.randomUUID().slice(0, 8)}`, ClientRequestToken: crypto.randomUUID() }));
      const user = async (name) => (await c.id(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: name, Name: name, ClientRequestToken: crypto.randomUUID() }))).AppInstanceUserArn;
      const alice = await user('alice');
      const bob = await user('bob');
      await c.id(new I.CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: alice }));
      const newChannel = async (Name) => (await c.ok(new M.CreateChannelCommand({ AppInstanceArn: app, Name, ChimeBearer: alice, ClientRequestToken: crypto.randomUUID() }))).ChannelArn;
      const sendMsg = async (ChannelArn, Content) => (await c.ok(new M.SendChannelMessageCommand({
        ChannelArn, Content, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: alice, ClientRequestToken: crypto.randomUUID(),
      }))).MessageId;

      // Before the configuration: never streamed.
      const early = await newChannel('early');
      await sendMsg(early, 'before the configuration');

      await c.ok(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [
        { DataType: 'Channel', ResourceArn: STREAM_ARN }, { DataType: 'ChannelMessage', ResourceArn: STREAM_ARN }] }));

      const ch = await newChannel('streamed');
      await c.ok(new M.CreateChannelMembershipCommand({ ChannelArn: ch, MemberArn: bob, Type: 'DEFAULT', ChimeBearer: alice }));
      const m1 = await sendMsg(ch, 'first');
      await c.ok(new M.UpdateChannelMessageCommand({ ChannelArn: ch, MessageId: m1, Content: 'first, edited', ChimeBearer: alice }));
      await c.ok(new M.RedactChannelMessageCommand({ ChannelArn: ch, MessageId: m1, ChimeBearer: alice }));
      const m2 = await sendMsg(ch, 'second');
      await c.ok(new M.DeleteChannelMessageCommand({ ChannelArn: ch, MessageId: m2, ChimeBearer: alice }));
      await c.ok(new M.UpdateChannelCommand({ ChannelArn: ch, Name: 'streamed, renamed', Mode: 'UNRESTRICTED', ChimeBearer: alice }));
      await c.ok(new M.DeleteChannelMembershipCommand({ ChannelArn: ch, MemberArn: bob, ChimeBearer: alice }));
      // Messages on the early channel after the configuration are streamed.
      const late = await sendMsg(early, 'after the configuration');

      const expected = [
        ['CREATE_CHANNEL', ch], ['CREATE_CHANNEL_MEMBERSHIP', ch], ['CREATE_CHANNEL_MEMBERSHIP', ch],
        ['CREATE_CHANNEL_MESSAGE', ch, m1], ['UPDATE_CHANNEL_MESSAGE', ch, m1], ['REDACT_CHANNEL_MESSAGE', ch, m1],
        ['CREATE_CHANNEL_MESSAGE', ch, m2], ['DELETE_CHANNEL_MESSAGE', ch, m2], ['UPDATE_CHANNEL', ch], ['DELETE_CHANNEL_MEMBERSHIP', ch],
      ];
      const summary = (r) => [r.EventType, r.Payload.ChannelArn, ...(r.Payload.MessageId ? [r.Payload.MessageId] : [])];

      // The inspection endpoint lists them at once (newest first), and none from the early channel
      // but the late message.
      const insp = await inspect(server, '/_belfry/stream-records', { AppInstanceArn: app });
      assert.equal(insp.status, 200, JSON.stringify(insp.body));
      const byChannel = (recs, arn) => recs.filter((r) => r.Record.Payload.ChannelArn === arn).map((r) => summary(r.Record));
      assert.deepEqual(byChannel(insp.body.StreamRecords, ch).reverse(), expected);
      assert.deepEqual(byChannel(insp.body.StreamRecords, early), [['CREATE_CHANNEL_MESSAGE', early, late]]);
      for (const r of insp.body.StreamRecords) {
        assert.equal(r.StreamArn, STREAM_ARN);
        assert.equal(r.PartitionKey, r.Record.Payload.ChannelArn);
      }

      const kinesisFor = (arn) => sinks.kinesis.filter((k) => k.record.Payload.ChannelArn === arn);
      await until('Kinesis to receive the channel\'s records', () => kinesisFor(ch).length >= expected.length);
      assert.deepEqual(kinesisFor(ch).map((k) => summary(k.record)), expected, 'Kinesis: per-channel order');
      for (const k of kinesisFor(ch)) {
        assert.equal(k.streamArn, STREAM_ARN);
        assert.equal(k.streamName, 'chime-messaging-e2e');
        assert.equal(k.partitionKey, ch);
      }
      const redact = kinesisFor(ch).find((k) => k.record.EventType === 'REDACT_CHANNEL_MESSAGE').record.Payload;
      assert.equal(redact.Redacted, true);
      assert.equal(redact.Content ?? '', '');
      const created = kinesisFor(ch).find((k) => k.record.EventType === 'CREATE_CHANNEL_MESSAGE').record.Payload;
      assert.equal(created.Content, 'first');
      assert.equal(created.Sender.Arn, alice);
      await until('the early channel\'s late record', () => kinesisFor(early).length >= 1);
      assert.deepEqual(kinesisFor(early).map((k) => summary(k.record)), [['CREATE_CHANNEL_MESSAGE', early, late]]);

      // The sink goes down: sends stay fast, deliveries wait, retried with backoff.
      sinks.down = true;
      const downSince = sinks.attemptsWhileDown;
      const waiting = [];
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) waiting.push(await sendMsg(ch, `while down ${i}`));
      const perSend = (performance.now() - t0) / 5;
      assert.ok(perSend < 500, `sends took ${perSend}ms each with the sink down`);
      await until('Belfry to retry against the sink that is down', () => sinks.attemptsWhileDown >= downSince + 2);
      const pending = await inspect(server, '/_belfry/stream-records', { ChannelArn: ch, MaxResults: '5' });
      assert.ok(pending.body.StreamRecords.every((r) => r.Delivery.State === 'PENDING'), JSON.stringify(pending.body));
      assert.ok(pending.body.StreamRecords.some((r) => r.Delivery.Attempts >= 1 && r.Delivery.LastError));
      const metrics = await (await fetch(`${server.endpoint}/metrics`)).text();
      assert.match(metrics, /belfry_delivery_failures_total\{kind="stream"\} [1-9]/);
      assert.match(metrics, /belfry_delivery_attempts_total\{kind="stream"\} [1-9]/);
      await until('the queue-depth metric to count the waiting records', async () =>
        /belfry_delivery_queue_depth\{kind="stream"\} [1-9]/.test(await (await fetch(`${server.endpoint}/metrics`)).text()));
      assert.match(metrics, /belfry_delivery_oldest_pending_age_seconds\{kind="stream"\}/);
      assert.match(server.output().stderr, /level=WARN msg="delivery failed; will retry" kind=stream target="kinesis arn:aws:kinesis:[^"]+chime-messaging-e2e".*err=/);

      // kill -9 with the sink still down; restart; the sink comes back: everything is delivered, in order.
      await server.kill();
      server = await restartBelfry(server);
      awsServer = server;
      c = clients(server);
      const beforeBack = kinesisFor(ch).length;
      sinks.down = false;
      await until('the records queued before the kill to be delivered', () => kinesisFor(ch).length >= beforeBack + waiting.length);
      const after = kinesisFor(ch).slice(beforeBack).map((k) => summary(k.record));
      assert.deepEqual(after, waiting.map((m) => ['CREATE_CHANNEL_MESSAGE', ch, m]), 'delivered once each, in order, after the restart');

      // Delete stops the stream: what is sent next is neither queued nor delivered.
      await c.ok(new M.DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: app }));
      const unstreamed = await sendMsg(ch, 'after delete');
      const insp2 = await inspect(server, '/_belfry/stream-records', { ChannelArn: ch });
      assert.ok(!insp2.body.StreamRecords.some((r) => r.Record.Payload.MessageId === unstreamed), 'no record after Delete');
      assert.equal(insp2.body.StreamRecords.length, expected.length + waiting.length);
    })();
  });

  test('streaming to a signed webhook', TEST, withServerOutput(() => hookServer, async () => {
    const { id, ok } = clients(hookServer);
    const { AppInstanceArn: app } = await id(new I.CreateAppInstanceCommand({ Name: `hook-${crypto.randomUUID().slice(0, 8)}`, ClientRequestToken: crypto.randomUUID() }));
    const { AppInstanceUserArn: alice } = await id(new I.CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'alice', Name: 'alice', ClientRequestToken: crypto.randomUUID() }));
    await ok(new M.PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'ChannelMessage', ResourceArn: STREAM_ARN }] }));
    const { ChannelArn } = await ok(new M.CreateChannelCommand({ AppInstanceArn: app, Name: 'hooked', ChimeBearer: alice, ClientRequestToken: crypto.randomUUID() }));
    const { MessageId } = await ok(new M.SendChannelMessageCommand({ ChannelArn, Content: 'hello', Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: alice, ClientRequestToken: crypto.randomUUID() }));
    const got = await until('the stream webhook', () => sinks.streamHooks.find((h) => h.record.Payload.ChannelArn === ChannelArn));
    assert.equal(got.streamHeader, STREAM_ARN);
    assert.equal(got.record.EventType, 'CREATE_CHANNEL_MESSAGE');
    assert.equal(got.record.Payload.MessageId, MessageId);
    // Only the ChannelMessage data type is configured: CREATE_CHANNEL was not streamed.
    assert.equal(sinks.streamHooks.filter((h) => h.record.Payload.ChannelArn === ChannelArn).length, 1);
  }));
});
