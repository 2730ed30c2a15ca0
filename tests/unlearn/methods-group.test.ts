/**
 * The group-robustness baselines, DFR and JTT (src/unlearn/methods/dfr.ts, jtt.ts), on a tiny
 * spurious-correlation problem: a 2-class problem whose label is read from a noisy core feature
 * and a clean spurious one that agrees with the label on 90 % of the training samples (meta.bias
 * = 1[aligned]); ΔD = 60 aligned samples of class 1, so D_r keeps every group. A small MLP with
 * BatchNorm and Dropout trained on it leans on the spurious feature. Each check is a property of
 * the algorithm: what is trained, on which samples, how often, with no leak, reproducibly.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import { UsageError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import { Dataset } from '../../src/data/dataset.ts';
import { worstGroupAccuracy } from '../../src/eval/bias.ts';
import { predictLogits } from '../../src/train/evaluate.ts';
import { trainModel } from '../../src/train/train.ts';
import type { TrainRecipe } from '../../src/train/types.ts';
import { dfr, drawPerGroup, retainGroups } from '../../src/unlearn/methods/dfr.ts';
import { errorSet, jtt } from '../../src/unlearn/methods/jtt.ts';
import { getMethod, type UnlearnInputs, unlearn, unlearnWith } from '../../src/unlearn/registry.ts';
import type { UnlearnMethod } from '../../src/unlearn/types.ts';

const recipe: TrainRecipe = {
  optimizer: { name: 'adam', lr: 0.01 },
  epochs: 20,
  batchSize: 32,
  seed: 3,
};

/**
 * n samples of [core, spurious, noise, noise]: core = ±1 + N(0, 1) (the label's sign), spurious =
 * ±1 + N(0, 0.1), the label's sign with probability `aligned`, else the other's.
 */
function spurious(n: number, aligned: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 4);
  const y = new Uint8Array(n);
  const bias = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    bias[i] = rng.next() < aligned ? 1 : 0;
    const a = bias[i] ? y[i] : 1 - y[i];
    x.set(
      [2 * y[i] - 1 + rng.normal(), 2 * a - 1 + rng.normal(0, 0.1), rng.normal(), rng.normal()],
      i * 4,
    );
  }
  return new Dataset({
    name: 'spurious',
    sampleShape: [4],
    x,
    scale: 1,
    y,
    numClasses: 2,
    meta: { bias },
  });
}

/** Dense → BatchNorm → ReLU → Dropout → Dense `output`: a feature extractor with statistics. */
function smallNet(seed: number): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
  const x = tfl.input({ shape: [4] });
  let h = tfl.layers.dense({ units: 16, kernelInitializer: init(1), name: 'hidden' }).apply(x);
  h = tfl.layers.batchNormalization({ name: 'bn' }).apply(h);
  h = tfl.layers.activation({ activation: 'relu', name: 'relu' }).apply(h);
  h = tfl.layers.dropout({ rate: 0.1, name: 'drop' }).apply(h);
  const out = tfl.layers.dense({ units: 2, kernelInitializer: init(2), name: 'output' }).apply(h);
  return tfl.model({ inputs: x, outputs: out as tfl.SymbolicTensor });
}

const train = spurious(800, 0.9, 1);
const test_ = spurious(800, 0.5, 2); // the attribute independent of the label
const forgetPos: number[] = [];
const retainPos: number[] = [];
for (let i = 0; i < train.length; i++) {
  const aligned1 = train.label(i) === 1 && train.source.meta.bias![i] === 1;
  (aligned1 && forgetPos.length < 60 ? forgetPos : retainPos).push(i);
}
const data = { retain: train.subset(retainPos), forget: train.subset(forgetPos) };
const forgetSource = new Set(forgetPos);
let original: tfl.LayersModel;

before(async () => {
  await initBackend(process.env.UIB_BACKEND ?? 'wasm');
  original = smallNet(3);
  await trainModel(original, train, recipe, { quiet: true });
});

const inputs = (seed = 7): UnlearnInputs => ({ original, recipe, data, seed, quiet: true });

function worstGroup(model: tfl.LayersModel): number {
  const predicted = tf.tidy(() => {
    const { xs } = test_.tensors();
    return tf.argMax(predictLogits(model, xs), -1).dataSync();
  });
  const w = worstGroupAccuracy(predicted, test_.labels(), test_.source.meta.bias!);
  return w.value as number;
}

const bits = (m: tfl.LayersModel) =>
  new Map(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));

/** `method` with its ctx.train calls recorded: each stream's data, each sample drawn (source → count). */
function spied(method: UnlearnMethod) {
  const seen = { streams: [] as Dataset[], draws: new Map<number, number>() };
  const wrapped: UnlearnMethod = {
    ...method,
    run: (ctx, p) =>
      method.run(
        {
          ...ctx,
          train: (opts) => {
            for (const s of Object.values(opts.streams)) seen.streams.push(s.data);
            return ctx.train({
              ...opts,
              loss: (b, info) => {
                for (const [name, batch] of Object.entries(b))
                  for (const pos of batch.positions) {
                    const s = opts.streams[name].data.at(pos);
                    seen.draws.set(s, (seen.draws.get(s) ?? 0) + 1);
                  }
                return opts.loss(b, info);
              },
            });
          },
        },
        p,
      ),
  };
  return { wrapped, seen };
}

/** Runs `method`, asserting that the only tensors left are the returned model's weights. */
async function flat(method: UnlearnMethod, params: Record<string, unknown>, seed = 7) {
  const n0 = tf.memory().numTensors;
  const r = await unlearnWith(method, inputs(seed), params);
  const extra = tf.memory().numTensors - n0 - r.model.weights.length;
  assert.equal(extra, 0, `${method.id} leaked ${extra} tensors`);
  return r;
}

test('dfr re-fits the classifier alone (every other weight and statistic bit-identical) and raises worst-group accuracy', async () => {
  const r = await flat(dfr, { subsets: 3 });
  const before = bits(original);
  const after = bits(r.model);
  for (const [name, w] of before) {
    if (name.startsWith('output/')) assert.notDeepEqual(after.get(name), w, `${name} did not move`);
    else assert.deepEqual(after.get(name), w, `${name} moved`);
  }
  assert.ok(before.has('bn/moving_mean') && before.has('bn/moving_variance'));
  const w0 = worstGroup(original);
  const w1 = worstGroup(r.model);
  assert.ok(w0 < 0.7, `θ̂ should lean on the spurious feature (worst group ${w0})`);
  assert.ok(w1 > w0 + 0.15, `worst-group accuracy ${w0} → ${w1}`);
  assert.equal(r.details.balance, 'group');
  assert.equal(r.details.attribute, 'bias');
  r.model.dispose();
});

test('dfr balances D_r over label × attribute (labels where the data carry none) and never draws ΔD', async () => {
  const groups = retainGroups(data.retain, 'auto');
  assert.deepEqual([...groups.members.keys()].sort(), ['0/0', '0/1', '1/0', '1/1']);
  const smallest = Math.min(...[...groups.members.values()].map((m) => m.length));
  const subset = drawPerGroup(groups.members, smallest, new Rng(1));
  assert.equal(subset.length, 4 * smallest);
  assert.equal(new Set(subset).size, subset.length, 'drawn without replacement');
  // Without an attribute: class balance; asking for groups then is a one-line usage error.
  const bare = new Dataset({ ...train.source, meta: {} }, data.retain.indices);
  assert.deepEqual([...retainGroups(bare, 'auto').members.keys()].sort(), ['0', '1']);
  assert.throws(
    () => retainGroups(bare, 'group'),
    (e: unknown) => e instanceof UsageError && /^dfr\.balance: /.test(e.message),
  );

  const { wrapped, seen } = spied(dfr);
  const r = await flat(wrapped, { subsets: 2, steps: 20 });
  assert.equal(seen.streams.length, 2, 'one fit per subset');
  for (const s of seen.streams) {
    const counts = new Map<string, number>();
    for (let i = 0; i < s.length; i++) {
      assert.ok(!forgetSource.has(s.at(i)), `ΔD sample ${s.at(i)} in a fit's stream`);
      const key = `${s.label(i)}/${train.source.meta.bias![s.at(i)]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [smallest, smallest, smallest, smallest]);
  }
  for (const s of seen.draws.keys()) assert.ok(!forgetSource.has(s));
  assert.equal(r.details.groupSize, smallest);
  assert.deepEqual(r.details.forgetGroupsAbsentFromRetain, []);
  r.model.dispose();
});

test('jtt: E is exactly the misclassified D_r samples, each drawn λ_up times per epoch; ΔD never', async () => {
  // A linear model that predicts argmax(x₀, x₁): its errors can be read off the table below.
  const x = tfl.input({ shape: [2] });
  const out = tfl.layers.dense({ units: 2, name: 'output' }).apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: x, outputs: out });
  model.getLayer('output').setWeights([
    tf.tensor2d([
      [1, 0],
      [0, 1],
    ]),
    tf.tensor1d([0, 0]),
  ]);
  // prettier-ignore
  const rows = [
    [2, 0, 0],
    [2, 0, 1],
    [0, 2, 1],
    [0, 2, 0],
    [1, 0.5, 0],
    [0.5, 1, 1],
    [3, 1, 1],
    [1, 3, 1],
    /* ΔD: */ [2, 0, 1],
    [0, 2, 1],
  ];
  const all = new Dataset({
    name: 'hand',
    sampleShape: [2],
    x: Float32Array.from(rows.flatMap((r) => [r[0], r[1]])),
    scale: 1,
    y: Uint8Array.from(rows.map((r) => r[2])),
    numClasses: 2,
    meta: {},
  });
  const retain = all.subset([0, 1, 2, 3, 4, 5, 6, 7]);
  const forget = all.subset([8, 9]);
  assert.deepEqual(errorSet(model, retain), [1, 3, 6]);

  const { wrapped, seen } = spied(jtt);
  const lambdaUp = 3;
  const r = await unlearnWith(
    wrapped,
    { original: model, recipe, data: { retain, forget }, seed: 1, quiet: true },
    { epochs: 1, lambdaUp, batchSize: 2, lr: 0.01 },
  );
  assert.equal(r.details.errors, 3);
  assert.equal(r.details.streamLength, 8 + 3 * (lambdaUp - 1));
  const want = new Map(
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, [1, 3, 6].includes(i) ? lambdaUp : 1]),
  );
  assert.deepEqual(new Map([...seen.draws].sort((a, b) => a[0] - b[0])), want);
  for (const s of seen.streams)
    for (let i = 0; i < s.length; i++) assert.ok(s.at(i) < 8, `ΔD sample ${s.at(i)} in the stream`);
  r.model.dispose();
  model.dispose();
});

test('jtt on the spurious problem: the upsampled stream is D_r with θ̂’s errors λ_up times, ΔD excluded', async () => {
  const errors = errorSet(original, data.retain);
  assert.ok(errors.length > 0, 'θ̂ errs on some of D_r');
  const { wrapped, seen } = spied(jtt);
  const r = await flat(wrapped, { epochs: 2, lambdaUp: 5 });
  const wrong = new Set(errors.map((p) => data.retain.at(p)));
  for (let p = 0; p < data.retain.length; p++) {
    const s = data.retain.at(p);
    assert.equal(seen.draws.get(s), 2 * (wrong.has(s) ? 5 : 1), `sample ${s}`);
  }
  for (const s of forgetSource) assert.equal(seen.draws.get(s), undefined, `ΔD sample ${s} drawn`);
  assert.equal(r.details.errors, errors.length);
  r.model.dispose();
});

test('dfr and jtt: same seed, same weights; another seed, other draws; jtt+uib exists, dfr+uib does not', async () => {
  for (const [method, params] of [
    [dfr, { subsets: 2, steps: 30 }],
    [jtt, { epochs: 1 }],
  ] as const) {
    const a = await flat(method, params, 7);
    const b = await flat(method, params, 7);
    const c = await flat(method, params, 8);
    assert.deepEqual(bits(a.model), bits(b.model), `${method.id}: same seed, other weights`);
    assert.notDeepEqual(bits(a.model), bits(c.model), `${method.id}: the seed changed nothing`);
    for (const r of [a, b, c]) r.model.dispose();
  }
  assert.equal(getMethod('jtt+uib').baseId, 'jtt');
  assert.throws(() => getMethod('dfr+uib'), UsageError);
  // Through the registry by id, with its checks: the defaults parse and run.
  const r = await unlearn('jtt', inputs(), {});
  assert.equal(r.params.lambdaUp, 50);
  r.model.dispose();
});
