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

test('the browser entry reaches no Node-only part of uib (the CLI, the runner, the addon, disk caches)', async () => {
  const script = '../../scripts/web-build.mjs'; // untyped JavaScript: through a string
  const { bundle } = await import(script);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uib-web-')), 'uib.js');
  const { inputs } = (await bundle(path.join(ROOT, 'src', 'browser.ts'), out, {
    external: ['@tensorflow/*'],
  })) as { inputs: string[] };
  const nodeOnly = [
    /^src\/cli\//,
    /^src\/experiments\//,
    /^src\/backend\/native\//,
    /^src\/backend\/(index|environment)\.ts$/,
    /^src\/unlearn\/uib\/fisher-cache\.ts$/,
    /^src\/train\/progress-terminal\.ts$/,
    /^src\/core\/(atomic|read|lock)\.ts$/,
    /node_modules\/(cli-progress|bullmq|ioredis|pngjs|commander)\//,
  ];
  const reached = inputs.filter((f) => nodeOnly.some((re) => re.test(f)));
  assert.deepEqual(reached, [], `the browser bundle carries Node-only modules`);
  // The core itself is there: the registry of methods and the metrics.
  assert.ok(inputs.includes('src/unlearn/registry.ts') && inputs.includes('src/eval/registry.ts'));
  assert.equal(fs.existsSync(path.join(ROOT, 'web', 'twins')), false, 'no browser twins');
});

test('the package export uib/browser is the bundle, and runs UIB-IF as the Node entry does', {
  timeout: 180_000,
}, () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.exports['./browser'], {
    types: './dist/browser.d.ts',
    import: './dist/uib-browser.js',
  });
  // `npm run build` (a no-op when dist/ is up to date) writes the bundle beside tsc's output.
  const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const bundleText = fs.readFileSync(path.join(ROOT, 'dist', 'uib-browser.js'), 'utf8');
  // (Not assert.match: on failure it would print the whole bundle.)
  assert.ok(!/(from|import)\s*\(?\s*["']node:/.test(bundleText), 'a node: import in the bundle');
  assert.ok(/from\s*"@tensorflow\/tfjs-core"/.test(bundleText), 'tfjs is not left to the app');
  const r = spawnSync(process.execPath, ['tests/browser/fixtures/export-run.mjs'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  // Lines cut short: a stack from the minified bundle would print a whole line of it.
  const short = (t: string) =>
    t
      .split('\n')
      .map((l) => l.slice(0, 300))
      .join('\n');
  assert.equal(r.status, 0, short(r.stderr));
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.ok(out.same && out.weights > 50, r.stdout);
  assert.equal(out.maxAbsDiff, 0, 'bundle and Node entry gave other weights');
  assert.ok(out.ua[1] > out.ua[0], `UA did not rise: ${out.ua}`);
});
