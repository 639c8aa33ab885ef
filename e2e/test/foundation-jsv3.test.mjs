// Foundation checks through the unmodified AWS SDK for JavaScript v3: signing, the AWS error wire
// format, request ids, input validation, and routing of percent-encoded ARNs in paths.
//
// The server is fresh and empty: no app instance, user or channel exists. Every messaging call
// below therefore names resources that do not exist, so none of them may succeed — now (while the
// operation answers NotImplementedException) or later (when it applies the Chime rules).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { BadRequestException, ListAppInstancesCommand } from '@aws-sdk/client-chime-sdk-identity';
import {
  BatchCreateChannelMembershipCommand,
  DescribeChannelCommand,
  GetChannelMessageStatusCommand,
  ListChannelMessagesCommand,
  RedactChannelMessageCommand,
} from '@aws-sdk/client-chime-sdk-messaging';
import {
  assertAwsError,
  assertParseableAwsError,
  assertRequestId,
  describeError,
  editRequests,
  identityClient,
  messagingClient,
  recordRequests,
  rejection,
  send,
  success,
} from '../lib/aws.mjs';
import { modeledErrors, modeledStatus, SPEC_MISSING } from '../lib/model.mjs';
import {
  ACCOUNT_ID,
  REGION,
  REQUEST_TIMEOUT_MS,
  SETUP_TIMEOUT_MS,
  STOP_TIMEOUT_MS,
  startBelfry,
  tlsPeerCertificate,
  withServerOutput,
} from '../lib/server.mjs';

const TEST_TIMEOUT = { timeout: 3 * REQUEST_TIMEOUT_MS };

// Well-formed ARNs (they match the models' ChimeArn pattern) of things that do not exist.
const appInstanceArn = `arn:aws:chime:${REGION}:${ACCOUNT_ID}:app-instance/${crypto.randomUUID()}`;
const channelArn = `${appInstanceArn}/channel/${crypto.randomUUID()}`;
const bearerArn = `${appInstanceArn}/user/e2e-alice`;
const otherUserArn = `${appInstanceArn}/user/e2e-bob`;
const messageId = 'e2e-message-0001';

/**
 * Errors a well-formed request about resources that do not exist may honestly get from
 * `operation`: the exceptions the model declares for it, minus
 *   - BadRequestException: the input is valid, so a BadRequest here means the server misread it
 *     (typically a mangled %2F/%3A ARN label);
 *   - ThrottledClientException, ServiceFailureException, ServiceUnavailableException: a fresh,
 *     idle server has no reason to throttle or fail;
 * plus
 *   - NotFoundException, which semantics.md §8.3 allows for a missing channel even where the
 *     operation does not model it;
 *   - NotImplementedException (501), while the operation is not built yet.
 */
function honestErrorsFor(operation) {
  const excluded = new Set(['BadRequestException', 'ThrottledClientException', 'ServiceFailureException', 'ServiceUnavailableException']);
  const names = new Set(modeledErrors('messaging', operation).filter((n) => !excluded.has(n)));
  names.add('NotFoundException');
  names.add('NotImplementedException');
  return names;
}

/** The status each allowed exception must travel with. */
function expectedStatus(name) {
  return name === 'NotImplementedException' ? 501 : modeledStatus('messaging', name);
}

/**
 * Assert `err` is one of the answers honestly possible for `operation` on an empty server, with
 * the status that exception has, parseable by the SDK. While the operation is not implemented the
 * message must name it: the only outside evidence that the router picked this operation and not a
 * sibling on the same path (GetChannelMessage vs GetChannelMessageStatus, CreateChannelMembership
 * vs BatchCreateChannelMembership).
 */
function assertHonestFailure(err, operation) {
  const detail = `${operation}: ${describeError(err)}`;
  assertParseableAwsError(err, operation);
  assert.notEqual(err.name, 'UnknownOperationException', `the server did not route the request to ${operation} — ${detail}`);
  const allowed = honestErrorsFor(operation);
  assert.ok(
    allowed.has(err.name),
    `${err.name} is not an honest answer to ${operation} on an empty server; expected one of ${[...allowed].join(', ')} — ${detail}`,
  );
  assert.equal(err.$metadata.httpStatusCode, expectedStatus(err.name), `wrong status for ${err.name} — ${detail}`);
  if (err.name === 'NotImplementedException') {
    assert.match(err.message, new RegExp(`\\b${operation}\\b`), `NotImplementedException should name the operation it was routed to — ${detail}`);
  }
}

describe('foundation through the AWS SDK for JavaScript v3', () => {
  let server;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    server = await startBelfry();
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    await server?.stop();
  }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('ListAppInstances with the root credential succeeds: 200, an empty array, a request id', TEST_TIMEOUT, withOutput(async () => {
    const out = await success(send(identityClient(server), new ListAppInstancesCommand({})), 'ListAppInstances');
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.ok(Array.isArray(out.AppInstances), `AppInstances is not an array: ${JSON.stringify(out)}`);
    assert.deepEqual(out.AppInstances, [], 'a fresh server has no app instances');
    assertRequestId(out.$metadata, 'ListAppInstances success');
  }));

  test('a wrong secret key is rejected with 403 InvalidSignatureException', TEST_TIMEOUT, withOutput(async () => {
    const client = identityClient(server, {
      credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: `${server.credentials.secretAccessKey}x` },
    });
    const err = await rejection(send(client, new ListAppInstancesCommand({})), 'ListAppInstances with a wrong secret');
    assertAwsError(err, { name: 'InvalidSignatureException', status: 403 }, 'wrong secret');
    assertParseableAwsError(err, 'wrong secret');
  }));

  test('an unknown access key is rejected with 403 UnrecognizedClientException', TEST_TIMEOUT, withOutput(async () => {
    const client = identityClient(server, {
      credentials: { accessKeyId: 'AKIAE2EUNKNOWNKEY000', secretAccessKey: server.credentials.secretAccessKey },
    });
    const err = await rejection(send(client, new ListAppInstancesCommand({})), 'ListAppInstances with an unknown access key');
    assertAwsError(err, { name: 'UnrecognizedClientException', status: 403 }, 'unknown access key');
    assertParseableAwsError(err, 'unknown access key');
  }));

  test('an unsigned request gets 403 MissingAuthenticationTokenException in the AWS error format', TEST_TIMEOUT, withOutput(async () => {
    const res = await fetch(`${server.endpoint}/app-instances`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    const detail = `HTTP ${res.status}, headers ${JSON.stringify(Object.fromEntries(res.headers))}, body ${text}`;
    assert.equal(res.status, 403, detail);
    const errorType = res.headers.get('x-amzn-errortype');
    assert.equal(errorType?.split(':')[0], 'MissingAuthenticationTokenException', detail);
    assert.ok(res.headers.get('x-amzn-requestid'), `no x-amzn-RequestId — ${detail}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/(x-amz-)?json/, detail);
    let body;
    assert.doesNotThrow(() => { body = JSON.parse(text); }, `error body is not JSON — ${detail}`);
    assert.equal(body.Code, 'MissingAuthenticationToken', `body Code should be the exception name without "Exception" — ${detail}`);
    assert.equal(typeof body.Message, 'string', detail);
  }));

  test('ListAppInstances MaxResults=51 → 400 BadRequestException naming MaxResults', TEST_TIMEOUT, withOutput(async () => {
    // The JS v3 SDK validates nothing client-side, so 51 reaches the server (the model says 1..50).
    const err = await rejection(send(identityClient(server), new ListAppInstancesCommand({ MaxResults: 51 })), 'ListAppInstances MaxResults=51');
    assertAwsError(err, { name: 'BadRequestException', status: 400 }, 'MaxResults=51');
    assertParseableAwsError(err, 'MaxResults=51');
    assert.ok(err instanceof BadRequestException, `the SDK did not map the answer to its modeled BadRequestException class — ${describeError(err)}`);
    assert.match(err.message, /MaxResults/, `the message should name the member — ${describeError(err)}`);
    assert.equal(err.Code, 'BadRequest', `body Code should be the ErrorCode enum value — ${describeError(err)}`);
  }));

  test('DescribeChannel of a channel that does not exist fails honestly (NotImplemented until built, never a success)', { ...TEST_TIMEOUT, skip: SPEC_MISSING }, withOutput(async () => {
    const client = messagingClient(server);
    const err = await rejection(
      send(client, new DescribeChannelCommand({ ChannelArn: channelArn, ChimeBearer: bearerArn })),
      'DescribeChannel of a non-existent channel by a non-existent bearer',
    );
    assertHonestFailure(err, 'DescribeChannel');
  }));

  // Each of these carries a channel ARN as a path label; the SDK sends it with ':' and '/' as %3A
  // and %2F. The last three share their path with a sibling operation and differ only by the
  // query discriminator or method.
  const encodedPathCases = [
    ['ListChannelMessages', () => new ListChannelMessagesCommand({ ChannelArn: channelArn, ChimeBearer: bearerArn, MaxResults: 10 })],
    ['GetChannelMessageStatus', () => new GetChannelMessageStatusCommand({ ChannelArn: channelArn, MessageId: messageId, ChimeBearer: bearerArn })],
    ['RedactChannelMessage', () => new RedactChannelMessageCommand({ ChannelArn: channelArn, MessageId: messageId, ChimeBearer: bearerArn })],
    ['BatchCreateChannelMembership', () => new BatchCreateChannelMembershipCommand({ ChannelArn: channelArn, MemberArns: [otherUserArn], ChimeBearer: bearerArn })],
  ];
  for (const [operation, command] of encodedPathCases) {
    test(`${operation}: a %3A/%2F-encoded channel ARN in the path routes to ${operation}`, { ...TEST_TIMEOUT, skip: SPEC_MISSING }, withOutput(async () => {
      const client = messagingClient(server);
      const sent = recordRequests(client);
      const err = await rejection(send(client, command()), `${operation} on a non-existent channel`);
      assert.equal(sent.length, 1);
      // Make sure this test exercises what it claims to: the ARN went out percent-encoded.
      const encodedArn = encodeURIComponent(channelArn);
      assert.ok(sent[0].path.includes(`/channels/${encodedArn}`), `the SDK did not send the ARN percent-encoded: ${sent[0].path}`);
      assert.match(encodedArn, /%3A.*%2F/);
      assertHonestFailure(err, operation);
    }));
  }

  test('control: a path no operation has is answered with UnknownOperationException (so the routing tests above can fail)', TEST_TIMEOUT, withOutput(async () => {
    const client = messagingClient(server);
    editRequests(client, (request) => {
      request.path = `/channels/${encodeURIComponent(channelArn)}/no-such-collection`;
    });
    const err = await rejection(
      send(client, new ListChannelMessagesCommand({ ChannelArn: channelArn, ChimeBearer: bearerArn })),
      'GET /channels/{arn}/no-such-collection',
    );
    assertParseableAwsError(err, 'unknown path');
    assert.equal(err.name, 'UnknownOperationException', describeError(err));
    const status = err.$metadata.httpStatusCode;
    assert.ok(status >= 400 && status < 500, `an unknown operation is the client's mistake, expected 4xx — ${describeError(err)}`);
  }));

  test('the TLS listener completes a handshake with a certificate for 127.0.0.1', TEST_TIMEOUT, withOutput(async () => {
    const cert = await tlsPeerCertificate(server.tlsEndpoint);
    assert.ok(cert && Object.keys(cert).length > 0, 'no peer certificate');
    assert.match(cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1\b/, `certificate SANs: ${cert.subjectaltname}`);
  }));

  test('SIGTERM stops the server with exit code 0, and the root secret never appeared in its output', { timeout: STOP_TIMEOUT_MS + 5_000 }, withOutput(async () => {
    const { code, signal } = await server.stop();
    assert.equal(signal, null, 'the server was killed by a signal instead of exiting');
    assert.equal(code, 0, 'the server did not exit cleanly after SIGTERM');
    const { stdout, stderr } = server.output();
    const secret = server.credentials.secretAccessKey;
    assert.ok(!stdout.includes(secret), 'the root secret access key appears in the server stdout');
    assert.ok(!stderr.includes(secret), 'the root secret access key appears in the server stderr');
  }));
});
