import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { DivergenceError, UsageError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { CostCounter } from '../../src/train/cost.ts';
import { softmaxCrossEntropy } from '../../src/train/evaluate.ts';
import { trainableVariables, trainLoop } from '../../src/train/loop.ts';
import { OptimizerSession } from '../../src/train/optimizer.ts';
import type { LoopOptions, OptimizerSpec } from '../../src/train/types.ts';
import { blobs } from './fixtures.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const spec: ModelSpec = { arch: 'mlp', inputShape: [4], numClasses: 3, hidden: [8], seed: 1 };
const data = blobs(48, 4, 3, 5);

function ceLoop(model: LayersModel, over: Partial<LoopOptions> = {}): LoopOptions {
  return {
    model,
    streams: { train: { data, batchSize: 10 } },
    epochOver: 'train',
    epochs: 2,
    optimizer: { name: 'adam', lr: 0.01 },
    rng: new Rng(3),
    quiet: true,
    loss: (b) =>
      softmaxCrossEntropy(model.apply(b.train.x, { training: true }) as tf.Tensor, b.train.y),
    ...over,
  };
}

const snapshot = (m: LayersModel) =>
  m.getWeights().map((w) => w.dataSync().slice() as Float32Array);

test('one epoch = one pass over epochOver (last batch short); history and cost are counted', async () => {
  const m = buildModel(spec);
  const cost = new CostCounter();
  const r = await trainLoop(ceLoop(m, { cost, epochs: 3 }));
  assert.equal(r.steps, 15); // ceil(48/10) = 5 steps per epoch
  assert.equal(r.epochs, 3);
  assert.deepEqual(
    r.history.map((h) => h.epoch),
    [0, 1, 2],
  );
  assert.equal(cost.gradEvals, 3 * 48);
  assert.deepEqual(cost.touched, { train: 3 * 48 });
  assert.ok(r.history[2].loss < r.history[0].loss, 'loss goes down');
});

test('other streams cycle; each step gets one batch of each', async () => {
  const m = buildModel(spec);
  const small = blobs(7, 4, 3, 6);
  const cost = new CostCounter();
  const seen: number[] = [];
  await trainLoop(
    ceLoop(m, {
      cost,
      epochs: 1,
      streams: { train: { data, batchSize: 16 }, aux: { data: small, batchSize: 4 } },
      loss: (b) => {
        seen.push(b.aux.positions.length);
        return softmaxCrossEntropy(m.apply(b.train.x, { training: true }) as tf.Tensor, b.train.y);
      },
    }),
  );
  assert.deepEqual(seen, [4, 3, 4]); // 7 samples in batches of 4: 4, 3, then a reshuffled pass
  assert.deepEqual(cost.touched, { train: 48, aux: 11 });
});

test('tf.memory().numTensors stays flat across steps', async () => {
  const m = buildModel(spec);
  const counts: number[] = [];
  const base = tf.memory().numTensors;
  await trainLoop(
    ceLoop(m, {
      epochs: 4,
      optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-3 },
      clipGradNorm: 1,
      penalties: [
        { name: 'l2', value: () => tf.mul(tf.sum(tf.square(trainableVariables(m)[0])), 1e-3) },
      ],
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
        return undefined;
      },
    }),
  );
  assert.equal(new Set(counts).size, 1, `tensor count changed: ${counts}`);
  assert.equal(tf.memory().numTensors, base, 'optimizer state released after the run');
});

test('BatchNorm moving statistics update in training mode, not in inference', async () => {
  const r: ModelSpec = {
    arch: 'resnet18',
    inputShape: [8, 8, 1],
    numClasses: 3,
    width: 2,
    seed: 1,
  };
  const m = buildModel(r);
  const img = blobs(12, 64, 3, 9, [8, 8, 1]);
  const mean = () => m.getLayer('stem_bn').getWeights()[2].dataSync().slice();
  const before = mean();
  tf.tidy(() => m.predict(img.tensors().xs));
  assert.deepEqual(mean(), before);
  const base = tf.memory().numTensors;
  await trainLoop(ceLoop(m, { streams: { train: { data: img, batchSize: 6 } }, epochs: 1 }));
  assert.notDeepEqual(mean(), before);
  assert.equal(tf.memory().numTensors, base);
});

test('same seed → bit-identical weights; another shuffling seed → different', async () => {
  const runs = [3, 3, 4].map(async (seed) => {
    const m = buildModel(spec);
    await trainLoop(ceLoop(m, { rng: new Rng(seed) }));
    return snapshot(m);
  });
  const [a, b, c] = [await runs[0], await runs[1], await runs[2]];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

for (const optimizer of [
  { name: 'adam', lr: 0.05, weightDecay: 0.1 },
  { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.1 },
] as OptimizerSpec[]) {
  test(`masks: frozen entries stay bit-identical under ${optimizer.name} + weight decay`, async () => {
    const m = buildModel(spec);
    const kernel = m.getLayer('dense_1').trainableWeights[0];
    const bias = m.getLayer('output').trainableWeights[1];
    // Freeze every other kernel entry (by the in-model name) and the whole output bias (by the unique name).
    const kMask = tf.tensor(
      Array.from({ length: 32 }, (_, i) => i % 2),
      kernel.shape as number[],
    );
    const bMask = tf.zeros(bias.shape as number[]);
    const masks = new Map([
      ['dense_1/kernel', kMask],
      [(bias.read() as tf.Variable).name, bMask],
    ]);
    const k0 = kernel.read().dataSync().slice();
    const b0 = bias.read().dataSync().slice();
    await trainLoop(ceLoop(m, { optimizer, masks, epochs: 3 }));
    const k1 = kernel.read().dataSync();
    for (let i = 0; i < 32; i++) {
      if (i % 2 === 0) assert.equal(k1[i], k0[i], `frozen entry ${i} moved`);
      else assert.notEqual(k1[i], k0[i], `free entry ${i} did not move`);
    }
    assert.deepEqual(bias.read().dataSync(), b0);
    tf.dispose([kMask, bMask]);
  });
}

test('a mask of the wrong shape is refused', async () => {
  const m = buildModel(spec);
  const bad = tf.ones([3]);
  await assert.rejects(
    trainLoop(ceLoop(m, { masks: new Map([['dense_1/kernel', bad]]) })),
    /masks\[dense_1\/kernel_\d+\]: shape \[3\] does not match/,
  );
  bad.dispose();
});

test('Adam and SGD steps match hand computation (decoupled decay, momentum, bias correction)', async () => {
  // Loss ½‖w − t‖² on one variable: gradient w − t.
  const run = async (optimizer: OptimizerSpec, steps: number) => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const t = tf.tensor1d([0.5, 0.5]);
    const m = buildModel(spec);
    await trainLoop({
      model: m,
      variables: [w],
      streams: { train: { data, batchSize: 48 } },
      epochOver: 'train',
      steps,
      optimizer,
      rng: new Rng(1),
      quiet: true,
      loss: () => tf.mul(tf.sum(tf.square(tf.sub(w, t))), 0.5),
    });
    const out = Array.from(w.dataSync());
    tf.dispose([w, t]);
    return out;
  };
  // SGD, momentum 0.5, wd 0.1, lr 0.1: v ← μv + g; w ← w − lr(v + wd·w).
  let w = [1, -2];
  let v = [0, 0];
  for (let s = 0; s < 2; s++) {
    v = v.map((vi, i) => 0.5 * vi + (w[i] - 0.5));
    w = w.map((wi, i) => wi - 0.1 * (v[i] + 0.1 * wi));
  }
  const sgd = await run({ name: 'sgd', lr: 0.1, momentum: 0.5, weightDecay: 0.1 }, 2);
  sgd.forEach((x, i) => {
    assert.ok(Math.abs(x - w[i]) < 1e-6, `sgd ${x} vs ${w[i]}`);
  });
  // Adam, lr 0.1, wd 0.01.
  w = [1, -2];
  let m1 = [0, 0];
  let m2 = [0, 0];
  for (let s = 1; s <= 3; s++) {
    const g = w.map((wi) => wi - 0.5);
    m1 = m1.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
    m2 = m2.map((mi, i) => 0.999 * mi + 0.001 * g[i] ** 2);
    w = w.map((wi, i) => {
      const u = m1[i] / (1 - 0.9 ** s) / (Math.sqrt(m2[i] / (1 - 0.999 ** s)) + 1e-8);
      return wi - 0.1 * (u + 0.01 * wi);
    });
  }
  const adam = await run({ name: 'adam', lr: 0.1, weightDecay: 0.01 }, 3);
  adam.forEach((x, i) => {
    assert.ok(Math.abs(x - w[i]) < 1e-5, `adam ${x} vs ${w[i]}`);
  });
});

test('clipGradNorm caps the step: plain SGD moves by exactly lr·clip', async () => {
  const w = tf.variable(tf.tensor1d([30, 40]));
  const m = buildModel(spec);
  await trainLoop({
    model: m,
    variables: [w],
    streams: { train: { data, batchSize: 48 } },
    epochOver: 'train',
    steps: 1,
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0 },
    clipGradNorm: 5,
    rng: new Rng(1),
    quiet: true,
    loss: () => tf.mul(tf.sum(tf.square(w)), 0.5), // gradient (30, 40), norm 50
  });
  const [a, b] = w.dataSync();
  assert.ok(
    Math.abs(a - (30 - 0.1 * 3)) < 1e-5 && Math.abs(b - (40 - 0.1 * 4)) < 1e-5,
    `${a}, ${b}`,
  );
  w.dispose();
});

test('guard: an injected NaN throws DivergenceError before the update; so does a huge gradient', async () => {
  const m = buildModel(spec);
  const before = snapshot(m);
  const base = tf.memory().numTensors;
  await assert.rejects(
    trainLoop(
      ceLoop(m, {
        penalties: [{ name: 'nan', value: (i) => tf.scalar(i.step === 0 ? Number.NaN : 0) }],
      }),
    ),
    (e) => e instanceof DivergenceError && /loss became NaN at step 0/.test(e.message),
  );
  assert.deepEqual(snapshot(m), before, 'no update applied');
  assert.equal(tf.memory().numTensors, base, 'nothing leaked on the error path');
  await assert.rejects(
    trainLoop(ceLoop(m, { guard: { maxGradNorm: 1e-6 } })),
    (e) => e instanceof DivergenceError && /gradient norm/.test(e.message),
  );
  await assert.rejects(
    trainLoop(ceLoop(m, { guard: { maxLoss: 1e-6 } })),
    (e) => e instanceof DivergenceError,
  );
});

test('onEpochEnd may stop early', async () => {
  const m = buildModel(spec);
  const r = await trainLoop(
    ceLoop(m, { epochs: 5, onEpochEnd: (e) => (e === 1 ? 'stop' : undefined) }),
  );
  assert.equal(r.steps, 10);
  assert.equal(r.history.length, 2);
});

test('fractional epochs and explicit steps', async () => {
  const m = buildModel(spec);
  assert.equal((await trainLoop(ceLoop(m, { epochs: 0.4 }))).steps, 2);
  assert.equal((await trainLoop(ceLoop(m, { epochs: undefined, steps: 7 }))).steps, 7);
});

test('bad loop options are refused', async () => {
  const m = buildModel(spec);
  await assert.rejects(
    trainLoop(ceLoop(m, { epochOver: 'forget' })),
    (e) => e instanceof UsageError && /epochOver/.test(e.message),
  );
  await assert.rejects(trainLoop(ceLoop(m, { epochs: 0 })), /epochs: must be a positive number/);
  await assert.rejects(
    trainLoop(ceLoop(m, { streams: { train: { data: data.take(0), batchSize: 4 } } })),
    /streams\.train: is empty/,
  );
  await assert.rejects(
    trainLoop(ceLoop(m, { optimizer: { name: 'rmsprop' as never, lr: 1 } })),
    /optimizer\.name/,
  );
});

test('Dropout follows the run seed: same seed, same weights; another seed, others; Math.random restored', async () => {
  const tfl = await import('@tensorflow/tfjs-layers');
  const dropNet = () => {
    const m = tfl.sequential();
    m.add(
      tfl.layers.dense({
        inputShape: [4],
        units: 16,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      }),
    );
    m.add(tfl.layers.dropout({ rate: 0.5 }));
    m.add(
      tfl.layers.dense({
        units: 3,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
      }),
    );
    return m;
  };
  const run = async (seed: number) => {
    const m = dropNet();
    await trainLoop(ceLoop(m, { rng: new Rng(seed) }));
    const w = snapshot(m);
    m.dispose();
    return w;
  };
  const random = Math.random;
  const a = await run(3);
  // Math.random drawn between the runs must not reach the masks.
  for (let i = 0; i < 10; i++) Math.random();
  const b = await run(3);
  const c = await run(4);
  assert.equal(Math.random, random, 'Math.random is restored');
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const plain = buildModel(spec);
  assert.equal((await import('../../src/train/loop.ts')).hasNoiseLayers(plain), false);
  plain.dispose();
});

test('an OptimizerSession carries moments and the schedule across calls: 2 × 3 steps = 6 steps', async () => {
  // Full-batch steps, so every call sees the same batch and only the optimiser state differs.
  const full = { train: { data, batchSize: data.length } };
  const opt: OptimizerSpec = { name: 'adam', lr: 0.05, schedule: 'cosine' };
  const once = buildModel(spec);
  await trainLoop(ceLoop(once, { streams: full, steps: 6, optimizer: opt }));

  const split = buildModel(spec);
  const session = new OptimizerSession(6);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 2; k++) {
    await trainLoop(ceLoop(split, { streams: full, steps: 3, optimizer: opt, session }));
  }
  assert.equal(session.steps, 6);
  // Adam's two moments per variable live in the session until it is disposed, nothing more.
  assert.equal(tf.memory().numTensors, before + 2 * trainableVariables(split).length);
  session.dispose();
  assert.equal(tf.memory().numTensors, before);

  const restarted = buildModel(spec);
  for (let k = 0; k < 2; k++) {
    await trainLoop(
      ceLoop(restarted, { streams: full, steps: 3, optimizer: { ...opt, schedule: 'constant' } }),
    );
  }
  const a = snapshot(once);
  const b = snapshot(split);
  const c = snapshot(restarted);
  const maxDiff = (x: Float32Array[], y: Float32Array[]) =>
    Math.max(...x.flatMap((w, i) => Array.from(w, (v, j) => Math.abs(v - y[i][j]))));
  assert.ok(maxDiff(a, b) < 1e-6, `session ≠ one run: ${maxDiff(a, b)}`);
  assert.ok(maxDiff(a, c) > 1e-3, 'restarting the optimiser changes the result');
  await assert.rejects(
    async () => {
      const s = new OptimizerSession();
      try {
        await trainLoop(ceLoop(split, { streams: full, steps: 1, optimizer: opt, session: s }));
        await trainLoop(
          ceLoop(split, { streams: full, steps: 1, optimizer: { ...opt, lr: 1 }, session: s }),
        );
      } finally {
        s.dispose();
      }
    },
    (e: unknown) => e instanceof UsageError && /optimizer/.test(e.message),
  );
});
