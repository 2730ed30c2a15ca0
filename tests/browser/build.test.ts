/**
 * The browser build: refuses a Node built-in (naming the importer chain), and the real entry
 * builds without one, its gzipped size printed.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const build = (entry: string, out: string) =>
  spawnSync(process.execPath, ['scripts/web-build.mjs', '--entry', entry, '--outfile', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });

test('the build fails on a module that imports node:fs, naming the chain', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uib-web-')), 'x.js');
  const r = build('tests/browser/fixtures/imports-node-fs.ts', out);
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /Node built-in "node:fs" imported by tests\/browser\/fixtures\/reads-disk\.ts ← tests\/browser\/fixtures\/imports-node-fs\.ts/,
  );
  assert.equal(fs.existsSync(out), false);
});

test('src/browser.ts builds for the browser and prints its gzipped size', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uib-web-')), 'uib.js');
  const r = build('src/browser.ts', out);
  assert.equal(r.status, 0, r.stderr);
  const m = /(\d+) KiB gzipped/.exec(r.stdout);
  assert.ok(m, r.stdout);
  console.log(r.stdout.trim());
  assert.ok(Number(m[1]) < 1536, `${m[1]} KiB gzipped`);
});
