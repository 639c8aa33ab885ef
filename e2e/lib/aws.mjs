// Helpers for driving the unmodified AWS SDK for JavaScript v3 against a Belfry server.

import assert from 'node:assert/strict';
import { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { ChimeSDKMessagingClient } from '@aws-sdk/client-chime-sdk-messaging';
import { REQUEST_TIMEOUT_MS } from './server.mjs';

function clientConfig(server, overrides) {
  return {
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    // One attempt: a test must see the server's first answer, not a retry's.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    ...overrides,
  };
}

/** A ChimeSDKIdentityClient aimed at `server` with its root credential (override anything). */
export function identityClient(server, overrides = {}) {
  return new ChimeSDKIdentityClient(clientConfig(server, overrides));
}

/** A ChimeSDKMessagingClient aimed at `server` with its root credential (override anything). */
export function messagingClient(server, overrides = {}) {
  return new ChimeSDKMessagingClient(clientConfig(server, overrides));
}

/** client.send(command) that is aborted after `timeoutMs` whatever happens on the wire. */
export function send(client, command, { timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  return client.send(command, { abortSignal: AbortSignal.timeout(timeoutMs) });
}

/**
 * Record every HTTP request the client sends, as signed (after the finalize step), so a test can
 * show what actually went over the wire. Returns the (live) array of
 * { method, path, query, headers }.
 */
export function recordRequests(client) {
  const seen = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request;
      seen.push({ method: r.method, path: r.path, query: { ...r.query }, headers: { ...r.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'e2eRecordRequests', priority: 'low' },
  );
  return seen;
}

/**
 * Rewrite the request before it is signed (build step), e.g. to send a path no operation has.
 * `edit(request)` mutates the smithy HttpRequest in place.
 */
export function editRequests(client, edit) {
  client.middlewareStack.add(
    (next) => async (args) => {
      edit(args.request);
      return next(args);
    },
    { step: 'build', name: 'e2eEditRequests', priority: 'low' },
  );
}

/** One line describing an SDK error: name, status, request id, message, error-type header. */
export function describeError(err) {
  if (!err || typeof err !== 'object') return `non-object rejection: ${String(err)}`;
  const headers = err.$response?.headers ?? {};
  return JSON.stringify({
    name: err.name,
    httpStatusCode: err.$metadata?.httpStatusCode,
    requestId: err.$metadata?.requestId,
    fault: err.$fault,
    message: err.message,
    bodyCode: err.Code,
    'x-amzn-errortype': headers['x-amzn-errortype'],
    'content-type': headers['content-type'],
  });
}

/** Await `promise`, which must resolve; if it rejects, fail with the error described. */
export async function success(promise, what) {
  try {
    return await promise;
  } catch (err) {
    assert.fail(`${what}: expected success, got ${err?.$metadata ? describeError(err) : err?.stack ?? err}`);
  }
}

/**
 * Await `promise`, which must reject with an AWS service error; returns that error.
 * Fails with a readable message if it resolves, or rejects with something that is not a service
 * error answered by the server (a network error, a timeout, an unparseable response).
 */
export async function rejection(promise, what) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.ok(
      err?.$metadata?.httpStatusCode,
      `${what}: expected an HTTP error response from the server, got a client-side failure: ${err?.stack ?? err}`,
    );
    return err;
  }
  const { $metadata, ...rest } = result ?? {};
  assert.fail(`${what}: expected an error, but the call succeeded (HTTP ${$metadata?.httpStatusCode}) with ${JSON.stringify(rest)}`);
}

/** Assert an SDK error is the named exception with the given status and a request id. */
export function assertAwsError(err, { name, status }, what) {
  const detail = `${what}: ${describeError(err)}`;
  assert.equal(err.name, name, `wrong exception name — ${detail}`);
  assert.equal(err.$metadata?.httpStatusCode, status, `wrong HTTP status — ${detail}`);
  assertRequestId(err.$metadata, detail);
}

/** $metadata.requestId comes from the x-amzn-RequestId header; it must be there on every answer. */
export function assertRequestId(metadata, detail) {
  assert.ok(
    typeof metadata?.requestId === 'string' && metadata.requestId.length > 0,
    `missing x-amzn-RequestId ($metadata.requestId is ${JSON.stringify(metadata?.requestId)}) — ${detail}`,
  );
}

/**
 * Assert that an error is an AWS error the SDK could parse: the server named it (header
 * x-amzn-ErrorType), sent a JSON body with a message, and a request id. Rules out "Unknown"/
 * "UnknownError" names, which the SDK invents when neither header nor body names the error, and
 * deserialisation failures (no $metadata from the service, "Deserialization error" hint).
 */
export function assertParseableAwsError(err, what) {
  const detail = `${what}: ${describeError(err)}`;
  assert.ok(err.$metadata?.httpStatusCode, `no HTTP status — ${detail}`);
  assert.ok(!/Deserialization error/.test(err.message ?? ''), `the SDK could not deserialize the error response — ${detail}`);
  assert.ok(err.name && !['Unknown', 'UnknownError', 'Error'].includes(err.name), `the SDK could not tell which error this is — ${detail}`);
  const header = err.$response?.headers?.['x-amzn-errortype'];
  assert.ok(header, `no x-amzn-ErrorType header on the error response — ${detail}`);
  assert.equal(header.split(':')[0], err.name, `x-amzn-ErrorType disagrees with the parsed error name — ${detail}`);
  assert.ok(typeof err.message === 'string' && err.message.length > 0, `empty error message — ${detail}`);
  assertRequestId(err.$metadata, detail);
}
