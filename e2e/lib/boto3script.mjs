// One boto3 check script as a node:test suite: start a server, run py/<script> once against it,
// and assert that every check it reports passed and that it called the operations named.
// Without boto3: skipped locally with the reason, a failure when $CI is set (probeTool).

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_TIMEOUT_MS, PYTHON, isolatedAwsEnv, probeTool } from './cli.mjs';
import { operationHttp } from './model.mjs';
import { SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from './server.mjs';

const boto3 = await probeTool('boto3', PYTHON, ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3` (or the python3-boto3 package)');

function describeRun(what, res) {
  return `${what} → exit ${res.code}${res.signal ? ` (${res.signal})` : ''}${res.timedOut ? ' TIMED OUT' : ''}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
}

/**
 * describeBoto3Script({ title, script, minChecks, uses, usesTitle }) declares the suite:
 * `script` is a file in e2e/py, `minChecks` how many checks it must at least report (so a
 * script that stops early fails), `uses` the messaging operations it must have called.
 */
export function describeBoto3Script({ title, script, minChecks, uses, usesTitle }) {
  const file = path.join(import.meta.dirname, '..', 'py', script);
  const opts = { timeout: CLI_TIMEOUT_MS + 10_000, skip: boto3.skip ?? false };

  describe(title, () => {
    let server;
    const withOutput = (fn) => withServerOutput(() => server, fn);

    before(async () => {
      if (boto3.skip) return;
      server = await startBelfry();
    }, { timeout: SETUP_TIMEOUT_MS });

    after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

    let scriptResult;
    function runScript() {
      scriptResult ??= run(PYTHON, [file], {
        env: { ...isolatedAwsEnv(server.credentials, server.region), E2E_ENDPOINT: server.endpoint, E2E_ACCOUNT: server.accountId },
        timeoutMs: CLI_TIMEOUT_MS,
      }).then((res) => {
        let report;
        try {
          report = JSON.parse(res.stdout);
        } catch {
          assert.fail(`${script} printed no JSON report\n${describeRun(`${PYTHON} ${script}`, res)}`);
        }
        return { res, report };
      });
      return scriptResult;
    }

    test(`boto3: every check of ${script} passes`, opts, withOutput(async () => {
      if (boto3.failure) assert.fail(boto3.failure);
      const { res, report: { checks } } = await runScript();
      const failed = checks.filter((c) => !c.ok);
      assert.ok(checks.length > minChecks, `only ${checks.length} checks ran`);
      assert.deepEqual(failed, [], `${failed.length} of ${checks.length} boto3 checks failed\n${res.stderr}`);
      assert.equal(res.code, 0, describeRun(`${PYTHON} ${script}`, res));
    }));

    test(`boto3: the script used ${usesTitle}`, opts, withOutput(async () => {
      if (boto3.failure) assert.fail(boto3.failure);
      const { report: { operations } } = await runScript();
      for (const op of operations) assert.ok(operationHttp('messaging', op), `${op} is not a messaging operation`);
      for (const op of uses) assert.ok(operations.includes(op), `${op} not called: ${JSON.stringify(operations)}`);
    }));
  });
}
