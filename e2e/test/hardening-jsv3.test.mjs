// Hardening (issue 17) through the AWS SDK for JavaScript v3 and amazon-chime-sdk-js, against a
// server started with --rate-limits aws:
//  - temporary credentials from `belfry credentials create --session` sign REST calls
//    (X-Amz-Security-Token in the headers) and the messaging-session websocket (presigned
//    X-Amz-Security-Token), and are refused with ExpiredTokenException after Expiration;
//  - a burst of sends from one bearer is throttled (429 ThrottledClientException) and the SDK's
//    standard retry mode gets every message through.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { identityClient, messagingClient, send } from '../lib/aws.mjs';
import { buildBelfry, REQUEST_TIMEOUT_MS, run, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, startBelfry, withServerOutput } from '../lib/server.mjs';
import { openSession, sessionClient, trustBelfryCA } from '../lib/session.mjs';

const TEST = { timeout: 12 * REQUEST_TIMEOUT_MS };

/** Retry a setup call that --rate-limits aws may throttle (the setup clients make one attempt). */
async function patient(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (err?.name !== 'ThrottledClientException' || i > 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function temporaryCredentials(server, userArn, ttl) {
  const bin = await buildBelfry();
  const res = await run(bin, ['credentials', 'create', '--user', userArn, '--session', '--ttl', ttl,
    ...server.storeArgs], { timeoutMs: 30_000 });
  assert.equal(res.code, 0, `belfry credentials create --session: ${res.stdout}${res.stderr}`);
  const c = JSON.parse(res.stdout);
  for (const k of ['AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']) assert.ok(c[k], `${k} missing from ${res.stdout}`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
}

describe('hardening through JS v3 and amazon-chime-sdk-js', () => {
  let server;
  let identity;
  let messaging;
  let alice;
  let channel;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    server = await startBelfry({ extraArgs: ['--rate-limits', 'aws'] });
    trustBelfryCA(server);
    identity = identityClient(server);
    messaging = messagingClient(server);
    const app = (await patient(() => send(identity, new I.CreateAppInstanceCommand({ Name: 'hardening', ClientRequestToken: crypto.randomUUID() })))).AppInstanceArn;
    alice = (await patient(() => send(identity, new I.CreateAppInstanceUserCommand({
      AppInstanceArn: app, AppInstanceUserId: 'alice', Name: 'alice', ClientRequestToken: crypto.randomUUID(),
    })))).AppInstanceUserArn;
    channel = (await patient(() => send(messaging, new M.CreateChannelCommand({
      AppInstanceArn: app, Name: 'hardening', ChimeBearer: alice, ClientRequestToken: crypto.randomUUID(),
    })))).ChannelArn;
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('temporary credentials: REST and the messaging session, then expiry', TEST, withOutput(async () => {
    const creds = await temporaryCredentials(server, alice, '1h');
    assert.match(creds.accessKeyId, /^BSIA[A-Z2-7]{16}$/);
    const asAlice = messagingClient(server, { credentials: creds });
    const sent = [];
    asAlice.middlewareStack.add((next) => async (args) => {
      sent.push(args.request.headers);
      return next(args);
    }, { step: 'finalizeRequest', name: 'e2eSeeHeaders', priority: 'low' });

    // The websocket, presigned by amazon-chime-sdk-js with the session token.
    const s = await openSession(server, alice, { client: sessionClient(server, creds) });
    const out = await patient(() => send(asAlice, new M.SendChannelMessageCommand({
      ChannelArn: channel, Content: 'hello with temporary credentials', Type: 'STANDARD', Persistence: 'PERSISTENT',
      ChimeBearer: alice, ClientRequestToken: crypto.randomUUID(),
    })));
    assert.equal(sent.at(-1)['x-amz-security-token'], creds.sessionToken, 'the SDK sent the session token in a header');
    await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: channel, MessageId: out.MessageId });
    s.stop();
    await s.stopped;

    // A short-lived credential stops working at its Expiration.
    const short = await temporaryCredentials(server, alice, '3s');
    const shortClient = messagingClient(server, { credentials: short });
    await patient(() => send(shortClient, new M.DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: alice })));
    let last;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        await send(shortClient, new M.DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: alice }));
        last = 'accepted';
      } catch (err) {
        last = err;
        if (err.name === 'ExpiredTokenException') break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(last?.name, 'ExpiredTokenException', `after expiry: ${last?.name ?? last} ${last?.message ?? ''}`);
    assert.equal(last.$metadata.httpStatusCode, 403);
    assert.ok(Date.now() >= short.expiration.getTime(), 'refused only once Expiration has passed');

    // A session with expired credentials is not established either.
    const client = sessionClient(server, short);
    await assert.rejects(send(client, new M.GetMessagingSessionEndpointCommand({})), (err) => err.name === 'ExpiredTokenException');

    // A forged token (right shape, wrong seal) is unknown.
    const forged = { ...creds, sessionToken: `${creds.sessionToken.slice(0, -4)}AAAA` === creds.sessionToken ? `${creds.sessionToken.slice(0, -4)}BBBB` : `${creds.sessionToken.slice(0, -4)}AAAA` };
    await assert.rejects(send(messagingClient(server, { credentials: forged }), new M.DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: alice })),
      (err) => err.name === 'UnrecognizedClientException' && err.$metadata.httpStatusCode === 403);
  }));

  test('a burst from one bearer is throttled and standard retries get every message through', TEST, withOutput(async () => {
    const noRetry = messagingClient(server);
    const refused = await Promise.allSettled(Array.from({ length: 20 }, () => send(noRetry, new M.DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: alice }))));
    const throttled = refused.filter((r) => r.status === 'rejected');
    assert.ok(throttled.length > 0, '20 calls at once from one bearer were all accepted');
    for (const r of throttled) {
      assert.equal(r.reason.name, 'ThrottledClientException', r.reason.message);
      assert.equal(r.reason.$metadata.httpStatusCode, 429);
    }
    await new Promise((r) => setTimeout(r, 1100)); // let the bearer's bucket refill: the point here is the burst below

    const retrying = messagingClient(server, { retryMode: 'standard', maxAttempts: 3 });
    const BURST = 25;
    const results = await Promise.all(Array.from({ length: BURST }, (_, i) => retrying.send(new M.SendChannelMessageCommand({
      ChannelArn: channel, Content: `burst ${i}`, Type: 'STANDARD', Persistence: 'PERSISTENT', ChimeBearer: alice, ClientRequestToken: crypto.randomUUID(),
    }))));
    const retries = results.reduce((n, r) => n + (r.$metadata.attempts - 1), 0);
    assert.ok(retries > 0, 'no call of the burst was retried: nothing was throttled');
    const listed = new Set();
    let NextToken;
    do {
      const page = await retrying.send(new M.ListChannelMessagesCommand({ ChannelArn: channel, ChimeBearer: alice, MaxResults: 50, NextToken }));
      for (const m of page.ChannelMessages ?? []) listed.add(m.MessageId);
      NextToken = page.NextToken;
    } while (NextToken);
    const missing = results.filter((r) => !listed.has(r.MessageId));
    assert.deepEqual(missing, [], 'acknowledged burst messages missing from ListChannelMessages');
  }));
});
