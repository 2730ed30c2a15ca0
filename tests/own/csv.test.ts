/**
 * The user's own model over a CSV: an MLP trained by tfjs's fit on noisy labels, rows forgotten by
 * id with a retrained reference (`--recipe`), `uib eval` on the result, `uib verify`; and bad
 * input — an unknown id, mixed modes, a model that does not fit the data — refused in one line
 * with exit 2 and nothing written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { loadUserData } from '../../src/data/user/load.ts';
import { EvidenceSchema } from '../../src/experiments/evidence.ts';
import { readOwnDeletionRecord } from '../../src/unlearn/own-record.ts';
import { tempDir } from '../data/helpers.ts';
import { ROOT, runUib, uib } from '../helpers/cli.ts';
import { saveLikeTfjs } from '../models/user-model-helpers.ts';
import { fitAndSave, mlp, PLAIN_TFJS_PREDICT, writeCsv } from './fixtures.ts';

const backend = process.env.UIB_BACKEND ?? 'cpu';

async function setup() {
  await initBackend(backend);
  const dir = tempDir('own-csv');
  const trainCsv = path.join(dir, 'train.csv');
  const testCsv = path.join(dir, 'test.csv');
  const { ids } = writeCsv(trainCsv, 300, 1);
  writeCsv(testCsv, 150, 2);
  const data = loadUserData(trainCsv, { label: 'kind', id: 'rid' });
  const { xs, ys } = data.tensors();
  const y = tf.oneHot(ys, data.numClasses);
  const model = mlp(data.sampleShape[0], data.numClasses);
  // Long enough to memorise the noisy labels: ΔD is then known better than unseen rows.
  await fitAndSave(model, xs, y, path.join(dir, 'model'), 120);
  tf.dispose([xs, ys, y]);
  model.dispose();
  // A model that takes 5 features: the data has 6.
  const narrow = mlp(5, data.numClasses);
  await saveLikeTfjs(narrow, path.join(dir, 'narrow'));
  narrow.dispose();
  fs.writeFileSync(path.join(dir, 'ids.csv'), `id\n${ids.slice(0, 40).join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'bad-ids.txt'), `${ids[0]}\nnobody-42\n`);
  fs.writeFileSync(
    path.join(dir, 'recipe.json'),
    JSON.stringify({ optimizer: { name: 'adam', lr: 0.01 }, epochs: 40, batchSize: 32 }),
  );
  return { dir, trainCsv, testCsv };
}

let ready: ReturnType<typeof setup> | undefined;
const fixture = () => {
  ready ??= setup();
  return ready;
};

const csvFlags = (f: { trainCsv: string; testCsv: string }) => [
  '--data',
  f.trainCsv,
  '--label',
  'kind',
  '--id',
  'rid',
  '--test',
  f.testCsv,
];

test('uib unlearn --model over a CSV with --recipe: ΔD moves toward the test set, a retrained reference, uib verify', {
  timeout: 300_000,
}, async (t) => {
  const f = await fixture();
  const out = path.join(f.dir, 'out');
  const before = tf.memory().numTensors;
  const r = await uib(
    'unlearn',
    '--model',
    path.join(f.dir, 'model'),
    ...csvFlags(f),
    '--forget',
    path.join(f.dir, 'ids.csv'),
    '--recipe',
    path.join(f.dir, 'recipe.json'),
    '--method',
    'uib-if',
    '--backend',
    backend,
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(tf.memory().numTensors, before, 'the command leaked tensors');
  assert.match(r.out, /accuracy on ΔD \(40\)/);
  const e = EvidenceSchema.parse(
    JSON.parse(fs.readFileSync(path.join(out, 'evidence.json'), 'utf8')),
  );
  const gap = (m: typeof e.before) => Math.abs(m.sets.forget.accuracy! - m.sets.test.accuracy!);
  const what = `ΔD ${e.before.sets.forget.accuracy} → ${e.after.sets.forget.accuracy}, test ${e.before.sets.test.accuracy} → ${e.after.sets.test.accuracy}`;
  t.diagnostic(what);
  assert.ok(e.before.sets.forget.accuracy! > e.before.sets.test.accuracy!, what);
  assert.ok(
    e.after.sets.forget.accuracy! < e.before.sets.forget.accuracy! || gap(e.after) < gap(e.before),
    what,
  );
  assert.ok(e.reference, 'a retrained reference with --recipe');
  assert.equal(typeof e.after.metrics['avg-gap'].value, 'number');
  assert.equal(e.missing['avg-gap'], undefined);
  const rec = readOwnDeletionRecord(path.join(out, 'deletion-record.json'));
  assert.equal(rec.data.format, 'csv');
  assert.deepEqual(rec.data.options, { label: 'kind', id: 'rid' });
  assert.equal(rec.recipe.value.epochs, 40);
  assert.equal(rec.reference?.method, 'retrain');
  assert.ok(fs.readFileSync(path.join(out, 'report.html'), 'utf8').includes('retrained'));

  const v = await uib('verify', out);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /data {7}.*csv, 300 samples/);
  assert.match(v.out, /test {7}.*150 samples/);
  // A changed weights file is named.
  const w = path.join(out, 'weights.bin');
  const bytes = fs.readFileSync(w);
  bytes[0] ^= 1;
  fs.writeFileSync(w, bytes);
  const bad = await uib('verify', out);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /weights\.bin: SHA-256 .* no longer matches/);

  // uib eval on the same split: the unlearned model against the original, with --out.
  const ev = path.join(f.dir, 'eval');
  const e2 = await uib(
    'eval',
    '--model',
    path.join(f.dir, 'model'),
    ...csvFlags(f),
    '--forget',
    path.join(f.dir, 'ids.csv'),
    '--backend',
    backend,
    '--out',
    ev,
  );
  assert.equal(e2.code, 0, e2.err);
  assert.match(e2.out, /accuracy on test \(150\)/);
  const evidence = EvidenceSchema.parse(
    JSON.parse(fs.readFileSync(path.join(ev, 'evidence.json'), 'utf8')),
  );
  assert.equal(evidence.after.sets.forget.accuracy, e.before.sets.forget.accuracy);
  assert.ok(fs.existsSync(path.join(ev, 'report.html')));
});

test('uib eval without --test: the test-set comparisons are missing, with the reason', async () => {
  const f = await fixture();
  const r = await uib(
    'eval',
    '--model',
    path.join(f.dir, 'model', 'model.json'),
    '--original',
    path.join(f.dir, 'model'),
    '--data',
    f.trainCsv,
    '--label',
    'kind',
    '--id',
    'rid',
    '--forget-where',
    'source=vendor',
    '--backend',
    backend,
    '--out',
    path.join(f.dir, 'eval-no-test'),
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /no held-out test set/);
  const e = EvidenceSchema.parse(
    JSON.parse(fs.readFileSync(path.join(f.dir, 'eval-no-test', 'evidence.json'), 'utf8')),
  );
  assert.equal(e.counts.forget, 60);
  assert.match(e.missing['mia-efficacy'], /--test/);
  assert.equal(e.counts.test, 0);
});

test('uib unlearn --model over a CSV --method ft: the memorised rows fall toward the test set, the model loads with tfjs', {
  timeout: 300_000,
}, async (t) => {
  const f = await fixture();
  const out = path.join(f.dir, 'out-ft');
  const r = await uib(
    'unlearn',
    '--model',
    path.join(f.dir, 'model'),
    ...csvFlags(f),
    '--forget',
    path.join(f.dir, 'ids.csv'),
    '--method',
    'ft',
    // FT's defaults (SGD, 2 passes) leave memorised noisy labels in place; Adam for 20 passes
    // over D_r is FT as a user who wants the rows gone would run it.
    '--param',
    'epochs=20',
    '--param',
    'lr=0.01',
    '--param',
    'optimizer=adam',
    '--seed',
    '2',
    '--backend',
    backend,
    '--quiet',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  const e = EvidenceSchema.parse(
    JSON.parse(fs.readFileSync(path.join(out, 'evidence.json'), 'utf8')),
  );
  const fb = e.before.sets.forget.accuracy!;
  const fa = e.after.sets.forget.accuracy!;
  const what = `ΔD ${fb} → ${fa}, test ${e.before.sets.test.accuracy} → ${e.after.sets.test.accuracy}`;
  assert.ok(fb > e.before.sets.test.accuracy!, what);
  const gap = (m: typeof e.before) => Math.abs(m.sets.forget.accuracy! - m.sets.test.accuracy!);
  t.diagnostic(what);
  assert.ok(fa < fb && gap(e.after) < gap(e.before), what);
  // tfjs alone (a separate process, no uib code) loads the result and predicts 3 class
  // probabilities per row.
  const input = path.join(f.dir, 'plain-input.bin');
  fs.writeFileSync(input, Buffer.from(new Float32Array(12).fill(0.5).buffer));
  const plain: number[] = JSON.parse(
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', PLAIN_TFJS_PREDICT, out, input, JSON.stringify([2, 6])],
      { cwd: ROOT, encoding: 'utf8' },
    ),
  );
  assert.equal(plain.length, 6);
  for (const row of [plain.slice(0, 3), plain.slice(3)])
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, String(row));
});

test('bad input: an unknown id, mixed modes, a model that does not fit the data — exit 2, one line, nothing written', async () => {
  const f = await fixture();
  const oneLine = (err: string) => {
    assert.equal(err.trim().split('\n').length, 1, err);
  };
  const out = path.join(f.dir, 'never');
  const unknown = await runUib(
    [
      'unlearn',
      '--model',
      path.join(f.dir, 'model'),
      ...csvFlags(f),
      '--forget',
      path.join(f.dir, 'bad-ids.txt'),
      '--method',
      'ft',
      '--out',
      out,
    ],
    { env: { UIB_BACKEND: backend } },
  );
  assert.equal(unknown.code, 2, unknown.stderr);
  oneLine(unknown.stderr);
  assert.match(unknown.stderr, /bad-ids\.txt: 1 of 2 ids are not in the data .*"nobody-42"/);
  assert.ok(!fs.existsSync(out), '--out is not created');

  const mixed = await uib(
    'unlearn',
    '--checkpoint',
    f.dir,
    '--model',
    path.join(f.dir, 'model'),
    '--method',
    'ft',
    '--out',
    out,
  );
  assert.equal(mixed.code, 2);
  oneLine(mixed.err);
  assert.match(mixed.err, /--model: cannot be combined with --checkpoint/);

  const narrow = await uib(
    'unlearn',
    '--model',
    path.join(f.dir, 'narrow'),
    ...csvFlags(f),
    '--forget-class',
    'alpha',
    '--method',
    'ft',
    '--backend',
    backend,
    '--out',
    out,
  );
  assert.equal(narrow.code, 2);
  oneLine(narrow.err);
  assert.match(narrow.err, /narrow.model\.json: the model takes samples of 5 .* samples are 6/);
  assert.ok(!fs.existsSync(out));

  const noRequest = await uib(
    'unlearn',
    '--model',
    path.join(f.dir, 'model'),
    '--data',
    f.trainCsv,
    '--method',
    'ft',
    '--out',
    out,
  );
  assert.equal(noRequest.code, 2);
  assert.match(noRequest.err, /--forget: required/);

  const recipe = path.join(f.dir, 'bad-recipe.json');
  fs.writeFileSync(
    recipe,
    JSON.stringify({ optimizer: { name: 'adam' }, epochs: 1, batchSize: 8 }),
  );
  const badRecipe = await uib(
    'unlearn',
    '--model',
    path.join(f.dir, 'model'),
    ...csvFlags(f),
    '--forget-class',
    'alpha',
    '--recipe',
    recipe,
    '--method',
    'ft',
    '--out',
    out,
  );
  assert.equal(badRecipe.code, 2);
  oneLine(badRecipe.err);
  assert.match(badRecipe.err, /bad-recipe\.json: optimizer\.lr/);
  assert.ok(!fs.existsSync(out));
});
