// Foundation checks through the AWS CLI and boto3: the same signing, error-format and validation
// behaviour as foundation-jsv3, seen by botocore (which reads x-amzn-ErrorType before the body).
//
// Missing tools: skipped locally with the reason, a failure when $CI is set.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI_TIMEOUT_MS, PYTHON, isolatedAwsEnv, probeTool } from '../lib/cli.mjs';
import { SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from '../lib/server.mjs';

const awsCli = await probeTool('The AWS CLI (`aws`)', 'aws', ['--version'], 'install the AWS CLI (e.g. `pip install awscli`)');
const boto3 = await probeTool('boto3', PYTHON, ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3`');

const CLI_TEST = { timeout: CLI_TIMEOUT_MS + 10_000 };

/** Test options and body for a test that needs `tool`: skipped or failed as probeTool decided. */
function needs(tool, fn) {
  return [
    { ...CLI_TEST, skip: tool.skip ?? false },
    async (t) => {
      if (tool.failure) assert.fail(tool.failure);
      await fn(t);
    },
  ];
}

function describeRun(what, res) {
  return `${what} → exit ${res.code}${res.signal ? ` (${res.signal})` : ''}${res.timedOut ? ' TIMED OUT' : ''}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
}

// One boto3 session, three calls; each test below checks one of them.
const BOTO3_SCRIPT = String.raw`
import json, os
import boto3, botocore.config, botocore.exceptions

cfg = botocore.config.Config(retries={'total_max_attempts': 1, 'mode': 'standard'}, connect_timeout=5, read_timeout=10)
secret = os.environ['AWS_SECRET_ACCESS_KEY']

def client(secret_key):
    return boto3.session.Session().client(
        'chime-sdk-identity',
        endpoint_url=os.environ['E2E_ENDPOINT'],
        region_name=os.environ['AWS_DEFAULT_REGION'],
        aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
        aws_secret_access_key=secret_key,
        config=cfg,
    )

out = {}
def call(name, fn):
    try:
        r = fn()
        out[name] = {'ok': True, 'status': r['ResponseMetadata']['HTTPStatusCode'],
                     'requestId': r['ResponseMetadata'].get('RequestId'), 'AppInstances': r.get('AppInstances')}
    except botocore.exceptions.ClientError as e:
        out[name] = {'ok': False, 'code': e.response['Error'].get('Code'), 'message': e.response['Error'].get('Message'),
                     'status': e.response['ResponseMetadata'].get('HTTPStatusCode'),
                     'requestId': e.response['ResponseMetadata'].get('RequestId')}

call('list', lambda: client(secret).list_app_instances())
call('maxResults51', lambda: client(secret).list_app_instances(MaxResults=51))
call('wrongSecret', lambda: client(secret + 'x').list_app_instances())
print(json.dumps(out))
`;

describe('foundation through the AWS CLI and boto3', () => {
  let server;
  const withOutput = (fn) => withServerOutput(() => server, fn);

  before(async () => {
    if (awsCli.skip && boto3.skip) return; // nothing will run
    server = await startBelfry();
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    await server?.stop();
  }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  /** Run `aws <args> --endpoint-url … --output json` with only `credentials` visible. */
  function aws(args, credentials = server.credentials) {
    const argv = [...args, '--endpoint-url', server.endpoint, '--output', 'json'];
    return run('aws', argv, { env: isolatedAwsEnv(credentials, server.region), timeoutMs: CLI_TIMEOUT_MS })
      .then((res) => ({ ...res, describe: () => describeRun(`aws ${argv.join(' ')}`, res) }));
  }

  let botoResult;
  /** The boto3 script's JSON result, run once. */
  function boto() {
    botoResult ??= run(PYTHON, ['-c', BOTO3_SCRIPT], {
      env: { ...isolatedAwsEnv(server.credentials, server.region), E2E_ENDPOINT: server.endpoint },
      timeoutMs: CLI_TIMEOUT_MS,
    }).then((res) => {
      assert.equal(res.code, 0, describeRun('python3 boto3 script', res));
      try {
        return JSON.parse(res.stdout);
      } catch {
        assert.fail(`boto3 script printed no JSON\n${describeRun('python3 boto3 script', res)}`);
      }
    });
    return botoResult;
  }

  test('aws chime-sdk-identity list-app-instances succeeds with an empty list', ...needs(awsCli, withOutput(async () => {
    const res = await aws(['chime-sdk-identity', 'list-app-instances']);
    assert.equal(res.code, 0, res.describe());
    let out;
    assert.doesNotThrow(() => { out = JSON.parse(res.stdout); }, `stdout is not JSON\n${res.describe()}`);
    assert.deepEqual(out.AppInstances, [], res.describe());
  })));

  test('aws with a wrong secret fails with InvalidSignatureException', ...needs(awsCli, withOutput(async () => {
    const wrong = { accessKeyId: server.credentials.accessKeyId, secretAccessKey: `${server.credentials.secretAccessKey}x` };
    const res = await aws(['chime-sdk-identity', 'list-app-instances'], wrong);
    assert.notEqual(res.code, 0, `expected a failure\n${res.describe()}`);
    assert.match(res.stderr, /InvalidSignatureException/, res.describe());
  })));

  test('aws list-app-instances --max-results 51 fails with BadRequestException naming MaxResults', ...needs(awsCli, withOutput(async () => {
    // botocore checks only lower bounds client-side, so 51 (model: 1..50) reaches the server.
    const res = await aws(['chime-sdk-identity', 'list-app-instances', '--max-results', '51']);
    assert.notEqual(res.code, 0, `expected a failure\n${res.describe()}`);
    assert.match(res.stderr, /BadRequestException/, res.describe());
    assert.match(res.stderr, /MaxResults/, res.describe());
  })));

  test('boto3 list_app_instances succeeds: 200, empty list, request id', ...needs(boto3, withOutput(async () => {
    const { list } = await boto();
    assert.ok(list?.ok, `list_app_instances failed: ${JSON.stringify(list)}`);
    assert.equal(list.status, 200, JSON.stringify(list));
    assert.deepEqual(list.AppInstances, [], JSON.stringify(list));
    assert.ok(list.requestId, `no x-amzn-RequestId: ${JSON.stringify(list)}`);
  })));

  test('boto3 list_app_instances(MaxResults=51) → Error.Code BadRequestException, 400', ...needs(boto3, withOutput(async () => {
    const { maxResults51: r } = await boto();
    assert.equal(r?.ok, false, `expected a ClientError: ${JSON.stringify(r)}`);
    assert.equal(r.code, 'BadRequestException', JSON.stringify(r));
    assert.equal(r.status, 400, JSON.stringify(r));
    assert.match(r.message ?? '', /MaxResults/, JSON.stringify(r));
    assert.ok(r.requestId, `no x-amzn-RequestId: ${JSON.stringify(r)}`);
  })));

  test('boto3 with a wrong secret → Error.Code InvalidSignatureException, 403', ...needs(boto3, withOutput(async () => {
    const { wrongSecret: r } = await boto();
    assert.equal(r?.ok, false, `expected a ClientError: ${JSON.stringify(r)}`);
    assert.equal(r.code, 'InvalidSignatureException', JSON.stringify(r));
    assert.equal(r.status, 403, JSON.stringify(r));
  })));
});
