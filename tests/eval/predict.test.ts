import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import { type DataSource, Dataset } from '../../src/data/dataset.ts';
import { flatWeights, predictSet } from '../../src/eval/predict.ts';

before(async () => {
  await initBackend('cpu');
});

// A linear model on 2 features, 3 classes: logits = x·W + b.
const W = [
  [1, -1, 0.5],
  [0, 2, -1],
];
const B = [0.1, 0, -0.2];

function model(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [2], units: 3 }));
  m.setWeights([tf.tensor2d(W), tf.tensor1d(B)]);
  return m;
}

const source: DataSource = {
  name: 'toy',
  sampleShape: [2],
  x: Float32Array.from([0, 0, 1, 0, 0, 1, 2, -1, -1, 3, 0.5, 0.5, 4, 4]),
  scale: 1,
  y: Int32Array.from([0, 0, 1, 0, 1, 2, 1]),
  numClasses: 3,
  meta: {
    bias: Uint8Array.from([0, 1, 0, 1, 1, 0, 1]),
    group: Uint8Array.from([2, 2, 2, 1, 1, 1, 0]),
  },
};

/** softmax(x·W + b) by hand. */
function expected(x0: number, x1: number): number[] {
  const z = [0, 1, 2].map((c) => x0 * W[0][c] + x1 * W[1][c] + B[c]);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

test('predictSet returns softmax of the logits, in view order, across batches', async () => {
  const m = model();
  // A view of source samples 6, 1, 3, 4, 0 — batch size 2 splits it 2 + 2 + 1.
  const view = new Dataset(source, Uint32Array.from([6, 1, 3, 4, 0]), 'view');
  const p = await predictSet(m, view, { batchSize: 2 });
  assert.equal(p.numClasses, 3);
  assert.deepEqual([...p.labels], [1, 0, 0, 1, 0]);
  assert.deepEqual([...p.bias!], [1, 1, 1, 1, 0]);
  assert.deepEqual([...p.group!], [0, 2, 1, 1, 2]);
  [6, 1, 3, 4, 0].forEach((s, i) => {
    const want = expected(source.x[2 * s], source.x[2 * s + 1]);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(p.probs[i * 3 + c] - want[c]) < 1e-6);
    assert.equal(p.predicted[i], want.indexOf(Math.max(...want)));
  });
  m.dispose();
});

test('predictSet leaks no tensors', async () => {
  const m = model();
  const data = new Dataset(source);
  await predictSet(m, data, { batchSize: 3 }); // warm-up
  const n0 = tf.memory().numTensors;
  await predictSet(m, data, { batchSize: 3 });
  await predictSet(m, data);
  assert.equal(tf.memory().numTensors, n0);
  m.dispose();
});

test('predictSet rejects a model whose outputs do not match the class count', async () => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [2], units: 4 }));
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    predictSet(m, new Dataset(source)),
    /4 values per sample; toy has 3 classes/,
  );
  assert.equal(tf.memory().numTensors, n0);
  m.dispose();
});

test('flatWeights copies the trainable parameters in layer order', () => {
  const m = model();
  const n0 = tf.memory().numTensors;
  const w = flatWeights(m);
  assert.deepEqual(
    w.map((a) => [...a]),
    [W.flat(), B.map((b) => Math.fround(b))],
  );
  w[0][0] = 99; // a copy: the model is untouched
  assert.equal(flatWeights(m)[0][0], 1);
  assert.equal(tf.memory().numTensors, n0);
  m.dispose();
});
