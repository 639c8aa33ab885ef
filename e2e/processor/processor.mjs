// A channel-flow processor for the end-to-end tests, run as its own process:
//
//   node e2e/processor/processor.mjs
//
// It is what a self-hoster would deploy, reduced to what the tests need: one HTTP server that
// answers both transports Belfry uses to deliver processor events (flows/doc.go,
// shared/docs/websocket-protocol.md §5.2), and calls Belfry back with ChannelFlowCallback through
// the unmodified AWS SDK for JavaScript v3 (§5.3).
//
//   POST /2015-03-31/functions/{FunctionName}/invocations   the AWS Lambda Invoke API
//        The SigV4 Authorization header is checked (credential scope service "lambda", and the
//        signature itself when the processor knows the key pair), then 202, as Lambda answers an
//        InvocationType Event call. Functions named e2e-broken* answer 500 (a transient failure)
//        and e2e-forbidden* 403 (a permanent one), without looking at the event.
//   POST /webhook                                            the Belfry webhook
//        X-Belfry-Signature must hold v1=hex(HMAC-SHA256(secret, X-Belfry-Timestamp + "." + body))
//        for the shared secret, with a timestamp within 5 minutes; otherwise 401. Then 202.
//
// What it does with an accepted event depends on the message content:
//   "allow…" (or anything not below)  ChannelFlowCallback with the MessageId only: unchanged
//   "rewrite…"                         Content "[rewritten] " + the content, Metadata "moderated"
//   "deny…"                            DeleteResource: true
//   "hold…"                            no callback until POST /control/release says which
//
// Control endpoints (JSON in, JSON out), for the test that runs it:
//   POST /control/chime    {endpoint, region, accessKeyId, secretAccessKey}   where to call back
//   POST /control/mode     {mode: "normal" | "stall"}   stall: read invocations, never answer them
//                          (the processor hangs: Belfry's attempt times out); "normal" lets the
//                          stalled requests go (their connections are closed unanswered)
//   POST /control/release  {callbackId, action: "allow" | "rewrite" | "deny"}
//                          call back for a held event; answers with the callback's outcome
//
// Everything it sees and does is printed on stdout, one JSON object a line:
//   {kind:"listening", port}
//   {kind:"invocation", route, at, method, url, functionName, headers, body, event, sigv4 | webhookSignature,
//    outcome: "accepted" | "rejected" | "failed" | "stalled", status}
//   {kind:"held", callbackId, messageId}
//   {kind:"callback", callbackId, messageId, action, request, ok, response | error}
//   {kind:"problem", message}   (a bug of the processor or of the test's use of it)
//
// Environment: PROCESSOR_PORT (default 0: any free port), PROCESSOR_WEBHOOK_SECRET,
// PROCESSOR_LAMBDA_ACCESS_KEY_ID and PROCESSOR_LAMBDA_SECRET_ACCESS_KEY (the key pair Belfry signs
// Lambda requests with; without them only the shape of the Authorization header is checked).

import crypto from 'node:crypto';
import http from 'node:http';
import { ChannelFlowCallbackCommand, ChimeSDKMessagingClient } from '@aws-sdk/client-chime-sdk-messaging';

const WEBHOOK_SECRET = process.env.PROCESSOR_WEBHOOK_SECRET ?? '';
const LAMBDA_KEY = process.env.PROCESSOR_LAMBDA_ACCESS_KEY_ID ?? '';
const LAMBDA_SECRET = process.env.PROCESSOR_LAMBDA_SECRET_ACCESS_KEY ?? '';
const WEBHOOK_TOLERANCE_S = 300;
const CALLBACK_TIMEOUT_MS = 10_000;

function report(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

let mode = 'normal';
const stalled = new Set(); // responses of stalled invocations
let chime; // { client, config }
const awaitingChime = []; // callbacks decided before /control/chime
const held = new Map(); // callbackId -> event
const called = new Map(); // callbackId -> promise of the callback record

// ---------------------------------------------------------------------------------------------
// SigV4 (AWS4-HMAC-SHA256) verification of the Lambda Invoke requests.

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const sha256hex = (data) => crypto.createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest %XX (upper case). */
function awsEncode(str, keepSlash) {
  let out = '';
  for (const byte of Buffer.from(str, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Check a request's Authorization header against SigV4: its shape, the credential scope, and (when
 * the key pair is known) the signature, recomputed from the request as received. For services
 * other than S3 the canonical URI is the path as sent, URI-encoded once more.
 */
function verifySigV4(req, body) {
  const auth = req.headers.authorization;
  const result = { present: typeof auth === 'string' };
  if (!result.present) return { ...result, valid: false, reason: 'no Authorization header' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ...result, valid: false, reason: `Authorization is not AWS4-HMAC-SHA256: ${auth}` };
  const [accessKeyId, date, region, service, terminal] = m[1].split('/');
  Object.assign(result, { algorithm: 'AWS4-HMAC-SHA256', accessKeyId, date, region, service, terminal, signedHeaders: m[2].split(';') });
  const amzDate = req.headers['x-amz-date'];
  result.amzDate = amzDate;
  if (!amzDate || !amzDate.startsWith(date)) return { ...result, valid: false, reason: `X-Amz-Date ${amzDate} does not match the scope date ${date}` };
  if (!LAMBDA_KEY || !LAMBDA_SECRET) return { ...result, valid: null, reason: 'no key pair to verify the signature with' };
  if (accessKeyId !== LAMBDA_KEY) return { ...result, valid: false, reason: `signed with access key ${accessKeyId}, expected ${LAMBDA_KEY}` };

  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const canonicalUri = awsEncode(rawPath, true);
  const canonicalQuery = rawQuery === '' ? '' : rawQuery.split('&').map((kv) => {
    const [k, v = ''] = kv.split(/=(.*)/s);
    return [awsEncode(decodeURIComponent(k), false), awsEncode(decodeURIComponent(v), false)];
  }).sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : 1) : (ak < bk ? -1 : 1))).map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalHeaders = result.signedHeaders.map((h) => {
    const v = req.headers[h];
    const value = (Array.isArray(v) ? v.join(',') : v ?? '').trim().replace(/\s+/g, ' ');
    return `${h}:${value}\n`;
  }).join('');
  const payloadHash = req.headers['x-amz-content-sha256'] ?? sha256hex(body);
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, m[2], payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/${terminal}`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${LAMBDA_SECRET}`, date), region), service), terminal);
  const expected = hmac(key, stringToSign).toString('hex');
  const valid = crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(m[3]));
  return { ...result, valid, ...(valid ? {} : { reason: 'signature mismatch', canonicalRequest }) };
}

// ---------------------------------------------------------------------------------------------
// Webhook signature (flows/doc.go "Webhook requests").

function verifyWebhook(req, body) {
  const ts = req.headers['x-belfry-timestamp'];
  const sig = req.headers['x-belfry-signature'];
  if (typeof ts !== 'string' || !/^\d+$/.test(ts)) return { valid: false, reason: `bad X-Belfry-Timestamp ${JSON.stringify(ts)}` };
  if (typeof sig !== 'string') return { valid: false, reason: 'no X-Belfry-Signature' };
  const skew = Math.abs(Date.now() / 1000 - Number(ts));
  if (skew > WEBHOOK_TOLERANCE_S) return { valid: false, reason: `timestamp ${ts} is ${Math.round(skew)} s off` };
  const expected = Buffer.from(crypto.createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.`).update(body).digest('hex'));
  const match = sig.split(',').map((e) => e.trim()).filter((e) => e.startsWith('v1='))
    .some((e) => { const got = Buffer.from(e.slice(3)); return got.length === expected.length && crypto.timingSafeEqual(got, expected); });
  return match ? { valid: true } : { valid: false, reason: `no v1 signature matches: ${sig}` };
}

// ---------------------------------------------------------------------------------------------
// Decisions and callbacks.

function decide(content) {
  if (/^hold\b/.test(content)) return 'hold';
  if (/^deny\b/.test(content)) return 'deny';
  if (/^rewrite\b/.test(content)) return 'rewrite';
  return 'allow';
}

function callbackInput(event, action) {
  const msg = event.ChannelMessage;
  const input = { ChannelArn: msg.ChannelArn, CallbackId: event.CallbackId, ChannelMessage: { MessageId: msg.MessageId } };
  if (action === 'rewrite') Object.assign(input.ChannelMessage, { Content: `[rewritten] ${msg.Content}`, Metadata: 'moderated' });
  if (action === 'deny') input.DeleteResource = true;
  return input;
}

/** Call back for one event (once per CallbackId and action; a repeat returns the first outcome). */
function callBack(event, action) {
  const key = `${event.CallbackId}/${action}`;
  if (!called.has(key)) {
    called.set(key, (async () => {
      if (!chime) await new Promise((resolve) => awaitingChime.push(resolve));
      const input = callbackInput(event, action);
      const base = { kind: 'callback', callbackId: event.CallbackId, messageId: event.ChannelMessage.MessageId, action, request: input };
      let record;
      try {
        const res = await chime.client.send(new ChannelFlowCallbackCommand(input), { abortSignal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS) });
        const { $metadata, ...response } = res;
        record = { ...base, ok: true, status: $metadata.httpStatusCode, response };
      } catch (err) {
        record = { ...base, ok: false, error: { name: err?.name, status: err?.$metadata?.httpStatusCode, message: err?.message } };
      }
      report(record);
      return record;
    })());
  }
  return called.get(key);
}

function handleEvent(event) {
  const action = decide(event.ChannelMessage?.Content ?? '');
  if (action === 'hold') {
    if (!held.has(event.CallbackId)) {
      held.set(event.CallbackId, event);
      report({ kind: 'held', callbackId: event.CallbackId, messageId: event.ChannelMessage.MessageId });
    }
    return;
  }
  callBack(event, action);
}

// ---------------------------------------------------------------------------------------------
// HTTP.

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res, status, value, headers = {}) {
  const body = value === undefined ? '' : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

async function invocation(req, res, route, body, extra) {
  const record = {
    kind: 'invocation', route, at: Date.now(), method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8'), ...extra,
  };
  try { record.event = JSON.parse(record.body); } catch { record.event = undefined; }

  if (mode === 'stall') {
    stalled.add(res);
    res.on('close', () => stalled.delete(res));
    report({ ...record, outcome: 'stalled' });
    return;
  }
  const rejectedBy = route === 'lambda'
    ? (record.sigv4.valid === false ? `SigV4: ${record.sigv4.reason}` : record.sigv4.service !== 'lambda' ? `SigV4 service ${record.sigv4.service}` : undefined)
    : (record.webhookSignature.valid ? undefined : `signature: ${record.webhookSignature.reason}`);
  if (rejectedBy) {
    const status = route === 'lambda' ? 403 : 401;
    report({ ...record, outcome: 'rejected', status, reason: rejectedBy });
    answer(res, status, { message: rejectedBy }, route === 'lambda' ? { 'x-amzn-errortype': 'AccessDeniedException' } : {});
    return;
  }
  const fn = route === 'lambda' ? record.functionName.split(':function:').pop().split(':')[0] : '';
  if (fn.startsWith('e2e-broken')) {
    report({ ...record, outcome: 'failed', status: 500 });
    answer(res, 500, { Type: 'Service', message: 'the function is broken (e2e)' }, { 'x-amzn-errortype': 'ServiceException' });
    return;
  }
  if (fn.startsWith('e2e-forbidden')) {
    report({ ...record, outcome: 'failed', status: 403 });
    answer(res, 403, { Type: 'User', Message: 'not allowed (e2e)' }, { 'x-amzn-errortype': 'AccessDeniedException' });
    return;
  }
  if (record.event?.EventType !== 'CHANNEL_MESSAGE_EVENT' || !record.event?.ChannelMessage) {
    report({ ...record, outcome: 'rejected', status: 400, reason: 'not a channel message event' });
    answer(res, 400, { message: 'not a channel message event' });
    return;
  }
  report({ ...record, outcome: 'accepted', status: 202 });
  // Lambda's answer to InvocationType Event (with the request id header it always sends).
  answer(res, 202, undefined, route === 'lambda' ? { 'x-amzn-requestid': crypto.randomUUID() } : {});
  handleEvent(record.event);
}

async function control(req, res, body) {
  let input;
  try { input = body.length ? JSON.parse(body.toString('utf8')) : {}; } catch { answer(res, 400, { message: 'bad JSON' }); return; }
  switch (req.url) {
    case '/control/chime': {
      const client = new ChimeSDKMessagingClient({
        endpoint: input.endpoint,
        region: input.region,
        credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 2_000, requestTimeout: CALLBACK_TIMEOUT_MS, throwOnRequestTimeout: true },
      });
      chime = { client };
      for (const resolve of awaitingChime.splice(0)) resolve();
      answer(res, 200, { ok: true });
      return;
    }
    case '/control/mode': {
      if (!['normal', 'stall'].includes(input.mode)) { answer(res, 400, { message: `unknown mode ${input.mode}` }); return; }
      mode = input.mode;
      if (mode === 'normal') for (const r of stalled) r.destroy();
      answer(res, 200, { ok: true, mode });
      return;
    }
    case '/control/release': {
      const event = held.get(input.callbackId);
      if (!event) { answer(res, 404, { message: `no held event with CallbackId ${input.callbackId}` }); return; }
      if (!['allow', 'rewrite', 'deny'].includes(input.action)) { answer(res, 400, { message: `unknown action ${input.action}` }); return; }
      held.delete(input.callbackId);
      answer(res, 200, await callBack(event, input.action));
      return;
    }
    default:
      answer(res, 404, { message: `no control endpoint ${req.url}` });
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const invoke = INVOKE.exec(req.url.split('?')[0]);
    if (req.method === 'POST' && invoke) {
      await invocation(req, res, 'lambda', body, { functionName: decodeURIComponent(invoke[1]), sigv4: verifySigV4(req, body) });
    } else if (req.method === 'POST' && req.url === '/webhook') {
      await invocation(req, res, 'webhook', body, { webhookSignature: verifyWebhook(req, body) });
    } else if (req.method === 'POST' && req.url.startsWith('/control/')) {
      await control(req, res, body);
    } else {
      report({ kind: 'problem', message: `unexpected request ${req.method} ${req.url}` });
      answer(res, 404, { message: `no route ${req.method} ${req.url}` });
    }
  } catch (err) {
    report({ kind: 'problem', message: err?.stack ?? String(err) });
    if (!res.headersSent) answer(res, 500, { message: String(err) });
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PROCESSOR_PORT ?? 0), '127.0.0.1', () => report({ kind: 'listening', port: server.address().port }));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.closeAllConnections?.(); server.close(() => process.exit(0)); });
