// The committed console bundle (console/dist, embedded in the binary) is exactly what its sources
// and pinned lockfile build: `npm --prefix console/web ci && npm --prefix console/web run build`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, run } from '../lib/server.mjs';

const WEB = path.join(REPO_ROOT, 'console', 'web');
const DIST = path.join(REPO_ROOT, 'console', 'dist');
const MISSING = fs.existsSync(path.join(WEB, 'node_modules', 'esbuild'))
  ? undefined : 'console/web has no node_modules: run npm --prefix console/web ci (scripts/test does)';

test('console/dist is what npm --prefix console/web run build makes', { skip: MISSING, timeout: 120_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'belfry-console-dist-'));
  try {
    const res = await run(process.execPath, [path.join(WEB, 'build.mjs'), '--out', out], { cwd: WEB, timeoutMs: 110_000 });
    assert.equal(res.code, 0, `build failed: ${res.stderr}`);
    const built = fs.readdirSync(out).sort();
    assert.deepEqual(fs.readdirSync(DIST).sort(), built, 'the same files');
    for (const f of built) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(DIST, f))),
        `console/dist/${f} is stale: run npm --prefix console/web ci && npm --prefix console/web run build, and commit console/dist`);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
