/**
 * The smaller defects of issue 13, each an attack that used to succeed: method labels that
 * overwrite the reference records, `__proto__` smuggling hyper-parameters past the unknown-key
 * check, seeds above 2^32 accepted and failing only at the end, and a run resumed on another
 * backend mixing cells of both under one label. (Concurrent writers: out-dir.test.ts; a corrupt
 * cached manifest: hostile-files.test.ts.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { computeEnvironment } from '../../src/backend/environment.ts';
import { initBackend } from '../../src/backend/index.ts';
import { UsageError } from '../../src/core/errors.ts';
import { claimEnvironment } from '../../src/experiments/runner/write.ts';
import { parseExperiment } from '../../src/experiments/schema.ts';
import { getMethod, parseParams } from '../../src/unlearn/registry.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib, uib } from '../helpers/cli.ts';
import { TINY_EXPERIMENT } from './run-dir.ts';
import { unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

const usage = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    return true;
  });

test('method labels _retrain, _original, _scenario (and hidden names) are refused', () => {
  for (const label of ['_retrain', '_original', '_scenario', '.lock', '_anything']) {
    usage(
      () =>
        parseExperiment(
          { ...TINY_EXPERIMENT, methods: [{ id: 'ft', label }, { id: 'ga' }] },
          'exp.json',
        ),
      /exp\.json: methods\[0\]\.label: must not start with "_" or "\."/,
    );
  }
  parseExperiment({ ...TINY_EXPERIMENT, methods: [{ id: 'ft', label: 'ft-long' }] }, 'exp.json');
});

test('__proto__ cannot smuggle hyper-parameters: --param, parsed JSON, and a prototype', async () => {
  const ft = getMethod('ft');
  // As an own key (JSON.parse makes one), and as a prototype (`raw[k] = v` with k = __proto__).
  usage(
    () => parseParams(ft, JSON.parse('{"__proto__": {"epochs": 7}}')),
    /ft\.__proto__: is not a hyper-parameter name/,
  );
  const viaPrototype: Record<string, unknown> = {};
  const key = '__proto__'; // the attack is exactly this assignment, with a key from the user
  viaPrototype[key] = { epochs: 7 };
  assert.equal((viaPrototype as { epochs?: number }).epochs, 7, 'the attack sets a prototype');
  usage(() => parseParams(ft, viaPrototype), /ft\.__proto__: is not a hyper-parameter name/);
  usage(
    () => parseParams(ft, { constructor: 1 }),
    /ft\.constructor: is not a hyper-parameter name/,
  );
  // Through the CLI: exit 2, one line, before anything is loaded.
  const f = await unlearnFixture('proto');
  const out = path.join(f.dir, 'out');
  const r = await uib(...unlearnArgs(f, out), '--param', '__proto__={"epochs":7}');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--param: "__proto__" is not a hyper-parameter name/);
  assert.ok(!fs.existsSync(out));
  // In an experiment file's params.
  const dir = tempDir('proto-exp');
  const file = path.join(dir, 'exp.json');
  fs.writeFileSync(
    file,
    `{"name":"p","dataset":{"name":"mnist","trainSubset":60},"model":{"arch":"mlp"},"training":{"optimizer":{"name":"sgd","lr":0.1},"epochs":1,"batchSize":32},"scenarios":[{"kind":"random","forgetFraction":0.2}],"methods":[{"id":"ft","params":{"__proto__":{"epochs":7}}}],"seeds":[1]}`,
  );
  const e = await uib('run', file, '--backend', 'cpu', '--quiet', '--out', path.join(dir, 'out'));
  assert.equal(e.code, 2, e.err);
  assert.match(e.err, /exp\.json: .*__proto__/);
  assert.ok(!fs.existsSync(path.join(dir, 'out')));
});

test('a seed above 2^32 − 1 (or 2^53) is refused up front, in flags and in experiment files', async () => {
  const f = await unlearnFixture('seed');
  const out = path.join(f.dir, 'out');
  for (const seed of ['9007199254740993', '4294967296', '-1', '1.5']) {
    const args = unlearnArgs(f, out).map((a, i, all) => (all[i - 1] === '--seed' ? seed : a));
    const t0 = performance.now();
    const r = await uib(...args);
    assert.equal(r.code, 2, `${seed}: ${r.err}`);
    assert.match(r.err, /--seed: must be an integer in \[0, 4294967295\]/);
    assert.ok(performance.now() - t0 < 1000, 'refused before any work');
    assert.ok(!fs.existsSync(out));
  }
  usage(
    () => parseExperiment({ ...TINY_EXPERIMENT, seeds: [2 ** 53 + 2] }, 'exp.json'),
    /exp\.json: seeds\[0\]/,
  );
});

test("a run resumed on the native route with the other BLAS is refused; a block without one is OpenBLAS's", async (t) => {
  await initBackend('wasm');
  const now = computeEnvironment();
  if (now.route !== 'native') return t.skip('no native addon on this machine');
  const out = tempDir('resume-blas');
  const write = (env: object) =>
    fs.writeFileSync(path.join(out, 'environment.json'), JSON.stringify(env));
  write({ ...now, blas: now.blas === 'openblas' ? 'builtin' : 'openblas' });
  assert.throws(
    () => claimEnvironment(out),
    (e: unknown) => e instanceof UsageError && /UIB_BLAS/.test(e.message),
  );
  const { blas: _, ...legacy } = now;
  write(legacy);
  if (now.blas === 'openblas') assert.equal(claimEnvironment(out).blas, 'openblas');
  else assert.throws(() => claimEnvironment(out), UsageError);
});

test('a run resumed on another backend (or route) is refused, not mixed', async () => {
  const dir = tempDir('resume-backend');
  const file = path.join(dir, 'exp.json');
  fs.writeFileSync(file, JSON.stringify({ ...TINY_EXPERIMENT, seeds: [1] }));
  const out = path.join(dir, 'out');
  const first = await runUib(['run', file, '--backend', 'cpu', '--quiet', '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  const env = JSON.parse(fs.readFileSync(path.join(out, 'environment.json'), 'utf8'));
  assert.deepEqual([env.backend, env.route, env.threads], ['cpu', 'cpu', 1]);
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.equal(results.environment.route, 'cpu');
  const before = fs.readFileSync(path.join(out, 'results.json'), 'utf8');
  const other = await runUib(['run', file, '--backend', 'wasm', '--quiet', '--out', out], {
    env: { UIB_NATIVE: '0' },
  });
  assert.equal(other.code, 2, other.stderr);
  assert.equal(other.stderr.trimEnd().split('\n').length, 1);
  assert.match(
    other.stderr,
    /was run on cpu; this run is on wasm with the wasm kernels\. .*resume with the same backend and route/,
  );
  assert.equal(
    fs.readFileSync(path.join(out, 'results.json'), 'utf8'),
    before,
    'nothing rewritten',
  );
  // The same environment resumes.
  const again = await runUib(['run', file, '--backend', 'cpu', '--quiet', '--out', out]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /finished unit\(s\) found/);
});

test('a cached manifest built from other data bytes is a miss: rebuilt, the run completes', async () => {
  const dir = tempDir('stale-manifest');
  const file = path.join(dir, 'exp.json');
  fs.writeFileSync(file, JSON.stringify({ ...TINY_EXPERIMENT, seeds: [1] }));
  const out = path.join(dir, 'out');
  assert.equal((await uib('run', file, '--backend', 'cpu', '--quiet', '--out', out)).code, 0);
  const mdir = path.join(out, 'cache', 'manifests');
  const [name] = fs.readdirSync(mdir);
  const good = fs.readFileSync(path.join(mdir, name), 'utf8');
  const stale = JSON.parse(good);
  stale.dataHash.train = 'ab'.repeat(32); // as if built on another copy of the data set
  fs.writeFileSync(path.join(mdir, name), JSON.stringify(stale));
  fs.rmSync(path.join(out, 'cells'), { recursive: true }); // so that the data is needed again
  const r = await uib('run', file, '--backend', 'cpu', '--quiet', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(mdir, name), 'utf8')), JSON.parse(good));
});
