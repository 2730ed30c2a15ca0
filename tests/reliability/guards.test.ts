/**
 * Numerical guards. A run whose loss turns NaN/Inf or whose gradient norm explodes stops with a
 * DivergenceError naming the run and the step, before the bad step is applied; an unlearning
 * method that diverges leaves the original model bit-identical and leaks no tensors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DivergenceError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import { buildModel } from '../../src/models/index.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { batchCE } from '../../src/unlearn/methods/common.ts';
import { unlearn, weightHashes } from '../../src/unlearn/registry.ts';
import { inputs, setup, spec } from './trained-mlp.ts';

const weightsOf = (m: LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

test('trainLoop: a NaN loss at step 3 throws DivergenceError before the step is applied', async () => {
  const { s } = await setup();
  const model = buildModel(spec);
  const n0 = tf.memory().numTensors;
  let atStep2: number[][] = [];
  await assert.rejects(
    trainLoop({
      model,
      streams: { train: { data: s.train, batchSize: 20 } },
      epochOver: 'train',
      steps: 10,
      loss: (b, info) => {
        if (info.step === 3) atStep2 = weightsOf(model);
        const ce = batchCE(model, b.train);
        return info.step === 3 ? tf.mul(ce, Number.NaN) : ce;
      },
      optimizer: { name: 'sgd', lr: 0.1 },
      rng: new Rng(1),
      label: 'nan-test',
      quiet: true,
    }),
    (e: unknown) =>
      e instanceof DivergenceError && /nan-test: loss became NaN at step 3/.test(e.message),
  );
  assert.deepEqual(weightsOf(model), atStep2, 'the diverging step changed the weights');
  assert.equal(tf.memory().numTensors, n0, 'tensors leaked');
  model.dispose();
});

test('trainLoop: an exploding gradient norm (above guard.maxGradNorm) throws DivergenceError', async () => {
  const { s } = await setup();
  const model = buildModel(spec);
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    trainLoop({
      model,
      streams: { train: { data: s.train, batchSize: 20 } },
      epochOver: 'train',
      steps: 5,
      loss: (b) => tf.mul(batchCE(model, b.train), 1e6),
      optimizer: { name: 'sgd', lr: 0.1 },
      guard: { maxGradNorm: 1e3 },
      rng: new Rng(1),
      label: 'grad-test',
      quiet: true,
    }),
    (e: unknown) =>
      e instanceof DivergenceError &&
      /grad-test: gradient norm .* at step 0 \(limit 1000\)/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, n0, 'tensors leaked');
  model.dispose();
});

/**
 * A copy of `original` whose output kernel is 3·10^38, finite (the finite-weights guard refuses an
 * original with infinite weights up front) but so large that every logit overflows to +∞ and
 * every loss is NaN.
 */
function nanModel(original: LayersModel): LayersModel {
  const hot = buildModel(spec);
  hot.setWeights(
    original.getWeights().map((w, i, all) => (i === all.length - 2 ? tf.fill(w.shape, 3e38) : w)),
  );
  return hot;
}

// Every method that clones θ̂ and trains the clone (the ones in src/unlearn/methods/ with a
// disposeOnThrow around their loop): a divergence must free the clone and leave θ̂ alone.
for (const id of ['ga', 'neg-grad-plus', 'rl', 'salun', 'scrub', 'boundary-shrink']) {
  test(`unlearn(${id}) on a model whose loss is NaN stops with DivergenceError, keeps θ̂, leaks nothing`, async () => {
    const { s, original } = await setup();
    const hot = nanModel(original);
    const before = weightHashes(hot);
    const n0 = tf.memory().numTensors;
    await assert.rejects(
      unlearn(id, inputs(s, hot), { epochs: 1 }),
      (e: unknown) =>
        e instanceof DivergenceError && /: loss became NaN at step 0$/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, n0, `${id} leaked tensors after diverging`);
    assert.deepEqual(weightHashes(hot), before, 'the original model changed');
    hot.dispose();
  });
}

// The ascent methods' configurable gradient-norm guard: a limit below a step's norm stops the run
// with the limit in the message, before that step is applied. (SCRUB's first max pass starts at
// the teacher, where KL is at its minimum and the gradient is 0: its first step over the limit
// may come in that pass or in the min pass after it.)
for (const id of ['ga', 'neg-grad-plus', 'scrub']) {
  test(`unlearn(${id}) stops with DivergenceError when a step's gradient norm exceeds maxGradNorm`, async () => {
    const { s, original } = await setup();
    const before = weightHashes(original);
    const n0 = tf.memory().numTensors;
    await assert.rejects(
      unlearn(id, inputs(s, original), { epochs: 1, maxGradNorm: 1e-6 }),
      (e: unknown) =>
        e instanceof DivergenceError &&
        /^(ga|neg-grad-plus|scrub (max|min) 1): gradient norm \d[\d.e+-]* at step \d+ \(limit 0\.000001\)$/.test(
          e.message,
        ),
    );
    assert.equal(tf.memory().numTensors, n0, `${id} leaked tensors after diverging`);
    assert.deepEqual(weightHashes(original), before);
  });
}

// GA maximises the forget loss: plain −CE has no maximum, and on this MLP at lr 10 with Adam the
// weights walk off (60 epochs: max |w| from 0.57 to ~700) without ever producing a NaN, so the
// loop's NaN check never fires. GA's forget-loss ceiling bounds the objective: once every ΔD
// sample is past it there is no gradient left and GA stops early.
test('GA at a huge learning rate is stopped by its forget-loss ceiling', async () => {
  const { s, original } = await setup();
  const before = weightHashes(original);
  const maxW0 = Math.max(...weightsOf(original).flat().map(Math.abs));
  const huge = { lr: 10, epochs: 60, optimizer: 'adam' };
  const r = await unlearn('ga', inputs(s, original), huge);
  const maxW = Math.max(...weightsOf(r.model).flat().map(Math.abs));
  const epochs = r.details.epochs as number;
  r.model.dispose();
  assert.ok(epochs < 10, `GA ran ${epochs} of 60 epochs: the ceiling did not stop it`);
  assert.ok(maxW < 100 * maxW0, `GA ran away: max |w| ${maxW} (original ${maxW0})`);
  assert.deepEqual(weightHashes(original), before);
  // The same run with the ceiling far out of reach runs on and on: the cap is what stopped it.
  const uncapped = await unlearn('ga', inputs(s, original), { ...huge, forgetLossCeiling: 1000 });
  const far = Math.max(...weightsOf(uncapped.model).flat().map(Math.abs));
  const uncappedEpochs = uncapped.details.epochs as number;
  uncapped.model.dispose();
  assert.ok(uncappedEpochs > 20, `uncapped GA stopped after ${uncappedEpochs} epochs`);
  assert.ok(far > 100 * maxW0, `uncapped GA stayed bounded (max |w| ${far})`);
});
