// "Your own" model and data, made with tfjs alone (no uib code), for README's "Your own model":
// `node examples/own-model.mjs DIR` writes
//
//   DIR/model/model.json + weights.bin   a functional tfjs model (two branches, Add, Dropout,
//                                        BatchNormalization, softmax), trained with model.fit
//   DIR/train/x.npy, y.npy               its 400 training samples (8 features, 3 classes)
//   DIR/test/x.npy, y.npy                200 held-out samples
//   DIR/forget.txt                       the deletion request: 30 row numbers of DIR/train
//   DIR/recipe.json                      how the model was trained (uib retrains with it)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const dir = process.argv[2] ?? 'my-own';
await tf.setBackend('cpu');

// A seeded generator: the same files on every run (tfjs's Dropout and fit's shuffle read it too).
let state = 7;
Math.random = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32;
};
const gauss = () =>
  Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());

/** n samples: class centres on the first three axes, Gaussian noise, 10 % of labels flipped. */
function samples(n) {
  const x = new Float32Array(n * 8);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    for (let j = 0; j < 8; j++) x[i * 8 + j] = (j === k ? 1.5 : 0) + gauss();
    y[i] = Math.random() < 0.1 ? (k + 1) % 3 : k;
  }
  return { x, y };
}

/** A NumPy .npy (version 1.0) of a float32 [n, d] or int32 [n] array. */
function npy(file, data, shape) {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length, 8);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]),
  );
}

const train = samples(400);
const test = samples(200);
for (const [name, s] of [
  ['train', train],
  ['test', test],
]) {
  npy(path.join(dir, name, 'x.npy'), s.x, [s.y.length, 8]);
  npy(path.join(dir, name, 'y.npy'), s.y, [s.y.length]);
}

const input = tfl.input({ shape: [8], name: 'features' });
const a = tfl.layers.dense({ units: 32, activation: 'relu', name: 'wide' }).apply(input);
const b = tfl.layers.dense({ units: 32, activation: 'tanh', name: 'other' }).apply(input);
let h = tfl.layers.add({ name: 'join' }).apply([a, b]);
h = tfl.layers.dropout({ rate: 0.1, name: 'drop' }).apply(h);
h = tfl.layers.batchNormalization({ name: 'norm' }).apply(h);
const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'classes' }).apply(h);
const model = tfl.model({ inputs: input, outputs: out });
model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
const xs = tf.tensor2d(train.x, [400, 8]);
const ys = tf.tensor1d(Float32Array.from(train.y));
await model.fit(xs, ys, { epochs: 60, batchSize: 32, verbose: 0 });

// tfjs's file layout (what tfjs-node's `file://` handler writes): model.json + weights.bin.
await model.save(
  tf.io.withSaveHandler(async (art) => {
    fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
    const json = {
      modelTopology: art.modelTopology,
      format: art.format,
      generatedBy: art.generatedBy,
      convertedBy: art.convertedBy,
      weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, 'model', 'model.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(dir, 'model', 'weights.bin'), Buffer.from(art.weightData));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(art) };
  }),
);
// Rows 0, 13, 26, …: a deletion request by row number (ids of x.npy's rows).
const forget = Array.from({ length: 30 }, (_, i) => String(i * 13));
fs.writeFileSync(path.join(dir, 'forget.txt'), `${forget.join('\n')}\n`);
fs.writeFileSync(
  path.join(dir, 'recipe.json'),
  `${JSON.stringify({ optimizer: { name: 'adam', lr: 0.01 }, epochs: 60, batchSize: 32 }, null, 2)}\n`,
);
console.log(`wrote ${dir}/model, ${dir}/train, ${dir}/test, ${dir}/forget.txt, ${dir}/recipe.json`);
