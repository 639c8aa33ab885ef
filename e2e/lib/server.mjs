// Start a real `belfry serve` process for end-to-end tests.
//
//   const server = await startBelfry();   // builds ./cmd/belfry once per test process (or BELFRY_BIN)
//   server.endpoint                       // http://127.0.0.1:<port>   (REST APIs)
//   server.tlsEndpoint                    // https://127.0.0.1:<port>  (messaging-session websocket)
//   server.credentials                    // random root key pair handed to the server via env
//   server.storeArgs                      // --data-dir … [--store …] for `belfry credentials` etc.
//   await server.stop()                   // SIGTERM, resolves { code, signal } once it has exited
//   await server.kill()                   // SIGKILL (a crash), keeps the data dir for a restart
//   server = await restartBelfry(server)  // same data dir, ports, root credential, args and env
//
// Every failure message carries the server's own stdout/stderr (see serverOutput / withServerOutput).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

/** Repository root (the directory holding go.mod). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '111122223333';

/** How long `belfry serve` may take from spawn to a 200 from /healthz. */
export const READY_TIMEOUT_MS = 10_000;
/** Generous: the first `go build` compiles the pure-Go SQLite driver, minutes on 2 cores. */
export const BUILD_TIMEOUT_MS = 8 * 60_000;
/** How long the server may take to exit after SIGTERM. */
export const STOP_TIMEOUT_MS = 10_000;
/** Timeout for a `before` hook that builds and starts a server. */
export const SETUP_TIMEOUT_MS = BUILD_TIMEOUT_MS + READY_TIMEOUT_MS + 30_000;
/** Per-request timeout for anything that talks to the server. */
export const REQUEST_TIMEOUT_MS = 10_000;

const OUTPUT_LIMIT = 4 << 20; // keep at most 4 MiB of each stream
const tempDirs = new Set();
const children = new Set();

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (!process.env.BELFRY_E2E_KEEP) {
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});

function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

let builtBinary;

/**
 * Path of the belfry binary: $BELFRY_BIN if set, otherwise `go build ./cmd/belfry` into a temp
 * dir, once per test process (Go's build cache makes the later builds of other test files cheap).
 */
export function buildBelfry() {
  if (process.env.BELFRY_BIN) {
    const bin = path.resolve(process.env.BELFRY_BIN);
    if (!fs.existsSync(bin)) throw new Error(`BELFRY_BIN=${process.env.BELFRY_BIN} does not exist`);
    return Promise.resolve(bin);
  }
  builtBinary ??= (async () => {
    const out = path.join(makeTempDir('belfry-e2e-bin-'), 'belfry');
    const res = await run('go', ['build', '-o', out, './cmd/belfry'], { cwd: REPO_ROOT, timeoutMs: BUILD_TIMEOUT_MS });
    if (res.code !== 0) {
      throw new Error(`go build ./cmd/belfry failed in ${REPO_ROOT} (exit ${res.code}${res.signal ? `, ${res.signal}` : ''}${res.timedOut ? ', timed out' : ''}):\n${res.stdout}${res.stderr}`);
    }
    return out;
  })();
  return builtBinary;
}

/**
 * Run a command to completion with a hard timeout. Never rejects for a non-zero exit:
 * resolves { code, signal, stdout, stderr, timedOut }.
 */
export function run(cmd, args, { cwd, env, timeoutMs, input } = {}) {
  if (!timeoutMs) throw new Error('run(): timeoutMs is required');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
    child.stdin.end(input ?? '');
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; we close it again). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A random root credential shaped like an AWS key pair (the secret contains '/' and '+'). */
export function randomCredentials() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...crypto.randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  let secret;
  do secret = crypto.randomBytes(30).toString('base64'); // 40 chars
  while (!secret.includes('/') && !secret.includes('+'));
  return { accessKeyId: `AKIA${id}`, secretAccessKey: secret };
}

/**
 * Start `belfry serve` on free loopback ports with a fresh data dir and a random root credential.
 * Resolves once GET /healthz answers 200 (at most READY_TIMEOUT_MS after spawn); rejects with the
 * server's output otherwise. Retries with new ports if the ones picked were taken in between.
 *
 * Optional, for restarts (see restartBelfry): `dataDir` (an existing data dir to reuse), `port` and
 * `tlsPort` (fixed listener ports; no retry if they are taken), `credentials` (the root key pair).
 *
 * With BELFRY_E2E_POSTGRES=postgres://USER@HOST:PORT set, each new server gets a fresh PostgreSQL
 * database on that cluster (created with psql) as its --store; a restart keeps it.
 */
export async function startBelfry({ extraArgs = [], extraEnv = {}, dataDir, port, tlsPort, credentials } = {}) {
  const bin = await buildBelfry();
  if (process.env.BELFRY_E2E_POSTGRES && !extraArgs.includes('--store')) {
    const db = `e2e_${process.pid}_${crypto.randomBytes(6).toString('hex')}`;
    const { code, stderr } = await run('psql', [`${process.env.BELFRY_E2E_POSTGRES}/postgres`, '-c', `CREATE DATABASE ${db}`], { timeoutMs: 30000 });
    if (code !== 0) throw new Error(`BELFRY_E2E_POSTGRES: creating database ${db}: ${stderr}`);
    extraArgs = [...extraArgs, '--store', `${process.env.BELFRY_E2E_POSTGRES}/${db}`];
  }
  const fixedPorts = port !== undefined || tlsPort !== undefined;
  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(bin, { extraArgs, extraEnv, dataDir, port, tlsPort, credentials });
    } catch (err) {
      lastError = err;
      if (!err.addressInUse || fixedPorts) throw err;
    }
  }
  throw lastError;
}

/**
 * Start `belfry serve` again as `server` was started: the same data dir, listener ports, root
 * credential, extra arguments and environment (`overrides` replaces any of these). `server` must
 * have exited (kill() or a crash); its data dir is kept by kill().
 */
export function restartBelfry(server, overrides = {}) {
  if (!server.exitStatus()) throw new Error('restartBelfry: the server is still running; kill() it first');
  return startBelfry({ ...server.startOptions, ...overrides });
}

async function startOnce(bin, options) {
  const { extraArgs, extraEnv } = options;
  let { port, tlsPort } = options;
  if (port === undefined || tlsPort === undefined) {
    const picked = await distinctFreePorts(2);
    port ??= picked.find((p) => p !== tlsPort);
    tlsPort ??= picked.find((p) => p !== port);
  }
  const dataDir = options.dataDir ?? makeTempDir('belfry-e2e-data-');
  const credentials = options.credentials ?? randomCredentials();
  const args = [
    'serve',
    '--listen', `127.0.0.1:${port}`,
    '--tls-listen', `127.0.0.1:${tlsPort}`,
    '--data-dir', dataDir,
    '--region', REGION,
    '--account-id', ACCOUNT_ID,
    ...extraArgs,
  ];
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('BELFRY_') || k.startsWith('AWS_')) delete env[k];
  Object.assign(env, {
    BELFRY_ACCESS_KEY_ID: credentials.accessKeyId,
    BELFRY_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...extraEnv,
  });

  const child = spawn(bin, args, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  const append = (stream) => (d) => {
    if (output[stream].length < OUTPUT_LIMIT) output[stream] += d;
  };
  child.stdout.setEncoding('utf8').on('data', append('stdout'));
  child.stderr.setEncoding('utf8').on('data', append('stderr'));

  // Settles when the process has exited and its output has been read to the end.
  const exited = new Promise((resolve) => {
    child.on('error', (err) => { output.stderr += `\n[e2e] spawn error: ${err.message}\n`; });
    child.on('close', (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  let exitInfo;
  exited.then((info) => { exitInfo = info; });

  const describeOutput = () => formatOutput(`${bin} ${args.join(' ')}`, output, exitInfo);
  const endpoint = `http://127.0.0.1:${port}`;
  const tlsEndpoint = `https://127.0.0.1:${tlsPort}`;

  // Bounded readiness poll: one GET /healthz at a time until 200, process exit, or the deadline.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no attempt yet';
  for (;;) {
    if (exitInfo) {
      const err = new Error(`belfry serve exited before becoming ready (${lastProblem})\n${describeOutput()}`);
      err.addressInUse = /address already in use/i.test(output.stderr + output.stdout);
      throw err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`belfry serve did not answer 200 on ${endpoint}/healthz within ${READY_TIMEOUT_MS} ms (last: ${lastProblem})\n${describeOutput()}`);
    }
    try {
      const res = await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(Math.min(remaining, 1000)) });
      await res.arrayBuffer();
      if (res.status === 200) break;
      lastProblem = `HTTP ${res.status}`;
    } catch (err) {
      lastProblem = err.cause?.code ?? err.name ?? String(err);
    }
    // Pace the poll (~20/s), but wake at once if the process exits.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }

  let stopping;
  return {
    endpoint,
    tlsEndpoint,
    region: REGION,
    accountId: ACCOUNT_ID,
    credentials,
    dataDir,
    port,
    tlsPort,
    pid: child.pid,
    /**
     * The flags a `belfry credentials` (or any other command that opens the store) needs to reach
     * this server's store: its data dir, region and account, and its --store when it has one.
     */
    storeArgs: ['--data-dir', dataDir, '--region', REGION, '--account-id', ACCOUNT_ID,
      ...(extraArgs.includes('--store') ? ['--store', extraArgs[extraArgs.indexOf('--store') + 1]] : [])],
    /** What restartBelfry passes to startBelfry to start this server again. */
    startOptions: { extraArgs, extraEnv, dataDir, port, tlsPort, credentials },
    /** What the server printed so far: { stdout, stderr }. */
    output: () => ({ ...output }),
    /** A human-readable dump of the command line, exit status and output, for failure messages. */
    describeOutput,
    /** Whether the process has exited (and how). */
    exitStatus: () => exitInfo,
    /**
     * SIGTERM and wait for exit; resolves { code, signal }. Idempotent. If the server has not
     * exited after STOP_TIMEOUT_MS it is SIGKILLed and stop() rejects with its output.
     */
    stop() {
      stopping ??= (async () => {
        if (!exitInfo) child.kill('SIGTERM');
        let timer;
        const timedOut = new Promise((r) => { timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS); });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === 'timeout') {
          child.kill('SIGKILL');
          await exited;
          throw new Error(`belfry did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${describeOutput()}`);
        }
        if (!process.env.BELFRY_E2E_KEEP) {
          fs.rmSync(dataDir, { recursive: true, force: true });
          tempDirs.delete(dataDir);
        }
        return first;
      })();
      return stopping;
    },
    /**
     * Send `signal` (SIGKILL: a crash, nothing is flushed or closed cleanly) and wait for the exit;
     * resolves { code, signal }. The data dir is kept (restartBelfry reuses it), also by a later
     * stop(), which then just resolves the same. Idempotent with stop().
     */
    kill(signal = 'SIGKILL') {
      stopping ??= (async () => {
        if (!exitInfo) child.kill(signal);
        let timer;
        const timedOut = new Promise((r) => { timer = setTimeout(() => r('timeout'), STOP_TIMEOUT_MS); });
        const first = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (first === 'timeout') {
          child.kill('SIGKILL');
          await exited;
          throw new Error(`belfry did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}\n${describeOutput()}`);
        }
        return first;
      })();
      return stopping;
    },
  };
}

async function distinctFreePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function tail(text, maxChars = 12_000) {
  return text.length <= maxChars ? text : `[… ${text.length - maxChars} earlier chars cut …]\n${text.slice(-maxChars)}`;
}

function formatOutput(cmdline, { stdout, stderr }, exitInfo) {
  const status = exitInfo ? `exited: code=${exitInfo.code} signal=${exitInfo.signal}` : 'still running';
  return [
    `----- server: ${cmdline} (${status})`,
    `----- server stdout -----`,
    tail(stdout) || '(empty)',
    `----- server stderr -----`,
    tail(stderr) || '(empty)',
    `----- end of server output -----`,
  ].join('\n');
}

/**
 * Wrap a test function so that, if it fails, the error message ends with the server's output.
 * `getServer` is a function because the server is usually created in a `before` hook.
 */
export function withServerOutput(getServer, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const server = getServer();
      if (server && err && typeof err === 'object') {
        try {
          err.message = `${err.message}\n${server.describeOutput()}`;
        } catch {
          // read-only message: print instead
          t.diagnostic(server.describeOutput());
        }
      }
      throw err;
    }
  };
}

/**
 * Complete a TLS handshake with `endpoint` (https://host:port) without verifying the chain, and
 * resolve the peer certificate as node's tls module reports it.
 */
export function tlsPeerCertificate(endpoint, { timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), rejectUnauthorized: false });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`TLS handshake with ${endpoint}: no answer within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}
