// Drive the unmodified amazon-chime-sdk-js DefaultMessagingSession (the messaging-session
// websocket) against a Belfry server from Node.
//
//   trustBelfryCA(server)                          // global WebSocket (ws) trusting <data-dir>/tls/ca.pem
//   const s = await openSession(server, userArn)   // start() resolved: SESSION_ESTABLISHED arrived
//   await s.waitForMessage((m) => m.type === 'CREATE_CHANNEL_MESSAGE' && …, 'what')
//   s.stop(); await s.stopped
//
// The SDK calls `new WebSocket(url, [])` on the global, so Node 20 (which has none) needs one. It
// is the `ws` package's class, subclassed only to add the server's CA to the TLS options (the CA
// is created when the server starts) and to record every URL dialled, so a test can count
// connection attempts. CloseEvent, which the SDK constructs on some reconnect paths and Node 20
// lacks, is polyfilled too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ChimeSDKMessagingClient } from '@aws-sdk/client-chime-sdk-messaging';
import chime from 'amazon-chime-sdk-js'; // CommonJS: the namespace object
import WebSocketImpl from 'ws';
import { REQUEST_TIMEOUT_MS } from './server.mjs';

export const { DefaultMessagingSession, MessagingSessionConfiguration, NoOpLogger, ConsoleLogger, LogLevel, PrefetchOn, PrefetchSortBy } = chime;

/** How long one wait for a session event may take before the test fails. */
export const EVENT_TIMEOUT_MS = 8_000;

/** Every URL the SDK handed to `new WebSocket` in this process, in order. */
export const dialled = [];
let trustedCA;

class BelfryWebSocket extends WebSocketImpl {
  constructor(url, protocols, options = {}) {
    dialled.push(String(url));
    super(url, protocols, { ...options, ...(trustedCA ? { ca: trustedCA } : {}) });
  }
}

if (typeof globalThis.CloseEvent === 'undefined') {
  globalThis.CloseEvent = class CloseEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.code = init.code ?? 0;
      this.reason = init.reason ?? '';
      this.wasClean = init.wasClean ?? false;
    }
  };
}

/**
 * Make the global WebSocket the `ws` class trusting the server's generated CA
 * (`<data-dir>/tls/ca.pem`). Call after startBelfry(): the CA exists once the server is up.
 */
export function trustBelfryCA(server) {
  const file = path.join(server.dataDir, 'tls', 'ca.pem');
  assert.ok(fs.existsSync(file), `the server created no CA at ${file}`);
  trustedCA = fs.readFileSync(file, 'utf8');
  globalThis.WebSocket = BelfryWebSocket;
}

/** The query parameters of a dialled URL, decoded. */
export function dialledQuery(url) {
  return Object.fromEntries(new URL(url).searchParams);
}

/** The URLs dialled for one sessionId. */
export function dialledFor(sessionId) {
  return dialled.filter((u) => dialledQuery(u).sessionId === sessionId);
}

/**
 * A real ChimeSDKMessagingClient for the session (the SDK calls GetMessagingSessionEndpoint through
 * it and reads config.region / config.credentials to presign the URL).
 */
export function sessionClient(server, credentials = server.credentials) {
  return new ChimeSDKMessagingClient({
    endpoint: server.endpoint,
    region: server.region,
    credentials,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
}

let sessionCounter = 0;

/**
 * A DefaultMessagingSession with an observer that records everything, in arrival order:
 *   { kind: 'connecting', reconnecting } | { kind: 'start' } | { kind: 'stop', code, reason }
 *   | { kind: 'message', type, headers, payload (string|null), json (parsed payload or undefined) }
 * `start()` is not called; see openSession.
 */
export function createSession(userArn, chimeClient, { label = userArn.split('/').pop(), prefetchOn, prefetchSortBy, logger } = {}) {
  const sessionId = `e2e-${process.pid}-${++sessionCounter}`;
  const configuration = new MessagingSessionConfiguration(userArn, sessionId, undefined, chimeClient);
  if (prefetchOn !== undefined) configuration.prefetchOn = prefetchOn;
  if (prefetchSortBy !== undefined) configuration.prefetchSortBy = prefetchSortBy;
  const session = new DefaultMessagingSession(configuration, logger ?? new NoOpLogger());

  const events = [];
  const waiters = new Set();
  let resolveStopped;
  const stopped = new Promise((r) => { resolveStopped = r; });
  const record = (ev) => {
    events.push(ev);
    for (const w of waiters) w.check();
  };
  session.addObserver({
    messagingSessionDidStartConnecting: (reconnecting) => record({ kind: 'connecting', reconnecting }),
    messagingSessionDidStart: () => record({ kind: 'start' }),
    messagingSessionDidReceiveMessage: (message) => {
      let json;
      if (typeof message.payload === 'string') {
        try { json = JSON.parse(message.payload); } catch { json = undefined; }
      }
      record({ kind: 'message', type: message.type, headers: message.headers, payload: message.payload, json });
    },
    messagingSessionDidStop: (event) => {
      const ev = { kind: 'stop', code: event?.code, reason: event?.reason };
      record(ev);
      resolveStopped(ev);
    },
  });

  const describeEvents = () => events.map((e) => (e.kind === 'message'
    ? `  message ${e.type} headers=${JSON.stringify(e.headers)} payload=${(e.payload ?? 'null').slice(0, 400)}`
    : `  ${JSON.stringify(e)}`)).join('\n') || '  (nothing)';

  /** Resolve the first recorded event matching `pred` (already recorded or later). */
  function waitFor(pred, what, { timeoutMs = EVENT_TIMEOUT_MS } = {}) {
    const found = events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        check() {
          const ev = events.find(pred);
          if (ev) { waiters.delete(w); clearTimeout(timer); resolve(ev); }
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new assert.AssertionError({
          message: `${label} (sessionId ${sessionId}): no ${what} within ${timeoutMs} ms; received so far:\n${describeEvents()}`,
        }));
      }, timeoutMs);
      waiters.add(w);
    });
  }

  const messages = () => events.filter((e) => e.kind === 'message');
  return {
    session,
    sessionId,
    userArn,
    label,
    events,
    messages,
    describeEvents,
    stopped,
    waitFor,
    /** Wait for a received message (frame) matching `pred(message)`. */
    waitForMessage: (pred, what, opts) => waitFor((e) => e.kind === 'message' && pred(e), what, opts),
    /** Messages of one event type whose parsed payload has the given ChannelArn (and MessageId). */
    waitForEvent: (type, { ChannelArn, MessageId } = {}, opts) => waitFor(
      (e) => e.kind === 'message' && e.type === type
        && (ChannelArn === undefined || e.json?.ChannelArn === ChannelArn)
        && (MessageId === undefined || e.json?.MessageId === MessageId),
      `${type}${ChannelArn ? ` on ${ChannelArn.split('/').pop()}` : ''}${MessageId ? ` for message ${MessageId.slice(0, 12)}…` : ''}`,
      opts,
    ),
    /** Fail if any message recorded so far matches `pred`. */
    assertNone(pred, what) {
      const bad = messages().filter(pred);
      assert.equal(bad.length, 0, `${label} must not have received ${what}, but got:\n${bad.map((e) => `  ${e.type} ${e.payload}`).join('\n')}\nall received:\n${describeEvents()}`);
    },
    /** start(), bounded: resolves once SESSION_ESTABLISHED arrived, rejects with the SDK's rejection. */
    start({ timeoutMs = EVENT_TIMEOUT_MS } = {}) {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new assert.AssertionError({
          message: `${label} (sessionId ${sessionId}): start() did not settle within ${timeoutMs} ms; events:\n${describeEvents()}\ndialled:\n${dialledFor(sessionId).join('\n')}`,
        })), timeoutMs);
      });
      return Promise.race([session.start(), timeout]).finally(() => clearTimeout(timer));
    },
    stop: () => session.stop(),
  };
}

/** createSession + start(); fails the test if start() does not resolve. */
export async function openSession(server, userArn, { client, ...opts } = {}) {
  const s = createSession(userArn, client ?? sessionClient(server), opts);
  try {
    await s.start();
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.fail(`${s.label}: start() rejected: code=${err?.code} reason=${err?.reason} ${err?.stack ?? ''}\nevents:\n${s.describeEvents()}`);
  }
  // start() resolves synchronously on SESSION_ESTABLISHED; the SDK calls observers on a later tick.
  await s.waitForMessage((m) => m.type === 'SESSION_ESTABLISHED', 'SESSION_ESTABLISHED delivered to the observer');
  return s;
}

/**
 * A REST response object in the form the websocket carries it: Dates become ISO-8601 strings with
 * milliseconds, undefined members and $metadata are dropped (what a JSON payload would omit).
 */
export function toWire(value) {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$metadata' || v === undefined) continue;
      out[k] = toWire(v);
    }
    return out;
  }
  return value;
}
