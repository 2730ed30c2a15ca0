/**
 * Fixtures for the user's-own-model CLI: an image folder of real MNIST digits, a small CSV, tfjs
 * models uib did not build (functional, with two branches, Add, Dropout, BatchNormalization,
 * LayerNormalization and a softmax; an MLP), trained with tfjs's own `fit` and saved in tfjs's
 * standard file layout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadMnist } from '../../src/data/mnist.ts';
import { writePng } from '../data/user/helpers.ts';
import { saveLikeTfjs } from '../models/user-model-helpers.ts';

type T = tfl.SymbolicTensor;

/**
 * `n` MNIST training digits from `offset` as DIR/<digit>/<i>.png (grey PNGs); returns each
 * sample's id (`<digit>/<i>.png`) in write order, with its label.
 */
export function writeMnistFolder(
  dir: string,
  n: number,
  offset = 0,
): { id: string; label: number }[] {
  const src = loadMnist('train');
  const out: { id: string; label: number }[] = [];
  for (let i = offset; i < offset + n; i++) {
    const label = src.y[i];
    const id = `${label}/${String(i).padStart(5, '0')}.png`;
    const px = src.x.subarray(i * 784, (i + 1) * 784);
    writePng(
      path.join(dir, id),
      28,
      28,
      (x, y) => {
        const v = px[y * 28 + x];
        return [v, v, v];
      },
      true,
    );
    out.push({ id, label });
  }
  return out;
}

/** Samples of an image folder written above, as tensors (pixels / 255, NHWC). */
export function mnistTensors(offset: number, n: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const src = loadMnist('train');
  const x = Float32Array.from(src.x.subarray(offset * 784, (offset + n) * 784), (v) => v / 255);
  const y = tf.tidy(() =>
    tf.oneHot(tf.tensor1d(Array.from(src.y.subarray(offset, offset + n)), 'int32'), 10),
  );
  return { x: tf.tensor4d(x, [n, 28, 28, 1]), y: y as tf.Tensor2D };
}

/** The functional model of the issue, on images: names that are nobody's convention. */
export function imageBranchy(seed = 3): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 101 + k });
  const x = tfl.input({ shape: [28, 28, 1], name: 'pixels_in' });
  const flat = tfl.layers.flatten({ name: 'unroll' }).apply(x) as T;
  const a = tfl.layers
    .dense({ units: 24, activation: 'relu', kernelInitializer: init(1), name: 'arm_a' })
    .apply(flat) as T;
  const b = tfl.layers
    .dense({ units: 24, activation: 'tanh', kernelInitializer: init(2), name: 'arm_b' })
    .apply(flat) as T;
  let h = tfl.layers.add({ name: 'merge_here' }).apply([a, b]) as T;
  h = tfl.layers.dropout({ rate: 0.1, name: 'dropsy' }).apply(h) as T;
  h = tfl.layers.batchNormalization({ name: 'bnorm7' }).apply(h) as T;
  h = tfl.layers
    .dense({ units: 16, activation: 'relu', kernelInitializer: init(3), name: 'mid' })
    .apply(h) as T;
  h = tfl.layers.layerNormalization({ name: 'lnorm' }).apply(h) as T;
  const out = tfl.layers
    .dense({ units: 10, activation: 'softmax', kernelInitializer: init(4), name: 'probs_out' })
    .apply(h) as T;
  return tfl.model({ inputs: x, outputs: out, name: 'someone_elses_net' });
}

/** Train with tfjs's own fit (Adam, categorical cross-entropy on the softmax) and save. */
export async function fitAndSave(
  model: tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  dir: string,
  epochs: number,
): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  // tfjs seeds Dropout's masks and fit's shuffle from Math.random: a seeded one makes the
  // fixture model the same on every run (the assertions on it then hold or fail every time).
  const random = Math.random;
  let s = 12345;
  Math.random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  try {
    await model.fit(x, y, { epochs, batchSize: 32, shuffle: true, verbose: 0 });
  } finally {
    Math.random = random;
  }
  await saveLikeTfjs(model, dir);
}

/** A CSV of 3 classes: two numeric features, a categorical one, an id and a source column. */
export function writeCsv(
  file: string,
  n: number,
  seed: number,
): { ids: string[]; rows: { x: number[]; label: string; source: string }[] } {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const lines = ['rid,a,b,colour,source,kind'];
  const ids: string[] = [];
  const rows: { x: number[]; label: string; source: string }[] = [];
  const kinds = ['alpha', 'beta', 'gamma'];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    // Overlapping clusters: a model that fits the training rows knows them better than new ones.
    const a = k + (rand() - 0.5) * 2.4;
    const b = (k === 1 ? 1 : 0) + (rand() - 0.5) * 2.4;
    const colour = rand() < 0.5 ? 'red' : 'blue';
    const source = i % 5 === 0 ? 'vendor' : 'own';
    const label = rand() < 0.15 ? kinds[(k + 1) % 3] : kinds[k];
    const id = `r${seed}-${i}`;
    ids.push(id);
    rows.push({ x: [a, b], label, source });
    lines.push(`${id},${a.toFixed(4)},${b.toFixed(4)},${colour},${source},${label}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { ids, rows };
}

/** A Sequential MLP with a softmax output. */
export function mlp(inputDim: number, classes: number, seed = 5): tfl.Sequential {
  const m = tfl.sequential({ name: 'plain_mlp' });
  m.add(
    tfl.layers.dense({
      inputShape: [inputDim],
      units: 32,
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      name: 'hidden_1',
    }),
  );
  m.add(
    tfl.layers.dense({
      units: classes,
      activation: 'softmax',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      name: 'scores',
    }),
  );
  return m;
}

/** A plain Node script that loads DIR/model.json with tfjs alone and prints predictions as JSON. */
export const PLAIN_TFJS_PREDICT = `
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
const [dir, inputFile, shapeText] = process.argv.slice(-3);
await tf.setBackend('cpu');
const handler = {
  async load() {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const [group] = json.weightsManifest;
    const bin = fs.readFileSync(path.join(dir, group.paths[0]));
    return {
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      weightSpecs: group.weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    };
  },
};
const model = await tfl.loadLayersModel(handler);
const buf = fs.readFileSync(inputFile);
const x = tf.tensor(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), JSON.parse(shapeText));
const p = model.predict(x);
process.stdout.write(JSON.stringify(Array.from(await p.data())));
`;
