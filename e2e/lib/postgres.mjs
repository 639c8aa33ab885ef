// A PostgreSQL server for the tests that run several nodes on one store.
//
//   const pg = await e2ePostgres();          // { skip } | { failure } | { url, createDatabase }
//   const url = await pg.createDatabase();   // postgres://…/e2e_…, a new empty database
//
// BELFRY_E2E_POSTGRES=postgres://USER@HOST:PORT names a server to use. Otherwise a throwaway
// cluster is started, once per test process, by `internal/pgtest/pgserve` (built with go build):
// Debian's PostgreSQL server binaries in a temp dir, as the unprivileged user nobody when running
// as root, listening on a free loopback port, stopped when this process exits. Without
// PostgreSQL installed the tests skip locally with the reason, and fail when $CI is set.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inCI } from './cli.mjs';
import { BUILD_TIMEOUT_MS, REPO_ROOT, run } from './server.mjs';

const START_TIMEOUT_MS = 60_000;
let started;

/** Create a fresh database on the server at base (postgres://USER@HOST:PORT); resolves its URL. */
export async function createDatabase(base, prefix = 'e2e') {
  const db = `${prefix}_${process.pid}_${crypto.randomBytes(6).toString('hex')}`;
  const { code, stderr } = await run('psql', [`${base}/postgres`, '-c', `CREATE DATABASE ${db}`], { timeoutMs: 30_000 });
  if (code !== 0) throw new Error(`creating database ${db} on ${base}: ${stderr}`);
  return `${base}/${db}`;
}

/** The PostgreSQL server the cluster tests use (see the top of this file). */
export function e2ePostgres() {
  started ??= start();
  return started;
}

async function start() {
  const given = process.env.BELFRY_E2E_POSTGRES;
  if (given) return { url: given, createDatabase: (p) => createDatabase(given, p) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'belfry-e2e-pgserve-'));
  const bin = path.join(dir, 'pgserve');
  const build = await run('go', ['build', '-o', bin, './internal/pgtest/pgserve'], { cwd: REPO_ROOT, timeoutMs: BUILD_TIMEOUT_MS });
  if (build.code !== 0) throw new Error(`go build ./internal/pgtest/pgserve failed:\n${build.stdout}${build.stderr}`);
  // stdin stays open while this process lives: pgserve stops its cluster when it closes, so the
  // cluster goes with this process however it ends.
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pgserve printed no URL within ${START_TIMEOUT_MS} ms:\n${err}`)), START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl).trim()); }
    });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code }); });
  });
  if (typeof url !== 'string') {
    fs.rmSync(dir, { recursive: true, force: true });
    const why = `PostgreSQL is not available (${err.trim() || `pgserve exited ${url.code}`})`;
    if (url.code === 3 && !inCI()) return { skip: `${why}; set BELFRY_E2E_POSTGRES or install Debian's postgresql package to run this test` };
    return { failure: inCI() ? `CI is set, so this must not be skipped: ${why}` : why };
  }
  child.unref();
  child.stdin.unref?.();
  child.stdout.unref?.();
  child.stderr.unref?.();
  process.on('exit', () => {
    child.stdin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { url, createDatabase: (p) => createDatabase(url, p) };
}
