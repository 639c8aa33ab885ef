// Helpers for driving the AWS CLI and boto3 (Python) against a Belfry server, isolated from the
// developer's own AWS configuration.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './server.mjs';

/** Timeout for one CLI or Python process (interpreter start-up included). */
export const CLI_TIMEOUT_MS = 60_000;

const isolationDir = fs.mkdtempSync(path.join(os.tmpdir(), 'belfry-e2e-aws-'));
process.on('exit', () => fs.rmSync(isolationDir, { recursive: true, force: true }));

/**
 * An environment for aws/boto3 that sees only the given credential and region: every AWS_*
 * variable of the caller is dropped, and the config and credential files point at files that do
 * not exist, so no profile, SSO session, endpoint override or retry setting of the developer
 * leaks in. Retries are off so the test sees the server's first answer.
 */
export function isolatedAwsEnv({ accessKeyId, secretAccessKey }, region) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return Object.assign(env, {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: path.join(isolationDir, 'does-not-exist', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(isolationDir, 'does-not-exist', 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    AWS_PAGER: '',
  });
}

/** $CI set to anything but '', '0' or 'false' (CI systems set CI=true). */
export function inCI() {
  return !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());
}

/**
 * Whether an external tool the tests need is here. Resolves
 *   { ok: true, version }                       — use it;
 *   { ok: false, skip: reason }                 — missing, not in CI: skip with this reason;
 *   { ok: false, failure: message }             — missing in CI ($CI set): the test must fail.
 */
export async function probeTool(label, cmd, args, installHint) {
  let res;
  try {
    res = await run(cmd, args, { timeoutMs: CLI_TIMEOUT_MS, env: { ...process.env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' } });
  } catch (err) {
    res = { code: null, stdout: '', stderr: err.message };
  }
  if (res.code === 0) return { ok: true, version: (res.stdout + res.stderr).trim().split('\n')[0] };
  const why = `${label} is not available (\`${[cmd, ...args].join(' ')}\` → exit ${res.code}: ${(res.stderr || res.stdout).trim().split('\n').slice(-1)[0] || 'no output'}); ${installHint}`;
  return inCI() ? { ok: false, failure: `CI is set, so this must not be skipped: ${why}` } : { ok: false, skip: why };
}

/** The Python that has boto3: BELFRY_PYTHON when CI found it elsewhere, else python3 on PATH. */
export const PYTHON = process.env.BELFRY_PYTHON || 'python3';
