// nats-server for the end-to-end tests that run several nodes: the server built from the Go module
// the repository pins (go build, into a temp dir), run with JetStream on a free loopback port.
//
//   const nats = await startNATS();   // { url: 'nats://127.0.0.1:PORT', monitor: 'http://127.0.0.1:PORT', stop() }

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BUILD_TIMEOUT_MS, REPO_ROOT, freePort, run } from './server.mjs';

async function waitForPort(port, child, output) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}):\n${output()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server not listening on ${port} after 20s:\n${output()}`);
}

/** nats-server with JetStream on a free loopback port; resolves { url, stop }. */
export async function startNATS() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'belfry-e2e-nats-'));
  const bin = path.join(dir, 'nats-server');
  const build = await run('go', ['build', '-o', bin, 'github.com/nats-io/nats-server/v2'], { cwd: REPO_ROOT, timeoutMs: BUILD_TIMEOUT_MS });
  if (build.code !== 0) throw new Error(`go build nats-server failed:\n${build.stdout}${build.stderr}`);
  const port = await freePort();
  const monitorPort = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', path.join(dir, 'js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { out += b; });
  await waitForPort(port, child, () => out);
  return {
    url: `nats://127.0.0.1:${port}`,
    monitor: `http://127.0.0.1:${monitorPort}`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      child.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}
