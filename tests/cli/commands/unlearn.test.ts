import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.ts';
import { sha256, sha256Json } from '../../../src/core/hash.ts';
import { rngFor } from '../../../src/core/rng.ts';
import {
  createScenario,
  materialiseScenario,
  writeManifest,
} from '../../../src/data/scenarios/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../../src/models/checkpoint.ts';
import { buildModel } from '../../../src/models/index.ts';
import type { ModelSpec } from '../../../src/models/types.ts';
import { trainModel } from '../../../src/train/train.ts';
import type { TrainRecipe } from '../../../src/train/types.ts';
import { RECORD_FILE, readDeletionRecord } from '../../../src/unlearn/record.ts';
import { writeTrainingFisherCache } from '../../../src/unlearn/uib/fisher-cache.ts';
import { tempDir } from '../../data/helpers.ts';
import { uib } from '../../helpers/cli.ts';

const backend = process.env.UIB_BACKEND ?? 'wasm';

/** A tiny MLP trained on a small bias scenario, saved with its F_D cache. */
async function setup() {
  await initBackend(backend);
  const dir = tempDir('unlearn');
  const manifest = createScenario({
    dataset: 'mnist',
    seed: 2,
    trainSize: 300,
    testSize: 50,
    scenario: {
      kind: 'bias',
      corruption: 'patch',
      biasClass: 3,
      rho: 0.9,
      q: 0.02,
      testFraction: 0.5,
    },
  });
  const manifestFile = path.join(dir, 'scenario.json');
  writeManifest(manifestFile, manifest);
  const s = materialiseScenario(manifest);
  const spec: ModelSpec = {
    arch: 'mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    hidden: [16],
    seed: 1,
  };
  const recipe: TrainRecipe = {
    optimizer: { name: 'adam', lr: 3e-3 },
    epochs: 2,
    batchSize: 32,
    seed: 1,
  };
  const model = buildModel(spec);
  await trainModel(model, s.train, recipe, { quiet: true });
  const ckpt = path.join(dir, 'ckpt');
  const meta = await saveCheckpoint(ckpt, model, { recipe, scenarioHash: sha256Json(manifest) });
  writeTrainingFisherCache(ckpt, model, s.train, { rng: rngFor(1, 'test', 'fisher') });
  model.dispose();
  return { dir, manifestFile, manifest, ckpt, meta };
}

let ready: ReturnType<typeof setup> | undefined;
const fixture = () => {
  ready ??= setup();
  return ready;
};

test('uib unlearn writes the unlearned checkpoint and a deletion record; UIB uses the cached F_D', async () => {
  const { dir, manifestFile, manifest, ckpt, meta } = await fixture();
  const out = path.join(dir, 'out-uib');
  const before = tf.memory().numTensors;
  const r = await uib(
    'unlearn',
    '--checkpoint',
    ckpt,
    '--scenario',
    manifestFile,
    '--method',
    'uib-if',
    '--param',
    'epochs=0.5',
    '--param',
    'searchSamples=64',
    '--beta',
    '2',
    '--seed',
    '5',
    '--backend',
    backend,
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(tf.memory().numTensors, before, 'the command leaked tensors');
  assert.match(r.out, /uib-if on bias .* from cache/);
  const rec = readDeletionRecord(path.join(out, RECORD_FILE));
  assert.equal(rec.method, 'uib-if');
  assert.equal(rec.params.epochs, 0.5);
  assert.equal(rec.params.beta, 2);
  assert.equal(rec.params.tau, 0.3, 'defaults are recorded too');
  assert.equal(rec.seed, 5);
  assert.equal(rec.environment.backend, backend);
  assert.equal(rec.scenario.manifestSha256, sha256Json(manifest));
  assert.equal(rec.scenario.fileSha256, sha256(fs.readFileSync(manifestFile)));
  assert.equal(rec.scenario.matchesCheckpoint, true);
  assert.equal(rec.scenario.counts.forget, manifest.counts.forget);
  assert.equal(rec.original.weightsSha256, meta.weightsSha256);
  assert.deepEqual(rec.curvature, { kind: 'fisher-stratified', source: 'cache', samples: 300 });
  for (const phase of ['fisher', 'prior', 'finetune'])
    assert.ok(rec.stats.phases[phase] > 0, phase);
  assert.ok(rec.stats.gradEvals > 0 && rec.stats.epochsTouched > 0);
  // The record names the weights that were written, and they differ from the original's.
  const { model, meta: newMeta } = await loadCheckpoint(out);
  assert.equal(rec.unlearned.weightsSha256, newMeta.weightsSha256);
  assert.equal(newMeta.weightsSha256, sha256(fs.readFileSync(path.join(out, 'weights.bin'))));
  assert.notEqual(newMeta.weightsSha256, meta.weightsSha256);
  model.dispose();
  // No temporary directories left behind.
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.includes('tmp')),
    [],
  );
});

test('uib unlearn without a cache (useCache=false) records a subsample, and runs a baseline', async () => {
  const { dir, manifestFile, ckpt } = await fixture();
  const out = path.join(dir, 'out-ft');
  const r1 = await uib(
    'unlearn',
    '--checkpoint',
    ckpt,
    '--scenario',
    manifestFile,
    '--method',
    'ft+uib',
    '--param',
    'epochs=0.3',
    '--param',
    'priorUseCache=false',
    '--param',
    'priorFisherSamples=100',
    '--backend',
    backend,
    '--quiet',
    '--out',
    out,
  );
  assert.equal(r1.code, 0, r1.err);
  assert.equal(r1.out, '', '--quiet prints nothing');
  const rec = readDeletionRecord(path.join(out, RECORD_FILE));
  assert.deepEqual(rec.curvature, { kind: 'fisher-stratified', source: 'subsample', samples: 100 });
  const out2 = path.join(dir, 'out-ga');
  const r2 = await uib(
    'unlearn',
    '--checkpoint',
    ckpt,
    '--scenario',
    manifestFile,
    '--method',
    'ga',
    '--param',
    'epochs=1',
    '--backend',
    backend,
    '--quiet',
    '--out',
    out2,
  );
  assert.equal(r2.code, 0, r2.err);
  const rec2 = readDeletionRecord(path.join(out2, RECORD_FILE));
  assert.equal(rec2.curvature, null);
  assert.equal(rec2.stats.gradEvals, rec2.scenario.counts.forget);
});

test('bad input: one line on stderr, exit 2, nothing written', async () => {
  const { dir, manifestFile, ckpt } = await fixture();
  const out = path.join(dir, 'out-bad');
  const base = [
    'unlearn',
    '--checkpoint',
    ckpt,
    '--scenario',
    manifestFile,
    '--backend',
    backend,
    '--out',
    out,
  ];
  const cases: [string[], RegExp][] = [
    [[...base, '--method', 'nope'], /--method: unknown method "nope"; must be one of .*uib-if/],
    [
      [...base, '--method', 'uib-if', '--param', 'epochs=abc'],
      /uib-if\.epochs: must be a number .*got "abc"/,
    ],
    [[...base, '--method', 'uib-if', '--param', 'epochs'], /--param: must be key=value/],
    [
      [...base, '--method', 'uib-if', '--param', 'tau=-1'],
      /uib-if\.tau: must be a number ≥ 0; got -1/,
    ],
    [
      [...base, '--method', 'uib-if', '--param', 'bogus=1'],
      /uib-if\.bogus: unknown hyper-parameter/,
    ],
    [[...base, '--method', 'ft', '--beta', '1'], /--beta: ft has no β/],
    [[...base, '--method', 'uib-if', '--beta', 'x'], /--beta: must be a number/],
    [
      ['unlearn', '--scenario', manifestFile, '--method', 'ft', '--out', out],
      /--checkpoint: required/,
    ],
    [
      [
        'unlearn',
        '--checkpoint',
        path.join(dir, 'missing'),
        '--scenario',
        manifestFile,
        '--method',
        'ft',
        '--out',
        out,
      ],
      /missing.*(cannot read|ENOENT|not found|missing)/i,
    ],
    [
      [
        'unlearn',
        '--checkpoint',
        ckpt,
        '--scenario',
        path.join(dir, 'none.json'),
        '--method',
        'ft',
        '--out',
        out,
      ],
      /none\.json: no such file/,
    ],
    [
      [...base.slice(0, -1), ckpt, '--method', 'ft'],
      /--out: .* holds --checkpoint .*would lose it/,
    ],
  ];
  for (const [argv, pattern] of cases) {
    const r = await uib(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}, ${r.err}`);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  assert.ok(!fs.existsSync(out));
});

test('a Fisher cache computed at other weights is refused (exit 2), not used silently', async () => {
  const { dir, manifestFile, ckpt } = await fixture();
  const copy = path.join(dir, 'ckpt-stale');
  fs.cpSync(ckpt, copy, { recursive: true });
  const indexFile = path.join(copy, 'fisher.json');
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  assert.match(index.weightsSha256, /^[0-9a-f]{64}$/);
  index.weightsSha256 = '0'.repeat(64);
  fs.writeFileSync(indexFile, JSON.stringify(index));
  const argv = ['unlearn', '--checkpoint', copy, '--scenario', manifestFile, '--method', 'uib-if'];
  const out = path.join(dir, 'out-stale');
  const r = await uib(...argv, '--backend', backend, '--quiet', '--out', out);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /fisher\.json: was computed for weights 000000000000…/);
  assert.ok(!fs.existsSync(out));
});
