import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  buildModel,
  cloneModel,
  countParams,
  paramGroups,
  specOf,
} from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const mlp: ModelSpec = {
  arch: 'mlp',
  inputShape: [6, 6, 1],
  numClasses: 3,
  hidden: [5, 4],
  seed: 7,
};
const cnn: ModelSpec = { arch: 'cnn', inputShape: [12, 12, 1], numClasses: 4, seed: 7 };
const resnet: ModelSpec = {
  arch: 'resnet18',
  inputShape: [8, 8, 3],
  numClasses: 5,
  width: 2,
  seed: 7,
};

function weightsOf(m: ReturnType<typeof buildModel>): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

test('models output logits of shape [b, numClasses] (no softmax)', () => {
  for (const spec of [mlp, cnn, resnet]) {
    const m = buildModel(spec);
    const y = tf.tidy(
      () => m.predict(tf.randomNormal([3, ...spec.inputShape], 0, 1, 'float32', 1)) as tf.Tensor,
    );
    assert.deepEqual(y.shape, [3, spec.numClasses]);
    const rows = tf.tidy(() => tf.sum(y, 1).arraySync() as number[]);
    // Softmax rows would all sum to 1; logits do not.
    assert.ok(
      rows.some((s) => Math.abs(s - 1) > 1e-3),
      `${spec.arch}: rows sum to 1`,
    );
    assert.ok(Math.min(...(y.dataSync() as Float32Array)) < 0, `${spec.arch}: no negative output`);
    y.dispose();
    m.dispose();
  }
});

test('the same spec gives the same weights; another seed gives others', () => {
  for (const spec of [mlp, cnn, resnet]) {
    const a = weightsOf(buildModel(spec));
    const b = weightsOf(buildModel(spec));
    const c = weightsOf(buildModel({ ...spec, seed: 8 }));
    assert.deepEqual(a, b, spec.arch);
    assert.notDeepEqual(a, c, spec.arch);
  }
});

test('Dense/Conv layers are linear; ReLUs are separate Activation layers', () => {
  for (const spec of [mlp, cnn, resnet]) {
    const m = buildModel(spec);
    for (const layer of m.layers) {
      const cls = layer.getClassName();
      if (cls === 'Dense' || cls === 'Conv2D') {
        assert.equal(
          (layer.getConfig() as { activation: string }).activation,
          'linear',
          layer.name,
        );
      }
    }
    assert.ok(m.layers.some((l) => l.getClassName() === 'Activation'));
    m.dispose();
  }
});

test('MLP and CNN: one group per Dense/Conv layer in forward order, bias with its kernel', () => {
  const gm = paramGroups(buildModel(mlp));
  assert.deepEqual(
    gm.map((g) => [g.name, g.index, g.isOutput, g.params.map((p) => p.role).join()]),
    [
      ['dense_1', 0, false, 'weight,bias'],
      ['dense_2', 1, false, 'weight,bias'],
      ['output', 2, true, 'weight,bias'],
    ],
  );
  assert.deepEqual(gm[0].params[0].variable.shape, [36, 5]);
  const gc = paramGroups(buildModel(cnn));
  assert.deepEqual(
    gc.map((g) => `${g.name}:${g.params.map((p) => p.layerKind).join('+')}`),
    ['conv_1:conv+conv', 'conv_2:conv+conv', 'dense_1:dense+dense', 'output:dense+dense'],
  );
});

test('ResNet-18: stem, 8 blocks, output; BatchNorm scale/shift in their block; groups cover all weights', () => {
  const m = buildModel(resnet);
  const groups = paramGroups(m);
  assert.deepEqual(
    groups.map((g) => g.name),
    ['stem', ...Array.from({ length: 8 }, (_, i) => `block_${i + 1}`), 'output'],
  );
  assert.deepEqual(
    groups.map((g) => g.isOutput),
    [...Array(9).fill(false), true],
  );
  // Blocks 3, 5, 7 open a stage: 2 convs + projection shortcut, each with its BatchNorm.
  assert.equal(groups[3].params.length, 9);
  assert.equal(groups[2].params.length, 6);
  assert.ok(groups[3].params.some((p) => p.layer === 'block3_shortcut_conv'));
  assert.ok(groups[1].params.some((p) => p.role === 'scale' && p.layerKind === 'norm'));
  const inGroups = groups.flatMap((g) => g.params.map((p) => p.variable.name)).sort();
  assert.deepEqual(inGroups, m.trainableWeights.map((w) => w.name).sort());
  const w = resnet.width!;
  const lastConv = m.getLayer('block8_conv2').getWeights()[0];
  assert.deepEqual(lastConv.shape, [3, 3, 8 * w, 8 * w]);
  assert.deepEqual(m.getLayer('block3_shortcut_conv').getWeights()[0].shape, [1, 1, w, 2 * w]);
  // Three stride-2 stages: 8×8 → 1×1; the stem keeps the resolution (no max-pool).
  assert.deepEqual(m.getLayer('stem_relu').outputShape, [null, 8, 8, w]);
  assert.deepEqual(m.getLayer('block8_relu2').outputShape, [null, 1, 1, 8 * w]);
});

test('countParams counts trainable scalars (all: plus moving statistics)', () => {
  const m = buildModel(mlp);
  assert.equal(countParams(m), 36 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
  const r = buildModel(resnet);
  assert.ok(countParams(r, { all: true }) > countParams(r));
});

test('cloneModel: same outputs and spec, independent variables', () => {
  for (const spec of [mlp, resnet]) {
    const m = buildModel(spec);
    const c = cloneModel(m);
    assert.deepEqual(specOf(c), spec);
    const x = tf.randomNormal([2, ...spec.inputShape], 0, 1, 'float32', 3);
    const [a, b] = [m.predict(x) as tf.Tensor, c.predict(x) as tf.Tensor];
    assert.deepEqual(a.dataSync(), b.dataSync());
    // Changing the clone leaves the original alone.
    const v = c.trainableWeights[0].read() as tf.Variable;
    const before = m.trainableWeights[0].read().dataSync().slice();
    v.assign(tf.zerosLike(v));
    assert.deepEqual(m.trainableWeights[0].read().dataSync(), before);
    assert.notEqual(v.name, (m.trainableWeights[0].read() as tf.Variable).name);
    tf.dispose([x, a, b]);
  }
});

test('cloneModel copies a tf.sequential model: same class, same outputs, no leak', () => {
  const m = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  const numTensors = tf.memory().numTensors;
  const c = cloneModel(m);
  assert.ok(c instanceof tfl.Sequential);
  assert.equal(tf.memory().numTensors, numTensors + m.weights.length);
  const x = tf.tensor2d([
    [1, -2, 0.5],
    [0, 3, -1],
  ]);
  const [a, b] = [m.predict(x) as tf.Tensor, c.predict(x) as tf.Tensor];
  assert.deepEqual(b.dataSync(), a.dataSync());
  assert.notEqual(
    (c.weights[0].read() as tf.Variable).name,
    (m.weights[0].read() as tf.Variable).name,
  );
  tf.dispose([x, a, b]);
  c.dispose();
  assert.equal(tf.memory().numTensors, numTensors);
  m.dispose();
});

test('bad specs are refused naming the field', () => {
  assert.throws(
    () => buildModel({ ...mlp, arch: 'vgg' as never }),
    /model\.arch: must be one of mlp, cnn, resnet18; got "vgg"/,
  );
  assert.throws(() => buildModel({ ...mlp, numClasses: 1 }), /model\.numClasses/);
  assert.throws(
    () => buildModel({ ...cnn, inputShape: [784] }),
    /model\.inputShape: cnn needs an image shape/,
  );
  assert.throws(() => buildModel({ ...resnet, width: 0 }), /model\.width/);
});
