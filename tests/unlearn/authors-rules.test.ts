/**
 * The baselines' rules as their authors' code runs them (issue 14; docs/methods.md, "Defaults and
 * their sources"): Fisher forgetting's F_r is Σ_y p_y·g_y² by brute force; RL's (and SalUn's)
 * random labels are redrawn at every visit of a ΔD sample and are never its true label; Boundary
 * Shrink labels ΔD with the argmax at the FGSM neighbour and trains at lr 1e-5; NegGrad+'s
 * optional distance to θ̂ and SCRUB's coupled weight decay are the penalties they claim to be.
 * Tiny MLPs on synthetic data: each test takes well under a second.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import { Rng } from '../../src/core/rng.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { CostCounter } from '../../src/train/cost.ts';
import { softmaxCrossEntropy } from '../../src/train/evaluate.ts';
import { trainLoop } from '../../src/train/loop.ts';
import type { TrainRecipe } from '../../src/train/types.ts';
import { neighbourLabels } from '../../src/unlearn/methods/boundary-shrink.ts';
import { batchCE, l2Penalty } from '../../src/unlearn/methods/common.ts';
import { retainFisher } from '../../src/unlearn/methods/fisher-forgetting.ts';
import { forgetLabeller } from '../../src/unlearn/methods/rl.ts';
import { getMethod, parseParams, type UnlearnInputs, unlearn } from '../../src/unlearn/registry.ts';
import { maxRelErr, perExampleGrads, synthetic } from './uib/helpers.ts';

before(() => initBackend(process.env.UIB_BACKEND ?? 'wasm'));

const spec: ModelSpec = { arch: 'mlp', inputShape: [4], hidden: [6], numClasses: 3, seed: 3 };
const recipe: TrainRecipe = {
  optimizer: { name: 'sgd', lr: 0.1 },
  epochs: 1,
  batchSize: 16,
  seed: 1,
};

/** 60 synthetic samples: ΔD = every fifth (12), D_r = the rest (48). */
function tiny(): { inputs: UnlearnInputs; forget: Dataset; retain: Dataset } {
  const all = synthetic(60, [4], 3, 11);
  const pos = Array.from({ length: 60 }, (_, i) => i);
  const forget = all.subset(pos.filter((i) => i % 5 === 0));
  const retain = all.subset(pos.filter((i) => i % 5 !== 0));
  const original = buildModel(spec);
  return {
    inputs: { original, spec, recipe, data: { retain, forget }, seed: 5, quiet: true },
    forget,
    retain,
  };
}

const weightsOf = (m: LayersModel) =>
  new Map(m.trainableWeights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));

function distance(a: LayersModel, b: LayersModel): number {
  const wb = weightsOf(b);
  let s = 0;
  for (const [n, x] of weightsOf(a))
    for (let i = 0; i < x.length; i++) s += (x[i] - wb.get(n)![i]) ** 2;
  return Math.sqrt(s);
}

test("fisher-forgetting's F_r is Σ_y p(y|x)·g_y², averaged over D_r (brute force), and the default", async () => {
  const { inputs, retain } = tiny();
  const model = inputs.original;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const probs = tf
    .tidy(() => tf.softmax(model.apply(retain.tensors().xs, { training: false }) as tf.Tensor))
    .arraySync() as number[][];
  const want = vars.map((v) => new Float64Array(v.size));
  for (let y = 0; y < 3; y++) {
    const per = perExampleGrads(model, vars, retain, new Int32Array(retain.length).fill(y));
    per.forEach((ex, i) => {
      ex.forEach((g, t) => {
        for (let j = 0; j < g.length; j++)
          want[t][j] += (probs[i][y] * g[j] * g[j]) / retain.length;
      });
    });
  }
  const cost = new CostCounter();
  const got = retainFisher(model, retain, 'expected', undefined, cost);
  model.trainableWeights.forEach((w, t) => {
    const err = maxRelErr(got.get(w.originalName)!, want[t]);
    assert.ok(err < 1e-4, `${w.originalName}: ${err}`);
  });
  assert.equal(cost.gradEvals, 3 * retain.length, 'one backward row per example and class');
  // The method's default is this Fisher: same weights as asking for it, not the sampled one's.
  assert.equal(parseParams(getMethod('fisher-forgetting'), {}).fisherLabels, 'expected');
  const byDefault = await unlearn('fisher-forgetting', inputs, { alpha: 1e-3 });
  const expected = await unlearn('fisher-forgetting', inputs, {
    alpha: 1e-3,
    fisherLabels: 'expected',
  });
  const sampled = await unlearn('fisher-forgetting', inputs, {
    alpha: 1e-3,
    fisherLabels: 'sampled',
  });
  assert.equal(distance(byDefault.model, expected.model), 0);
  assert.ok(distance(byDefault.model, sampled.model) > 0);
  assert.equal(byDefault.details.fisherLabels, 'expected');
  for (const r of [byDefault, expected, sampled]) r.model.dispose();
  model.dispose();
});

test('RL labels: redrawn at every visit (never the true label); once per run and over all classes on request', () => {
  const { forget, inputs } = tiny();
  inputs.original.dispose();
  const all = Uint32Array.from({ length: forget.length }, (_, i) => i);
  const truth = forget.labels();
  // Per batch: a second visit of the same samples draws new labels, none of them the true one.
  const perBatch = forgetLabeller(forget, 'batch', 'wrong', new Rng(3));
  const first = perBatch.labelsFor(all);
  const second = perBatch.labelsFor(all);
  for (const labels of [first, second])
    labels.forEach((y, i) => {
      assert.notEqual(y, truth[i], `sample ${i} got its true label`);
      assert.ok(y >= 0 && y < 3);
    });
  const changed = first.filter((y, i) => y !== second[i]).length;
  assert.ok(changed >= 3, `only ${changed} of ${forget.length} labels changed between visits`);
  assert.equal(perBatch.draws, 2 * forget.length);
  // Once: one table for the run.
  const once = forgetLabeller(forget, 'once', 'wrong', new Rng(3));
  assert.deepEqual(once.labelsFor(all), once.labelsFor(all));
  assert.equal(once.draws, forget.length);
  // Uniform (SalUn's code): over all classes, the true one included.
  const uniform = forgetLabeller(forget, 'batch', 'uniform', new Rng(4));
  let kept = 0;
  for (let r = 0; r < 20; r++)
    kept += uniform.labelsFor(all).filter((y, i) => y === truth[i]).length;
  assert.ok(kept > 0, 'the uniform pool never drew the true label');
});

test('rl and salun redraw ΔD labels per batch by default: one draw per ΔD sample visited', async () => {
  for (const id of ['rl', 'salun']) {
    const p = parseParams(getMethod(id), {});
    assert.equal(p.relabel, 'batch', id);
    assert.equal(p.randomLabels, 'wrong', id);
    const { inputs, forget } = tiny();
    const r = await unlearn(id, inputs, { epochs: 3, batchSize: 10 });
    // ΔD samples the loop drew (SalUn's saliency pass reads ΔD once more before it).
    const visits =
      (r.details.touched as Record<string, number>).forget - (id === 'salun' ? forget.length : 0);
    assert.ok(visits > forget.length, `${id}: ΔD visited ${visits} times`);
    assert.equal(r.details.labelDraws, visits, `${id}: a label per visit`);
    const once = await unlearn(id, inputs, { epochs: 3, batchSize: 10, relabel: 'once' });
    assert.equal(once.details.labelDraws, forget.length, `${id}: once`);
    assert.ok(distance(r.model, once.model) > 0);
    r.model.dispose();
    once.model.dispose();
    inputs.original.dispose();
  }
});

test("boundary-shrink: the authors' defaults (lr 1e-5, 10 epochs, batch 64, ε = 0.1) and argmax label at x'", () => {
  const p = parseParams(getMethod('boundary-shrink'), {});
  assert.deepEqual(
    {
      lr: p.lr,
      epochs: p.epochs,
      batchSize: p.batchSize,
      optimizer: p.optimizer,
      momentum: p.momentum,
      weightDecay: p.weightDecay,
      epsilon: p.epsilon,
      labelRule: p.labelRule,
    },
    {
      lr: 1e-5,
      epochs: 10,
      batchSize: 64,
      optimizer: 'sgd',
      momentum: 0.9,
      weightDecay: 0,
      epsilon: 0.1,
      labelRule: 'argmax',
    },
  );
  const model = buildModel({ ...spec, seed: 8 });
  const data = synthetic(30, [4], 3, 12);
  const eps = 0.5;
  // By hand, one sample at a time: x' = x + ε·sign ∇_x CE, then the logits at x'.
  const logitsAt: number[][] = [];
  for (let i = 0; i < data.length; i++) {
    const row = tf.tidy(() => {
      const { xs, ys } = data.tensors([i]);
      const g = tf.grad((x: tf.Tensor) =>
        softmaxCrossEntropy(model.apply(x, { training: false }) as tf.Tensor, ys),
      )(xs);
      const adv = tf.add(xs, tf.mul(tf.sign(g), eps));
      return (model.apply(adv, { training: false }) as tf.Tensor).dataSync().slice();
    });
    logitsAt.push(Array.from(row));
  }
  const argmax = (v: number[], skip = -1) =>
    v.reduce((best, x, c) => (c !== skip && (best < 0 || x > v[best]) ? c : best), -1);
  const truth = data.labels();
  const wantArgmax = logitsAt.map((v) => argmax(v));
  const stayed = wantArgmax.filter((y, i) => y === truth[i]).length;
  assert.ok(stayed > 0 && stayed < data.length, `choose ε: ${stayed} of ${data.length} stayed`);
  const cost = new CostCounter();
  const got = neighbourLabels(model, data, eps, cost, 7, 'argmax');
  assert.deepEqual([...got.labels], wantArgmax, 'argmax at x′ (a stayed sample keeps its label)');
  assert.equal(got.crossed, data.length - stayed);
  // The paper's wording, on request: where the step stayed in class y, the best other class.
  const nearest = neighbourLabels(model, data, eps, cost, 7, 'nearest-wrong');
  const wantNearest = logitsAt.map((v, i) =>
    wantArgmax[i] === truth[i] ? argmax(v, truth[i]) : wantArgmax[i],
  );
  assert.deepEqual([...nearest.labels], wantNearest);
  model.dispose();
});

test("l2Penalty: (w/2)·‖θ − θ₀‖² with gradient w·(θ − θ₀) — NegGrad+'s distance to θ̂, SCRUB's coupled decay", () => {
  const model = buildModel(spec);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const toInitial = l2Penalty(model, 0.3, 'current');
  const toZero = l2Penalty(model, 0.3, 'zero');
  const theta0 = vars.map((v) => v.dataSync().slice());
  // Move the weights; θ₀ stays what it was.
  vars.forEach((v) => {
    tf.tidy(() => v.assign(tf.add(v, tf.fill(v.shape, 0.25))));
  });
  const info = { step: 0, epoch: 0, totalSteps: 1, progress: 0 };
  for (const [pen, anchor] of [
    [toInitial, (t: number, j: number) => theta0[t][j]],
    [toZero, () => 0],
  ] as const) {
    const { value, grads } = tf.variableGrads(() => pen.value(info), vars);
    let want = 0;
    vars.forEach((v, t) => {
      const x = v.dataSync();
      const g = grads[v.name].dataSync();
      for (let j = 0; j < x.length; j++) {
        const d = x[j] - anchor(t, j);
        want += 0.15 * d * d;
        assert.ok(Math.abs(g[j] - 0.3 * d) < 1e-5, `${pen.name} gradient`);
      }
    });
    assert.ok(Math.abs(value.dataSync()[0] - want) < 1e-4 * want, `${pen.name} value`);
    tf.dispose([value, ...Object.values(grads)]);
  }
  toInitial.dispose();
  toZero.dispose();
  model.dispose();
});

test('neg-grad-plus: no distance term by default; l2ToInitial pulls towards θ̂. scrub: coupled weight decay by default', async () => {
  assert.equal(parseParams(getMethod('neg-grad-plus'), {}).l2ToInitial, 0);
  assert.equal(parseParams(getMethod('scrub'), {}).weightDecayMode, 'coupled');
  const { inputs } = tiny();
  const free = await unlearn('neg-grad-plus', inputs, { epochs: 2, forgetBatchSize: 4, lr: 0.1 });
  const tied = await unlearn('neg-grad-plus', inputs, {
    epochs: 2,
    forgetBatchSize: 4,
    lr: 0.1,
    l2ToInitial: 5,
  });
  const dFree = distance(free.model, inputs.original);
  const dTied = distance(tied.model, inputs.original);
  assert.ok(dTied < dFree, `distance to θ̂: ${dTied} with the term, ${dFree} without`);
  // Several steps per pass: on a pass's first step (momentum restarts per pass) both agree.
  const scrubArgs = { epochs: 1, weightDecay: 0.05, lr: 0.05, batchSize: 8, forgetBatchSize: 4 };
  const coupled = await unlearn('scrub', inputs, scrubArgs);
  const decoupled = await unlearn('scrub', inputs, { ...scrubArgs, weightDecayMode: 'decoupled' });
  assert.ok(distance(coupled.model, decoupled.model) > 0, 'the mode changed nothing');
  for (const r of [free, tied, coupled, decoupled]) r.model.dispose();
  inputs.original.dispose();
});

test("the coupled decay through the loop is PyTorch SGD's weight_decay: buf = μ·buf + g + wd·θ, θ −= lr·buf", async () => {
  const data = synthetic(12, [4], 3, 21);
  const wd = 0.2;
  const lr = 0.1;
  const mu = 0.9;
  const model = buildModel({ ...spec, hidden: [] });
  const byHand = buildModel({ ...spec, hidden: [] });
  byHand.setWeights(model.getWeights());
  const penalty = l2Penalty(model, wd, 'zero');
  await trainLoop({
    model,
    streams: { train: { data, batchSize: data.length } }, // full batch: every step sees all of it
    epochOver: 'train',
    steps: 3,
    loss: (b) => batchCE(model, b.train),
    penalties: [penalty],
    optimizer: { name: 'sgd', lr, momentum: mu, weightDecay: 0 },
    rng: new Rng(2),
    quiet: true,
  });
  penalty.dispose();
  const vars = byHand.trainableWeights.map((w) => w.read() as tf.Variable);
  const bufs = vars.map((v) => new Float32Array(v.size));
  const { xs, ys } = data.tensors();
  for (let step = 0; step < 3; step++) {
    const { value, grads } = tf.variableGrads(
      () => softmaxCrossEntropy(byHand.apply(xs, { training: true }) as tf.Tensor, ys),
      vars,
    );
    vars.forEach((v, t) => {
      const g = grads[v.name].dataSync();
      const x = v.dataSync().slice();
      for (let j = 0; j < x.length; j++) {
        bufs[t][j] = mu * bufs[t][j] + g[j] + wd * x[j];
        x[j] -= lr * bufs[t][j];
      }
      tf.tidy(() => v.assign(tf.tensor(x, v.shape)));
    });
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([xs, ys]);
  const got = weightsOf(model);
  for (const [n, w] of weightsOf(byHand)) assert.ok(maxRelErr(got.get(n)!, w) < 1e-5, n);
  model.dispose();
  byHand.dispose();
});

test("scrub optimizerState 'shared': one optimiser through all passes (the authors'); equal to per-pass when there is one pass", async () => {
  assert.equal(parseParams(getMethod('scrub'), {}).optimizerState, 'per-pass');
  const { inputs } = tiny();
  const args = { epochs: 1, maxEpochs: 1, lr: 0.05, batchSize: 8, forgetBatchSize: 4 };
  const before = tf.memory().numTensors;
  const perPass = await unlearn('scrub', inputs, args);
  const shared = await unlearn('scrub', inputs, { ...args, optimizerState: 'shared' });
  assert.ok(distance(perPass.model, shared.model) > 0, 'momentum carried into the min pass');
  const onePass = { ...args, maxEpochs: 0 };
  const a = await unlearn('scrub', inputs, onePass);
  const b = await unlearn('scrub', inputs, { ...onePass, optimizerState: 'shared' });
  assert.equal(distance(a.model, b.model), 0);
  for (const r of [perPass, shared, a, b]) r.model.dispose();
  assert.equal(tf.memory().numTensors, before, 'the shared optimiser is disposed');
  inputs.original.dispose();
});
