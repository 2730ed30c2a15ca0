/**
 * The per-method properties, run by methods-class.test.ts and methods-bias.test.ts on their
 * scenario. Each method runs with a few steps; each check is a property of its algorithm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluate } from '../../src/train/evaluate.ts';
import { meanGradientByName } from '../../src/unlearn/curvature/index.ts';
import { saliencyMasks } from '../../src/unlearn/methods/salun.ts';
import {
  dampeningFactors,
  ssdImportance,
  trainingSetImportance,
} from '../../src/unlearn/methods/ssd.ts';
import { type UnlearnInputs, unlearn } from '../../src/unlearn/registry.ts';
import { type Fixture, fixture, inputsOf, type ScenarioName } from './fixtures.ts';

const weightsOf = (m: LayersModel) =>
  new Map(m.trainableWeights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));

async function run(
  f: Fixture,
  id: string,
  params: Record<string, unknown>,
  extra: Partial<UnlearnInputs> = {},
) {
  const before = tf.memory().numTensors;
  const r = await unlearn(id, inputsOf(f, extra), params);
  const after = tf.memory().numTensors;
  // The only new tensors are the returned model's weights.
  assert.equal(
    after - before,
    r.model.weights.length,
    `${id} leaked ${after - before - r.model.weights.length} tensors`,
  );
  assert.ok(r.stats.timeMs > 0 && r.stats.gradEvals >= 0);
  return r;
}

const forgetStats = async (f: Fixture, m: LayersModel) => evaluate(m, f.scenario.forget);

export function methodChecks(name: ScenarioName): void {
  const isClass = name === 'class';

  test(`${name}: retrain trains a fresh model on D_r`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'retrain', { epochs: 1 });
    const fa = (await forgetStats(f, r.model)).accuracy;
    if (isClass) assert.ok(fa <= 0.02, `retrain forget accuracy ${fa} on a removed class`);
    assert.equal(r.stats.gradEvals, f.scenario.retain.length);
    r.model.dispose();
  });

  test(`${name}: ft does not raise the retain loss`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'ft', { epochs: 1, lr: 0.005 });
    const before = await evaluate(f.original, f.scenario.retain);
    const after = await evaluate(r.model, f.scenario.retain);
    assert.ok(after.loss <= before.loss + 0.02, `retain loss ${before.loss} → ${after.loss}`);
    assert.equal(
      r.details.touched && (r.details.touched as Record<string, number>).forget,
      undefined,
    );
    r.model.dispose();
  });

  test(`${name}: ga raises the forget loss and never reads D_r`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'ga', { epochs: 1, lr: 0.01 });
    const before = await forgetStats(f, f.original);
    const after = await forgetStats(f, r.model);
    assert.ok(after.loss > before.loss, `forget loss ${before.loss} → ${after.loss}`);
    assert.ok(after.accuracy <= before.accuracy);
    r.model.dispose();
  });

  test(`${name}: neg-grad-plus raises the forget loss`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'neg-grad-plus', { epochs: 0.5, alpha: 0.9 });
    assert.ok((await forgetStats(f, r.model)).loss > (await forgetStats(f, f.original)).loss);
    r.model.dispose();
  });

  test(`${name}: rl lowers the forget accuracy`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'rl', { epochs: 0.5 });
    const before = (await forgetStats(f, f.original)).accuracy;
    const after = (await forgetStats(f, r.model)).accuracy;
    assert.ok(after < before, `forget accuracy ${before} → ${after}`);
    r.model.dispose();
  });

  test(`${name}: l1-sparse increases the share of near-zero weights`, async () => {
    const f = await fixture(name);
    const share = (m: LayersModel) => {
      let small = 0;
      let all = 0;
      for (const w of weightsOf(m).values()) {
        for (const x of w) if (Math.abs(x) < 1e-3) small++;
        all += w.length;
      }
      return small / all;
    };
    const params = { epochs: 0.5, lr: 0.01, gamma: 0.05 };
    const r = await run(f, 'l1-sparse', params);
    const ftRun = await run(f, 'ft', { epochs: 0.5, lr: 0.01 });
    assert.ok(share(r.model) > share(f.original), `${share(f.original)} → ${share(r.model)}`);
    assert.ok(share(r.model) > share(ftRun.model));
    r.model.dispose();
    ftRun.model.dispose();
  });

  test(`${name}: iu takes one step that raises the forget loss`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'iu', { samples: 8, alpha: 1 });
    assert.ok((r.details.stepNorm as number) > 0);
    assert.ok((await forgetStats(f, r.model)).loss > (await forgetStats(f, f.original)).loss);
    r.model.dispose();
  });

  test(`${name}: salun leaves the unmasked weights bit-identical (with momentum and weight decay)`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'salun', {
      epochs: 0.5,
      maskRatio: 0.3,
      weightDecay: 0.01,
      momentum: 0.9,
    });
    const grads = meanGradientByName(f.original, f.scenario.forget);
    const shapes = new Map(
      f.original.trainableWeights.map((w) => [w.originalName, w.shape as number[]]),
    );
    const { masks, kept, total } = saliencyMasks(grads, shapes, 0.3);
    assert.equal(kept, Math.round(0.3 * total));
    const before = weightsOf(f.original);
    const after = weightsOf(r.model);
    let frozenMoved = 0;
    let freeMoved = 0;
    for (const [n, m] of masks) {
      const mask = m.dataSync();
      const a = before.get(n)!;
      const b = after.get(n)!;
      for (let i = 0; i < a.length; i++) {
        if (mask[i] === 0 && !Object.is(a[i], b[i])) frozenMoved++;
        if (mask[i] === 1 && a[i] !== b[i]) freeMoved++;
      }
    }
    tf.dispose([...masks.values()]);
    assert.equal(frozenMoved, 0);
    assert.ok(freeMoved > 0.5 * kept, `only ${freeMoved} of ${kept} free weights moved`);
    r.model.dispose();
  });

  test(`${name}: scrub moves the student further from the teacher on ΔD than on D_r`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'scrub', { epochs: 1, maxEpochs: 1, lr: 0.01 });
    const kl = async (ds: typeof f.scenario.forget) => {
      const t = await evaluate(f.original, ds, 256, { probs: true });
      const s = await evaluate(r.model, ds, 256, { probs: true });
      let sum = 0;
      for (let i = 0; i < t.probs!.length; i++)
        sum += t.probs![i] * Math.log((t.probs![i] + 1e-12) / (s.probs![i] + 1e-12));
      return sum / ds.length;
    };
    const kf = await kl(f.scenario.forget);
    const kr = await kl(f.scenario.retain);
    assert.ok(kf > kr, `KL on ΔD ${kf} vs D_r ${kr}`);
    r.model.dispose();
  });

  test(`${name}: ssd changes exactly the selected weights, never reading D_r`, async () => {
    const f = await fixture(name);
    const importanceD = trainingSetImportance(f.original, f.scenario.train);
    const alpha = 10; // the paper's
    const r = await run(f, 'ssd', { alpha, lambda: 1 }, { precomputed: importanceD });
    const fF = ssdImportance(f.original, f.scenario.forget);
    const before = weightsOf(f.original);
    const after = weightsOf(r.model);
    let selected = 0;
    for (const [n, a] of before) {
      const beta = dampeningFactors(importanceD.get(n)!, fF.get(n)!, alpha, 1);
      const b = after.get(n)!;
      for (let i = 0; i < a.length; i++) {
        const isSel = fF.get(n)![i] > alpha * importanceD.get(n)![i];
        if (isSel) selected++;
        if (!isSel) assert.ok(Object.is(a[i], b[i]), `${n}[${i}] moved but was not selected`);
        else assert.equal(b[i], Math.fround(a[i] * beta[i]));
      }
    }
    assert.ok(selected > 0);
    assert.equal(r.details.selected, selected);
    r.model.dispose();
  });

  test(`${name}: fisher-forgetting adds seeded noise${isClass ? ' and silences the removed class' : ''}`, async () => {
    const f = await fixture(name);
    const r1 = await run(f, 'fisher-forgetting', {});
    const r2 = await run(f, 'fisher-forgetting', {});
    const w1 = weightsOf(r1.model);
    const w2 = weightsOf(r2.model);
    for (const [n, a] of w1) assert.deepEqual(a, w2.get(n), `${n}: same seed, different noise`);
    const moved = [...w1].some(([n, a]) =>
      a.some((x, i) => x !== weightsOf(f.original).get(n)![i]),
    );
    assert.ok(moved);
    if (isClass) {
      assert.equal(r1.details.removedClass, 3);
      assert.ok((await forgetStats(f, r1.model)).accuracy <= 0.05);
    } else assert.equal(r1.details.removedClass, null);
    r1.model.dispose();
    r2.model.dispose();
  });

  test(`${name}: boundary-shrink fine-tunes ΔD towards its FGSM neighbours' labels and lowers its accuracy`, async () => {
    const f = await fixture(name);
    const r = await run(f, 'boundary-shrink', { epochs: 2, lr: 0.01 });
    const before = (await forgetStats(f, f.original)).accuracy;
    const after = (await forgetStats(f, r.model)).accuracy;
    assert.ok(after < before, `forget accuracy ${before} → ${after}`);
    r.model.dispose();
  });
}
