// Hardening (issue 17) through boto3: py/hardening_boto3.py runs against a server started with
// --rate-limits aws and checks clock skew (±10 min accepted, ±20 refused), the signed-bearer rule,
// throttling with boto3's retries, and temporary credentials from POST /_belfry/credentials
// (use, tampering, expiry). Without boto3: skipped locally with the reason, a failure when $CI is set.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_TIMEOUT_MS, PYTHON, isolatedAwsEnv, probeTool } from '../lib/cli.mjs';
import { SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from '../lib/server.mjs';

const boto3 = await probeTool('boto3', PYTHON, ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3` (or the python3-boto3 package)');
const SCRIPT = path.join(import.meta.dirname, '..', 'py', 'hardening_boto3.py');
const OPTS = { timeout: CLI_TIMEOUT_MS + 10_000, skip: boto3.skip ?? false };

describe('hardening through boto3', () => {
  let server;
  before(async () => {
    if (boto3.skip) return;
    server = await startBelfry({ extraArgs: ['--rate-limits', 'aws'] });
  }, { timeout: SETUP_TIMEOUT_MS });
  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('boto3: every check of hardening_boto3.py passes', OPTS, withServerOutput(() => server, async () => {
    if (boto3.failure) assert.fail(boto3.failure);
    const res = await run(PYTHON, [SCRIPT], {
      env: { ...isolatedAwsEnv(server.credentials, server.region), E2E_ENDPOINT: server.endpoint, E2E_ACCOUNT: server.accountId },
      timeoutMs: CLI_TIMEOUT_MS,
    });
    let report;
    try {
      report = JSON.parse(res.stdout);
    } catch {
      assert.fail(`hardening_boto3.py printed no JSON report (exit ${res.code})\n${res.stdout}\n${res.stderr}`);
    }
    const failed = report.checks.filter((c) => !c.ok);
    assert.ok(report.checks.length >= 20, `only ${report.checks.length} checks ran`);
    assert.deepEqual(failed, [], `${failed.length} of ${report.checks.length} checks failed\n${res.stderr}`);
    assert.equal(res.code, 0, res.stderr);
  }));
});
