// Run processor/processor.mjs (a channel-flow processor: Lambda Invoke API + Belfry webhook, calling
// back with the JS SDK v3) as a separate process, and follow what it reports.
//
//   const p = await startProcessor({ webhookSecret, lambdaCredentials })
//   p.url                                    // http://127.0.0.1:<port>
//   await p.configure(server)                // where it calls ChannelFlowCallback (root credential)
//   await p.waitFor((r) => r.kind === 'invocation' && …, 'what')
//   await p.release(callbackId, 'rewrite')   // the callback record of a held event
//   await p.setMode('stall' | 'normal')
//   await p.stop()
//
// Every record the processor prints (one JSON line on stdout) lands in p.records, in order.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REQUEST_TIMEOUT_MS } from './server.mjs';

export const PROCESSOR_SCRIPT = path.resolve(import.meta.dirname, '..', 'processor', 'processor.mjs');
/** How long one wait for something the processor reports may take. */
export const PROCESSOR_WAIT_MS = 10_000;
/** Starts the dump describe() returns (so a wrapper can tell it is already in a message). */
export const DUMP_MARKER = '----- processor';

const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export async function startProcessor({ webhookSecret = '', lambdaCredentials, port = 0 } = {}) {
  const env = { ...process.env, PROCESSOR_PORT: String(port), PROCESSOR_WEBHOOK_SECRET: webhookSecret };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  if (lambdaCredentials) {
    env.PROCESSOR_LAMBDA_ACCESS_KEY_ID = lambdaCredentials.accessKeyId;
    env.PROCESSOR_LAMBDA_SECRET_ACCESS_KEY = lambdaCredentials.secretAccessKey;
  }
  const child = spawn(process.execPath, [PROCESSOR_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const records = [];
  const waiters = new Set();
  let stderr = '';
  let pending = '';
  let exitInfo;
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    children.delete(child);
    exitInfo = { code, signal };
    for (const w of waiters) w.check();
    resolve(exitInfo);
  }));
  child.stderr.setEncoding('utf8').on('data', (d) => { if (stderr.length < 1 << 20) stderr += d; });
  child.stdout.setEncoding('utf8').on('data', (d) => {
    pending += d;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      try { records.push(JSON.parse(line)); } catch { records.push({ kind: 'unparsed', line }); }
    }
    for (const w of waiters) w.check();
  });

  const short = (r) => {
    if (r.kind !== 'invocation') {
      const { request, ...rest } = r;
      return JSON.stringify(rest);
    }
    return JSON.stringify({
      kind: r.kind, route: r.route, at: r.at, functionName: r.functionName, outcome: r.outcome, status: r.status, reason: r.reason,
      signature: (r.sigv4 ?? r.webhookSignature)?.valid, content: r.event?.ChannelMessage?.Content,
      messageId: r.event?.ChannelMessage?.MessageId, callbackId: r.event?.CallbackId,
    });
  };
  /** The processor's records (the last 80, shortened) and stderr, for failure messages. */
  const describe = () => [
    `${DUMP_MARKER} (${PROCESSOR_SCRIPT}, ${exitInfo ? `exited ${JSON.stringify(exitInfo)}` : 'running'}): ${records.length} records${records.length > 80 ? ', the last 80' : ''} -----`,
    ...records.slice(-80).map((r) => `  ${short(r)}`.slice(0, 700)),
    '----- processor stderr -----',
    stderr.slice(-4000) || '(empty)',
    '----- end of processor output -----',
  ].join('\n');

  /** The first record matching pred (already reported or later); fails after timeoutMs. */
  function waitFor(pred, what, { timeoutMs = PROCESSOR_WAIT_MS } = {}) {
    const found = records.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        check() {
          const r = records.find(pred);
          if (r) { waiters.delete(w); clearTimeout(timer); resolve(r); return; }
          if (exitInfo) { waiters.delete(w); clearTimeout(timer); reject(new assert.AssertionError({ message: `processor exited while waiting for ${what}\n${describe()}` })); }
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new assert.AssertionError({ message: `processor: no ${what} within ${timeoutMs} ms\n${describe()}` }));
      }, timeoutMs);
      waiters.add(w);
    });
  }

  const listening = await waitFor((r) => r.kind === 'listening', 'listening report');
  const url = `http://127.0.0.1:${listening.port}`;

  async function control(route, body) {
    const res = await fetch(`${url}/control/${route}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + 2_000),
    });
    const json = await res.json();
    assert.equal(res.status, 200, `processor /control/${route} ${JSON.stringify(body)}: HTTP ${res.status} ${JSON.stringify(json)}\n${describe()}`);
    return json;
  }

  return {
    port: listening.port,
    url,
    records,
    describe,
    waitFor,
    /** Invocation records (route 'lambda' or 'webhook') for one message, in arrival order. */
    invocationsFor: (messageId) => records.filter((r) => r.kind === 'invocation' && r.event?.ChannelMessage?.MessageId === messageId),
    /** Wait for an invocation of `messageId` with the given outcome ('accepted' by default). */
    waitForInvocation: (messageId, { outcome = 'accepted', nth = 1, ...opts } = {}) => waitFor(
      (r) => r.kind === 'invocation' && r.event?.ChannelMessage?.MessageId === messageId && r.outcome === outcome
        && records.filter((x) => x.kind === 'invocation' && x.event?.ChannelMessage?.MessageId === messageId && x.outcome === outcome).indexOf(r) === nth - 1,
      `${outcome} invocation #${nth} for message ${messageId}`, opts,
    ),
    /** Wait for the processor's ChannelFlowCallback for `messageId` (its record: ok, request, response | error). */
    waitForCallback: (messageId, opts) => waitFor((r) => r.kind === 'callback' && r.messageId === messageId, `callback for message ${messageId}`, opts),
    /** Tell the processor where to call back: the server's endpoint with its root credential. */
    configure: (server) => control('chime', { endpoint: server.endpoint, region: server.region, ...server.credentials }),
    setMode: (mode) => control('mode', { mode }),
    /** Call back for a held event; resolves the callback record. */
    release: (callbackId, action) => control('release', { callbackId, action }),
    exitStatus: () => exitInfo,
    async stop() {
      if (!exitInfo) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
