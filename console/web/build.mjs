// Builds the console bundle into ../dist (committed, embedded by the Go package console):
//   npm --prefix console/web ci && npm --prefix console/web run build
// The output is deterministic for a given lockfile: no timestamps, no hashes of the environment;
// e2e/test/console-bundle.test.mjs builds it again (`node build.mjs --out DIR`) and compares.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const outFlag = process.argv.indexOf('--out');
const dist = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : path.resolve(here, '..', 'dist');
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [path.join(here, 'src', 'main.js')],
  outfile: path.join(dist, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  // amazon-chime-sdk-js (CommonJS) require()s the messaging client: with the default main fields
  // esbuild would take its Node build for require(); the browser/ESM build serves both.
  mainFields: ['browser', 'module', 'main'],
  target: ['es2020'],
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) {
  fs.copyFileSync(path.join(here, 'src', f), path.join(dist, f));
}
console.log('console bundle written to', path.relative(process.cwd(), dist));
