/**
 * SSD: the importance against brute force (per-example gradients from the probe pass, batched by
 * hand), the selection / dampening rule against a hand-computed example, and — the regression —
 * SSD at its defaults on a tiny class-forgetting scenario dampens weights and lowers the forget
 * accuracy (with the per-example Fisher it had selected nothing: F_f ≤ (|D|/|ΔD|)·F_D = 10·F_D).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { rngFor } from '../../src/core/rng.ts';
import { buildModel } from '../../src/models/index.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { curvatureByName } from '../../src/unlearn/methods/curvature.ts';
import {
  dampeningFactors,
  SSD_BATCH_SIZE,
  ssdImportance,
  trainingSetImportance,
} from '../../src/unlearn/methods/ssd.ts';
import { unlearn } from '../../src/unlearn/registry.ts';
import { fixture, inputsOf } from './fixtures.ts';
import { synthetic } from './uib/helpers.ts';

const weightsOf = (m: LayersModel) =>
  new Map(m.trainableWeights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));

function assertClose(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    const tol = 1e-5 * Math.max(Math.abs(a[i]), Math.abs(b[i])) + 1e-10;
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

test('dampeningFactors: the hand-computed rule (select I_f > α·I_D, β = min(λ·I_D/I_f, 1))', () => {
  const iD = Float32Array.from([1, 1, 1, 0, 0, 2, 0.5]);
  const iF = Float32Array.from([10, 10.5, 40, 3, 0, 100, 6]);
  // α = 10: entry 0 is a tie (not selected, strict >); 1: β = 1/10.5; 2: β = 1/40; 3: I_D = 0 →
  // β = 0; 4: both 0 → untouched; 5: 100 > 20, β = 2/100; 6: 6 > 5, β = 0.5/6.
  const beta = dampeningFactors(iD, iF, 10, 1);
  const want = [1, 1 / 10.5, 1 / 40, 0, 1, 2 / 100, 0.5 / 6];
  for (const [i, w] of want.entries()) assert.equal(beta[i], Math.fround(w), `β[${i}]`);
  // λ = 30: entry 2 becomes min(30/40, 1) = 0.75, entry 1 min(30/10.5, 1) = 1 (never grows).
  const big = dampeningFactors(iD, iF, 10, 30);
  assert.equal(big[1], 1);
  assert.equal(big[2], 0.75);
  assert.equal(big[5], Math.fround(60 / 100));
});

test('ssdImportance: mean over mini-batches of the squared batch-mean gradient (brute force)', async () => {
  await fixture('class'); // initialises the backend the other tests use
  const spec = { arch: 'mlp' as const, inputShape: [3], numClasses: 3, hidden: [4], seed: 2 };
  const model = buildModel(spec);
  const data = synthetic(23, [3], 3, 5);
  // Batches as the importance cuts them (fixed-seed shuffle, last one short): the square of each
  // batch's mean per-example gradient (the probe pass, a different code path), averaged.
  const batchSize = 5;
  const batches = data.batches(batchSize, rngFor(0, 'ssd-batches'));
  assert.equal(batches.length, 5);
  const want = new Map<string, Float64Array>();
  for (const pos of batches) {
    const g = curvatureByName(model, data.subset(pos), { diag: false }).grad;
    for (const [n, v] of g) {
      const acc = want.get(n) ?? new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) acc[i] += (v[i] * v[i]) / batches.length;
      want.set(n, acc);
    }
  }
  const before = tf.memory().numTensors;
  const got = ssdImportance(model, data, { batchSize });
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [n, v] of want) assertClose(got.get(n)!, Float32Array.from(v), n);
  // Batch size 1 is the per-example diagonal Fisher; one batch of all is the squared mean gradient.
  const fisher = curvatureByName(model, data, { diag: true });
  const one = ssdImportance(model, data, { batchSize: 1 });
  const all = ssdImportance(model, data, { batchSize: data.length });
  for (const [n, d] of fisher.diag) {
    assertClose(one.get(n)!, d, `${n} (B = 1)`);
    assertClose(
      all.get(n)!,
      fisher.grad.get(n)!.map((x) => x * x),
      `${n} (B = n)`,
    );
  }
  model.dispose();
});

test('ssd at its defaults dampens weights and lowers the forget accuracy on a class removal', async () => {
  const f = await fixture('class');
  const fisherD = trainingSetImportance(f.original, f.scenario.train);
  assert.equal(SSD_BATCH_SIZE, 64);
  const r = await unlearn('ssd', inputsOf(f, { fisherD }), {});
  const selected = r.details.selected as number;
  assert.ok(selected > 0, 'selected no weight');
  // Exactly the selected weights moved, and only towards zero.
  const before = weightsOf(f.original);
  const after = weightsOf(r.model);
  let moved = 0;
  for (const [n, a] of before) {
    const b = after.get(n)!;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      moved++;
      assert.ok(Math.abs(b[i]) < Math.abs(a[i]), `${n}[${i}] grew: ${a[i]} → ${b[i]}`);
    }
  }
  assert.ok(moved > 0 && moved <= selected, `moved ${moved}, selected ${selected}`);
  const fa0 = (await evaluate(f.original, f.scenario.forget)).accuracy;
  const fa1 = (await evaluate(r.model, f.scenario.forget)).accuracy;
  assert.ok(fa1 < fa0 - 0.2, `forget accuracy ${fa0} → ${fa1}`);
  // SSD never reads D_r: the cost counter saw ΔD only.
  assert.deepEqual(r.details.touched, { forget: f.scenario.forget.length });
  r.model.dispose();
});
