// The Identity API through boto3 (py/identity_boto3.py drives all 30 operations and reports each
// check) and the AWS CLI. Missing tools: skipped locally with the reason, a failure when $CI is set.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_TIMEOUT_MS, isolatedAwsEnv, probeTool } from '../lib/cli.mjs';
import { operationHttp } from '../lib/model.mjs';
import { SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from '../lib/server.mjs';

const awsCli = await probeTool('The AWS CLI (`aws`)', 'aws', ['--version'], 'install the AWS CLI (e.g. `pip install awscli`)');
const boto3 = await probeTool('boto3', 'python3', ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3`');
const SCRIPT = path.join(import.meta.dirname, '..', 'py', 'identity_boto3.py');

function needs(tool, fn) {
  return [
    { timeout: CLI_TIMEOUT_MS + 10_000, skip: tool.skip ?? false },
    async (t) => {
      if (tool.failure) assert.fail(tool.failure);
      await fn(t);
    },
  ];
}

function describeRun(what, res) {
  return `${what} → exit ${res.code}${res.signal ? ` (${res.signal})` : ''}${res.timedOut ? ' TIMED OUT' : ''}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
}

describe('Identity API through boto3 and the AWS CLI', () => {
  let server;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    if (awsCli.skip && boto3.skip) return;
    server = await startBelfry();
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  let scriptResult;
  function script() {
    scriptResult ??= run('python3', [SCRIPT], {
      env: { ...isolatedAwsEnv(server.credentials, server.region), E2E_ENDPOINT: server.endpoint, E2E_ACCOUNT: server.accountId },
      timeoutMs: CLI_TIMEOUT_MS,
    }).then((res) => {
      assert.equal(res.code, 0, describeRun('python3 identity_boto3.py', res));
      try {
        return JSON.parse(res.stdout);
      } catch {
        return assert.fail(`identity_boto3.py printed no JSON\n${describeRun('python3 identity_boto3.py', res)}`);
      }
    });
    return scriptResult;
  }

  test('boto3: every check of identity_boto3.py passes', ...needs(boto3, withOutput(async () => {
    const { checks } = await script();
    const failed = checks.filter((c) => !c.ok);
    assert.ok(checks.length > 50, `only ${checks.length} checks ran`);
    assert.deepEqual(failed, [], `${failed.length} of ${checks.length} boto3 checks failed`);
  })));

  test('boto3: the script called all 30 identity operations', ...needs(boto3, withOutput(async () => {
    const { operations } = await script();
    assert.equal(operations.length, 30, JSON.stringify(operations));
    for (const op of operations) assert.ok(operationHttp('identity', op), `${op} is not an identity operation`);
  })));

  test('aws chime-sdk-identity: create, describe, list users, errors', ...needs(awsCli, withOutput(async () => {
    const aws = async (args) => {
      const argv = ['chime-sdk-identity', ...args, '--endpoint-url', server.endpoint, '--output', 'json'];
      const res = await run('aws', argv, { env: isolatedAwsEnv(server.credentials, server.region), timeoutMs: CLI_TIMEOUT_MS });
      return { ...res, describe: () => describeRun(`aws ${argv.join(' ')}`, res) };
    };
    let res = await aws(['create-app-instance', '--name', 'cli']);
    assert.equal(res.code, 0, res.describe());
    const app = JSON.parse(res.stdout).AppInstanceArn;
    res = await aws(['create-app-instance-user', '--app-instance-arn', app, '--app-instance-user-id', 'cli-user', '--name', 'CLI User']);
    assert.equal(res.code, 0, res.describe());
    const user = JSON.parse(res.stdout).AppInstanceUserArn;
    res = await aws(['describe-app-instance-user', '--app-instance-user-arn', user]);
    assert.equal(res.code, 0, res.describe());
    assert.equal(JSON.parse(res.stdout).AppInstanceUser.Name, 'CLI User');
    res = await aws(['list-app-instance-users', '--app-instance-arn', app]);
    assert.equal(res.code, 0, res.describe());
    assert.deepEqual(JSON.parse(res.stdout).AppInstanceUsers.map((u) => u.AppInstanceUserArn), [user]);
    res = await aws(['create-app-instance-user', '--app-instance-arn', app, '--app-instance-user-id', 'cli-user', '--name', 'again']);
    assert.notEqual(res.code, 0, res.describe());
    assert.match(res.stderr, /ConflictException/, res.describe());
    res = await aws(['delete-app-instance', '--app-instance-arn', app]);
    assert.equal(res.code, 0, res.describe());
    res = await aws(['describe-app-instance', '--app-instance-arn', app]);
    assert.match(res.stderr, /NotFoundException/, res.describe());
  })));
});
