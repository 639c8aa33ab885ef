// What the AWS service models (shared/spec, the same files the Go generator reads) say about an
// operation: its HTTP binding and which exceptions it declares. Tests use this instead of
// hand-copied tables so that "a modeled exception of this operation" means exactly that.

import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './server.mjs';

export const SPEC_DIR = process.env.BELFRY_SPEC_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'spec');

const FILES = {
  messaging: 'chime-sdk-messaging.service-2.json',
  identity: 'chime-sdk-identity.service-2.json',
};
const cache = new Map();

function load(service) {
  if (!FILES[service]) throw new Error(`unknown service ${service}; expected one of ${Object.keys(FILES)}`);
  if (!cache.has(service)) {
    const file = path.join(SPEC_DIR, FILES[service]);
    if (!fs.existsSync(file)) {
      throw new Error(`service model ${file} not found: the e2e tests expect shared/ beside the repository (or set BELFRY_SPEC_DIR)`);
    }
    cache.set(service, JSON.parse(fs.readFileSync(file, 'utf8')));
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
