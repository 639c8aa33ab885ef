// What the AWS service models (the same files the Go generator reads) say about an operation: its
// HTTP binding and which exceptions it declares. Tests use this instead of hand-copied tables so
// that "a modeled exception of this operation" means exactly that.
//
// The models are found as internal/spec finds them: $BELFRY_SPEC_DIR, ../shared/spec beside the
// repository, or the data directory of the installed botocore (which the boto3 tests need anyway).
// When none is found, SPEC_MISSING says why and tests that need a model skip with it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { REPO_ROOT } from './server.mjs';

const NAMES = { messaging: 'chime-sdk-messaging', identity: 'chime-sdk-identity' };

function flatDir(dir) {
  const files = Object.values(NAMES).map((n) => path.join(dir, `${n}.service-2.json`));
  return files.every((f) => fs.existsSync(f)) ? (name) => path.join(dir, `${name}.service-2.json`) : null;
}

function botocoreDir(dataDir) {
  const find = (name) => {
    const base = path.join(dataDir, name);
    if (!fs.existsSync(base)) return null;
    for (const version of fs.readdirSync(base).sort().reverse()) {
      for (const file of ['service-2.json', 'service-2.json.gz']) {
        const p = path.join(base, version, file);
        if (fs.existsSync(p)) return p;
      }
    }
    return null;
  };
  return Object.values(NAMES).every(find) ? find : null;
}

function botocoreDataDirs() {
  const dirs = [];
  for (const py of new Set([process.env.BELFRY_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))) {
    try {
      const out = execFileSync(py, ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
      });
      dirs.push(path.join(out.trim(), 'data'));
    } catch { /* this python has no botocore */ }
  }
  return dirs;
}

function locate() {
  if (process.env.BELFRY_SPEC_DIR) {
    const f = flatDir(process.env.BELFRY_SPEC_DIR);
    return f ? { fileOf: f, where: process.env.BELFRY_SPEC_DIR }
      : { missing: `no chime-sdk-*.service-2.json models in $BELFRY_SPEC_DIR=${process.env.BELFRY_SPEC_DIR}` };
  }
  const shared = path.resolve(REPO_ROOT, '..', 'shared', 'spec');
  const f = flatDir(shared);
  if (f) return { fileOf: f, where: shared };
  const tried = [shared];
  for (const d of botocoreDataDirs()) {
    const b = botocoreDir(d);
    if (b) return { fileOf: b, where: `botocore data at ${d}` };
    tried.push(d);
  }
  return { missing: `the Chime SDK service models were not found (tried ${tried.join(', ')} and python3's botocore); set BELFRY_SPEC_DIR or install boto3` };
}

const found = locate();
/** Where the models were found, for messages. */
export const SPEC_DIR = found.where;
/** Why no model was found, or undefined: pass as a test's `skip` option. */
export const SPEC_MISSING = found.missing;

const cache = new Map();

function load(service) {
  if (!NAMES[service]) throw new Error(`unknown service ${service}; expected one of ${Object.keys(NAMES)}`);
  if (SPEC_MISSING) throw new Error(SPEC_MISSING);
  if (!cache.has(service)) {
    const file = found.fileOf(NAMES[service]);
    let data = fs.readFileSync(file);
    if (file.endsWith('.gz')) data = zlib.gunzipSync(data);
    cache.set(service, JSON.parse(data.toString('utf8')));
  }
  return cache.get(service);
}

/** { method, requestUri, responseCode } of an operation, e.g. operationHttp('messaging', 'DescribeChannel'). */
export function operationHttp(service, operation) {
  const op = load(service).operations[operation];
  if (!op) throw new Error(`${service} model has no operation ${operation}`);
  return op.http;
}

/** Exception shape names an operation declares, e.g. ['BadRequestException', 'ForbiddenException', …]. */
export function modeledErrors(service, operation) {
  const op = load(service).operations[operation];
  if (!op) throw new Error(`${service} model has no operation ${operation}`);
  return (op.errors ?? []).map((e) => e.shape);
}

/** HTTP status the model assigns to an exception shape (e.g. BadRequestException → 400), or undefined. */
export function modeledStatus(service, exceptionName) {
  return load(service).shapes[exceptionName]?.error?.httpStatusCode;
}

/** The values of an enum shape, e.g. modeledEnum('messaging', 'ErrorCode') → ['BadRequest', …]. */
export function modeledEnum(service, shapeName) {
  const shape = load(service).shapes[shapeName];
  if (!shape?.enum) throw new Error(`${service} model has no enum shape ${shapeName}`);
  return [...shape.enum];
}
