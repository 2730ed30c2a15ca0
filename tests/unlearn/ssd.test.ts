/**
 * SSD: the importance against brute force (per-example gradients from the probe pass, batched by
 * hand in the authors' order: consecutive, unshuffled batches of 64), the selection / dampening
 * rule against a hand-computed example, the authors' D order (D_r then ΔD) and the bound it brings
 * back, and — the regression — SSD at its defaults on a tiny class-forgetting scenario dampens
 * weights and lowers the forget accuracy (with the per-example Fisher it had selected nothing:
 * F_f ≤ (|D|/|ΔD|)·F_D = 10·F_D).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { rngFor } from '../../src/core/rng.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { buildModel } from '../../src/models/index.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { curvatureByName } from '../../src/unlearn/curvature/index.ts';
import {
  dampeningFactors,
  SSD_BATCH_SIZE,
  ssdImportance,
  ssdTrainingOrder,
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

/** Mean over the given batches (positions of `data`) of the squared batch-mean gradient, by hand. */
function importanceByHand(model: LayersModel, data: Dataset, batches: ArrayLike<number>[]) {
  const want = new Map<string, Float64Array>();
  for (const pos of batches) {
    // The batch's mean per-example gradient (the probe pass, a different code path), squared.
    const g = curvatureByName(model, data.subset(pos), { diag: false }).grad;
    for (const [n, v] of g) {
      const acc = want.get(n) ?? new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) acc[i] += (v[i] * v[i]) / batches.length;
      want.set(n, acc);
    }
  }
  return want;
}

const range = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, i) => lo + i);

test('ssdImportance: mean over unshuffled, consecutive batches of 64 of the squared batch-mean gradient (brute force)', async () => {
  await fixture('class'); // initialises the backend the other tests use
  const spec = { arch: 'mlp' as const, inputShape: [3], numClasses: 3, hidden: [4], seed: 2 };
  const model = buildModel(spec);
  const data = synthetic(150, [3], 3, 5);
  // The authors' loader: positions 0–63, 64–127, 128–149 (the last one short), in stored order.
  const want = importanceByHand(model, data, [range(0, 64), range(64, 128), range(128, 150)]);
  const before = tf.memory().numTensors;
  const got = ssdImportance(model, data);
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [n, v] of want) assertClose(got.get(n)!, Float32Array.from(v), n);
  // The training-set importance is the same computation.
  const iD = trainingSetImportance(model, data);
  for (const [n, v] of got) assert.deepEqual(iD.get(n), v, n);
  // The order matters: a shuffled batching (the earlier setting, still available) differs.
  const shuffled = ssdImportance(model, data, { shuffleSeed: 0 });
  const byHand = importanceByHand(model, data, data.batches(64, rngFor(0, 'ssd-batches')));
  for (const [n, v] of byHand) assertClose(shuffled.get(n)!, Float32Array.from(v), `${n} shuffled`);
  assert.ok(
    [...got].some(([n, v]) => v.some((x, i) => Math.abs(x - shuffled.get(n)![i]) > 1e-6 * x)),
    'shuffling changed nothing',
  );
  // Batch size 1 is the per-example diagonal Fisher; one batch of all is the squared mean gradient.
  const small = data.take(23);
  const fisher = curvatureByName(model, small, { diag: true });
  const one = ssdImportance(model, small, { batchSize: 1 });
  const all = ssdImportance(model, small, { batchSize: small.length });
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

test("ssdTrainingOrder is the authors' D (D_r then ΔD), under which I_f ≤ (|D|/|ΔD|)·I_D when ΔD's batches align", async () => {
  await fixture('class');
  const spec = { arch: 'mlp' as const, inputShape: [3], numClasses: 3, hidden: [4], seed: 4 };
  const model = buildModel(spec);
  const all = synthetic(192, [3], 3, 8);
  // ΔD: 64 samples scattered through the stored order; D_r: the other 128.
  const forgetPos = range(0, 192).filter((i) => i % 3 === 1);
  const retainPos = range(0, 192).filter((i) => i % 3 !== 1);
  const forget = all.subset(forgetPos);
  const retain = all.subset(retainPos);
  const d = ssdTrainingOrder(retain, forget);
  assert.deepEqual([...d.sourceIndices()], [...retain.sourceIndices(), ...forget.sourceIndices()]);
  const iD = trainingSetImportance(model, d);
  const iF = ssdImportance(model, forget);
  // |D_r| = 2·64: ΔD's one batch is D's last batch, so I_D ≥ I_f/3 entry by entry.
  let entries = 0;
  for (const [n, f] of iF) {
    const dn = iD.get(n)!;
    for (let i = 0; i < f.length; i++, entries++)
      assert.ok(f[i] <= 3 * dn[i] * (1 + 1e-5) + 1e-12, `${n}[${i}]: ${f[i]} vs 3·${dn[i]}`);
  }
  assert.ok(entries > 0);
  // In the stored order the same request is selectable at α = 3.
  const stored = trainingSetImportance(model, all);
  let selectable = 0;
  for (const [n, f] of iF)
    selectable += dampeningFactors(stored.get(n)!, f, 3, 1).filter((b) => b < 1).length;
  assert.ok(selectable > 0, 'nothing selectable in the stored order');
  assert.throws(() => ssdTrainingOrder(retain, synthetic(4, [3], 3, 1)), /one source/);
  model.dispose();
});

test('ssd at its defaults dampens weights and lowers the forget accuracy on a class removal', async () => {
  const f = await fixture('class');
  const importanceD = trainingSetImportance(f.original, f.scenario.train);
  assert.equal(SSD_BATCH_SIZE, 64);
  const r = await unlearn('ssd', inputsOf(f, { precomputed: importanceD }), {});
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
