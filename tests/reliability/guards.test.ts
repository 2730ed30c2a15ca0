/**
 * Numerical guards. A run whose loss turns NaN/Inf or whose gradient norm explodes stops with a
 * DivergenceError naming the run and the step, before the bad step is applied; an unlearning
 * method that diverges leaves the original model bit-identical and leaks no tensors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import { DivergenceError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import {
  createScenario,
  materialiseScenario,
  type Scenario,
} from '../../src/data/scenarios/index.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { trainModel } from '../../src/train/train.ts';
import type { TrainRecipe } from '../../src/train/types.ts';
import { batchCE } from '../../src/unlearn/methods/common.ts';
import { ga } from '../../src/unlearn/methods/ga.ts';
import { unlearn, weightHashes } from '../../src/unlearn/registry.ts';

const spec: ModelSpec = {
  arch: 'mlp',
  hidden: [8],
  inputShape: [28, 28, 1],
  numClasses: 10,
  seed: 3,
};
const recipe: TrainRecipe = {
  optimizer: { name: 'sgd', lr: 0.1 },
  epochs: 1,
  batchSize: 32,
  seed: 3,
};

let ready: Promise<{ s: Scenario; original: LayersModel }> | null = null;
function setup() {
  ready ??= (async () => {
    await initBackend('cpu');
    const s = materialiseScenario(
      createScenario({
        dataset: 'mnist',
        seed: 1,
        trainSize: 100,
        testSize: 50,
        scenario: { kind: 'class', forgetClass: 3 },
      }),
    );
    const original = buildModel(spec);
    await trainModel(original, s.train, recipe, { quiet: true });
    return { s, original };
  })();
  return ready;
}

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

test('unlearn(ga) whose logits overflow stops with DivergenceError; the original is untouched', async () => {
  const { s, original } = await setup();
  // An original whose last layer is scaled by -1e36: predictions flip (a correct prediction at a
  // huge margin would give CE 0 and no gradient), and the gradient norm overflows float32.
  const hot = buildModel(spec);
  hot.setWeights(
    original.getWeights().map((w, i, all) => (i === all.length - 2 ? tf.mul(w, -1e36) : w)),
  );
  const before = weightHashes(hot);
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    unlearn('ga', {
      original: hot,
      spec,
      recipe,
      data: { retain: s.retain, forget: s.forget },
      seed: 1,
      quiet: true,
    }),
    (e: unknown) =>
      e instanceof DivergenceError &&
      /^ga: (loss became|gradient norm) (NaN|-?Infinity) at step 0/.test(e.message),
  );
  assert.deepEqual(weightHashes(hot), before, 'the original model changed');
  leaked = tf.memory().numTensors - n0;
  hot.dispose();
});

let leaked = -1;
test('unlearn(ga) that diverges disposes its clone (no tensors leak)', {
  todo: 'src/unlearn/methods/ga.ts does not dispose its clone when trainLoop throws',
}, () => {
  assert.equal(leaked, 0, `the diverged clone leaked ${leaked} tensors`);
});

// GA maximises the forget loss without bound: on an MLP its weights grow without ever reaching
// NaN (lr 10, 60 epochs: |w| ~ 1e4), so only a configurable guard (gradient-norm limit or a loss
// floor) can stop it. The test looks for such a parameter in GA's schema.
const gaGuard = Object.keys(
  (ga.params as unknown as { shape: Record<string, unknown> }).shape,
).find((k) => /guard|floor|ceiling|maxGradNorm|maxLoss|lossFloor/i.test(k));
test('GA at a huge learning rate is stopped by its configurable guard', {
  todo: gaGuard ? false : 'GA exposes no guard/floor parameter yet (src/unlearn/methods/ga.ts)',
}, async () => {
  const { s, original } = await setup();
  const before = weightHashes(original);
  const maxW0 = Math.max(...weightsOf(original).flat().map(Math.abs));
  let outcome: string;
  try {
    const r = await unlearn(
      'ga',
      {
        original,
        spec,
        recipe,
        data: { retain: s.retain, forget: s.forget },
        seed: 1,
        quiet: true,
      },
      { lr: 10, epochs: 60, optimizer: 'adam' },
    );
    const maxW = Math.max(...weightsOf(r.model).flat().map(Math.abs));
    r.model.dispose();
    outcome = `finished with max |w| ${maxW.toFixed(0)} (original ${maxW0.toFixed(2)})`;
    assert.ok(maxW < 100 * maxW0, `GA ran away: ${outcome}`);
  } catch (e) {
    assert.ok(e instanceof DivergenceError, String(e));
    outcome = e.message;
  }
  assert.deepEqual(weightHashes(original), before);
});
