/**
 * The finite-weights guard (models/weight-guard.ts): no model with NaN, infinite or exploded
 * weights is returned by `unlearn()`, written by `saveCheckpoint`, loaded by `loadCheckpoint`, or
 * certified by `uib verify`. The attacks of issue 13 that wrote such models with exit 0: uib-if
 * with steps = 0 and a tiny λ (infinite weights), IU at α = 10^6 (|w| 2.6e33), FT at lr 10
 * (|w| 2.3e20), SSD and UIB-IF passing an original's NaN weights through.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { DivergenceError, UsageError } from '../../src/core/errors.ts';
import { sha256 } from '../../src/core/hash.ts';
import { loadCheckpoint, saveCheckpoint, WEIGHTS_FILE } from '../../src/models/checkpoint.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import {
  modelWeightsProblem,
  tensorProblem,
  WEIGHT_BOUND_FACTOR,
  weightScale,
} from '../../src/models/weight-guard.ts';
import { trainModel } from '../../src/train/train.ts';
import { RECORD_FILE } from '../../src/unlearn/record.ts';
import { unlearn, weightHashes } from '../../src/unlearn/registry.ts';
import { tempDir } from '../data/helpers.ts';
import { uib } from '../helpers/cli.ts';
import { inputs, recipe, setup, spec } from './trained-mlp.ts';
import { unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

test('tensorProblem: NaN and infinite entries counted; the bound is 10^4 × max(original scale, 1)', () => {
  assert.equal(tensorProblem('w', new Float32Array([1, 2, 3])), null);
  assert.equal(
    tensorProblem('w', new Float32Array([1, Number.NaN, Number.NaN, Number.POSITIVE_INFINITY])),
    'w holds 2 NaN and 1 infinite of 4 values',
  );
  // Without a reference only finiteness is checked; with one, the bound around its scale.
  assert.equal(tensorProblem('w', new Float32Array([1e30])), null);
  assert.equal(tensorProblem('w', new Float32Array([9999]), { w: 0.5 }), null);
  assert.match(
    tensorProblem('w', new Float32Array([-10001]), { w: 0.5 }) ?? '',
    /w reached \|w\| = 1\.00e\+4, beyond the bound 1\.00e\+4/,
  );
  assert.equal(tensorProblem('w', new Float32Array([29_000]), { w: 3 }), null);
  assert.match(
    tensorProblem('w', new Float32Array([31_000]), { w: 3 }) ?? '',
    /beyond the bound 3\.00e\+4/,
  );
  assert.equal(WEIGHT_BOUND_FACTOR, 1e4);
});

/** `unlearn(id)` must end in a DivergenceError naming the method and a tensor; the original is untouched. */
async function diverges(
  id: string,
  params: Record<string, unknown>,
  pattern: RegExp,
  arch: 'mlp' | 'cnn' = 'mlp',
) {
  const { s, original: mlp } = await setup();
  const cnnSpec: ModelSpec = { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 3 };
  const original = arch === 'mlp' ? mlp : buildModel(cnnSpec);
  if (arch === 'cnn') await trainModel(original, s.train, recipe, { quiet: true });
  const before = weightHashes(original);
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    unlearn(id, { ...inputs(s, original), spec: arch === 'mlp' ? spec : cnnSpec }, params),
    (e) => {
      assert.ok(e instanceof DivergenceError, `${id}: ${String(e)}`);
      assert.match(e.message, new RegExp(`^${id.replace('+', '\\+')}: `));
      assert.match(e.message, pattern);
      return true;
    },
  );
  assert.deepEqual(weightHashes(original), before);
  assert.equal(tf.memory().numTensors, n0, `${id} leaked tensors on divergence`);
  if (arch === 'cnn') original.dispose();
}

test('uib-if with steps = 0 and a tiny λ: DivergenceError, not infinite weights', async () => {
  await diverges(
    'uib-if',
    {
      steps: 0,
      lambda: 1e-38,
      tau: 1e30,
      alpha: 1,
      fisherSamples: 20,
      forgetSamples: 10,
      searchSamples: 10,
    },
    /(infinite|NaN|beyond the bound)/,
  );
});

test('IU at α = 10^6: DivergenceError naming the exploded tensor', async () => {
  await diverges('iu', { alpha: 1e6, samples: 16 }, /dense.*(beyond the bound|NaN|infinite)/);
});

test('FT at lr 10: DivergenceError (the weights explode without the loss ever turning NaN)', async () => {
  // The CNN at lr 10 (SGD, momentum 0.9) reaches |w| ~ 10^11 in 3 epochs with a finite loss. On
  // the wasm backend: the cpu backend's convolutions take minutes here.
  await setup();
  await initBackend('wasm');
  try {
    await diverges('ft', { lr: 10, epochs: 3 }, /ft: conv.*beyond the bound/, 'cnn');
  } finally {
    await initBackend('cpu');
  }
});

test('an original with NaN weights: unlearn refuses it (SSD and UIB-IF no longer pass it through)', async () => {
  const { s, original } = await setup();
  const poisoned = buildModel(spec);
  poisoned.setWeights(original.getWeights());
  const w0 = poisoned.weights[0];
  tf.tidy(() => {
    const v = w0.read().dataSync().slice() as Float32Array;
    v[5] = Number.NaN;
    w0.write(tf.tensor(v, w0.shape as number[]));
  });
  for (const id of ['ssd', 'uib-if']) {
    await assert.rejects(
      unlearn(
        id,
        { ...inputs(s, poisoned), precomputed: new Map() },
        id === 'uib-if' ? { steps: 1 } : {},
      ),
      (e) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, /original model: .* holds 1 NaN of .* nothing can be unlearned/);
        return true;
      },
    );
  }
  assert.match(modelWeightsProblem(poisoned) ?? '', /1 NaN/);
  // Nor can it be saved.
  const dir = tempDir('guard-save');
  await assert.rejects(saveCheckpoint(path.join(dir, 'ck'), poisoned), (e) => {
    assert.ok(e instanceof DivergenceError);
    assert.match(e.message, /holds 1 NaN .* nothing was written/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(dir), []);
  poisoned.dispose();
});

test('saveCheckpoint with a reference scale refuses exploded weights; nothing is written', async () => {
  const { original } = await setup();
  const big = buildModel(spec);
  big.setWeights(original.getWeights().map((t) => tf.mul(t, 1e6)));
  const dir = tempDir('guard-bound');
  await assert.rejects(
    saveCheckpoint(path.join(dir, 'ck'), big, { reference: weightScale(original), label: 'ft' }),
    /^DivergenceError: ft: .* beyond the bound/,
  );
  assert.deepEqual(fs.readdirSync(dir), []);
  big.dispose();
});

/** Rewrite a checkpoint's weights.bin with `edit` applied and fix every hash that names it. */
function forgeWeights(dir: string, edit: (w: Float32Array) => void) {
  const file = path.join(dir, WEIGHTS_FILE);
  const b = fs.readFileSync(file);
  const w = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  edit(w);
  const bytes = new Uint8Array(w.buffer);
  fs.writeFileSync(file, bytes);
  const sha = sha256(bytes);
  const metaFile = path.join(dir, 'metadata.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  meta.weightsSha256 = sha;
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  const recordFile = path.join(dir, RECORD_FILE);
  if (fs.existsSync(recordFile)) {
    const r = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
    r.unlearned.weightsSha256 = sha;
    fs.writeFileSync(recordFile, JSON.stringify(r));
  }
}

test('a checkpoint with NaN weights (hashes consistent) is refused by load, unlearn and verify; exploded ones by verify', async () => {
  const f = await unlearnFixture('guard-cli');
  const out = path.join(f.dir, 'out');
  assert.equal((await uib(...unlearnArgs(f, out))).code, 0);
  // NaN in the original: unlearn refuses it (exit 2, naming weights.bin) and writes nothing.
  const nanCk = path.join(f.dir, 'nan');
  fs.cpSync(f.checkpoint, nanCk, { recursive: true });
  forgeWeights(nanCk, (w) => {
    w[10] = Number.NaN;
  });
  await assert.rejects(loadCheckpoint(nanCk), /weights\.bin: .* holds 1 NaN/);
  const r = await uib(...unlearnArgs({ ...f, checkpoint: nanCk }, path.join(f.dir, 'out-nan')));
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /nan\/weights\.bin: .*holds 1 NaN/);
  assert.ok(!fs.existsSync(path.join(f.dir, 'out-nan')));
  const v1 = await uib('verify', nanCk);
  assert.equal(v1.code, 2);
  assert.match(v1.err, /holds 1 NaN/);
  // Exploded weights in an unlearned checkpoint, every hash rewritten to agree: verify refuses.
  const boom = path.join(f.dir, 'boom');
  fs.cpSync(out, boom, { recursive: true });
  const record = JSON.parse(fs.readFileSync(path.join(boom, RECORD_FILE), 'utf8'));
  record.unlearned.checkpoint = boom;
  fs.writeFileSync(path.join(boom, RECORD_FILE), JSON.stringify(record));
  forgeWeights(boom, (w) => {
    w[3] = 2.3e20;
  });
  const v2 = await uib('verify', boom);
  assert.equal(v2.code, 2, v2.out);
  assert.match(v2.err, /weights\.bin: .* reached \|w\| = 2\.30e\+20, beyond the bound .*diverged/);
  assert.equal(v2.err.trimEnd().split('\n').length, 1);
});

test('uib unlearn with IU at α = 10^6 exits 1 naming iu and writes nothing', async () => {
  const f = await unlearnFixture('guard-iu');
  const out = path.join(f.dir, 'out');
  const args = unlearnArgs(f, out).map((a) =>
    a === 'ft' ? 'iu' : a === 'epochs=1' ? 'alpha=1e6' : a,
  );
  const r = await uib(...args);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^uib: error: iu: .*(beyond the bound|NaN|infinite)/);
  assert.ok(!fs.existsSync(out));
  assert.deepEqual(
    fs.readdirSync(f.dir).filter((n) => n.includes('tmp')),
    [],
  );
});
