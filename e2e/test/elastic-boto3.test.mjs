// Elastic channels through boto3: py/elastic_boto3.py grows a 10 x 6 x 40 channel from 0 to 30
// members and back to 3 checking ListSubChannels at every step, fills the AWS demo's 2 x 4 x 40
// and is refused the 9th member, scopes messages to a sub-channel, and sends bad inputs; it reports
// every check. Without boto3: skipped locally with the reason, a failure when $CI is set.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_TIMEOUT_MS, PYTHON, isolatedAwsEnv, probeTool } from '../lib/cli.mjs';
import { operationHttp } from '../lib/model.mjs';
import { SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from '../lib/server.mjs';

const boto3 = await probeTool('boto3', PYTHON, ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3` (or the python3-boto3 package)');
const SCRIPT = path.join(import.meta.dirname, '..', 'py', 'elastic_boto3.py');
const OPTS = { timeout: CLI_TIMEOUT_MS + 10_000, skip: boto3.skip ?? false };

function describeRun(what, res) {
  return `${what} → exit ${res.code}${res.signal ? ` (${res.signal})` : ''}${res.timedOut ? ' TIMED OUT' : ''}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
}

describe('elastic channels through boto3', () => {
  let server;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    if (boto3.skip) return;
    server = await startBelfry();
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  let scriptResult;
  function script() {
    scriptResult ??= run(PYTHON, [SCRIPT], {
      env: { ...isolatedAwsEnv(server.credentials, server.region), E2E_ENDPOINT: server.endpoint, E2E_ACCOUNT: server.accountId },
      timeoutMs: CLI_TIMEOUT_MS,
    }).then((res) => {
      let report;
      try {
        report = JSON.parse(res.stdout);
      } catch {
        assert.fail(`elastic_boto3.py printed no JSON report\n${describeRun(`${PYTHON} elastic_boto3.py`, res)}`);
      }
      return { res, report };
    });
    return scriptResult;
  }

  test('boto3: every check of elastic_boto3.py passes', OPTS, withOutput(async () => {
    if (boto3.failure) assert.fail(boto3.failure);
    const { res, report: { checks } } = await script();
    const failed = checks.filter((c) => !c.ok);
    assert.ok(checks.length > 80, `only ${checks.length} checks ran`);
    assert.deepEqual(failed, [], `${failed.length} of ${checks.length} boto3 checks failed\n${res.stderr}`);
    assert.equal(res.code, 0, describeRun(`${PYTHON} elastic_boto3.py`, res));
  }));

  test('boto3: the script used the elastic-channel operations', OPTS, withOutput(async () => {
    if (boto3.failure) assert.fail(boto3.failure);
    const { report: { operations } } = await script();
    for (const op of operations) assert.ok(operationHttp('messaging', op), `${op} is not a messaging operation`);
    for (const op of ['CreateChannel', 'DescribeChannel', 'ListChannels', 'CreateChannelMembership', 'BatchCreateChannelMembership',
      'DeleteChannelMembership', 'ListChannelMemberships', 'DescribeChannelMembership', 'ListSubChannels', 'SendChannelMessage',
      'GetChannelMessage', 'ListChannelMessages', 'UpdateChannelMessage']) {
      assert.ok(operations.includes(op), `${op} not called: ${JSON.stringify(operations)}`);
    }
  }));
});
