/**
 * The per-example curvature engine on every supported layer with weights (Conv1D, DepthwiseConv2D,
 * SeparableConv2D, LayerNormalization, Embedding, Dense over a sequence, BatchNorm on features)
 * against brute force: one tf.grads per example, cpu backend.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../../src/core/rng.ts';
import { Dataset } from '../../../src/data/dataset.ts';
import { paramGroups } from '../../../src/models/index.ts';
import { computeCurvature, groupVariables } from '../../../src/unlearn/curvature/index.ts';
import {
  checkAgainstBrute,
  maxRelErr,
  perExampleGrads,
  synthetic,
  useCpu,
} from '../uib/helpers.ts';

before(useCpu);

type T = tfl.SymbolicTensor;
const seeded = (s: number) => tfl.initializers.glorotNormal({ seed: s });

/** Every weight of `model` redrawn (biases, γ, β included), so no statistic is trivially 0 or 1. */
function scramble(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const w of model.weights) {
      const v = w.read();
      const values = Float32Array.from({ length: v.size }, () =>
        w.originalName.endsWith('moving_variance') || w.originalName.endsWith('gamma')
          ? rng.uniform(0.5, 1.5)
          : 0.6 * rng.normal(),
      );
      w.write(tf.tensor(values, v.shape));
    }
  });
}

test('Conv1D (strided same, valid) and Dense: gradient and diagonal Fisher exact', () => {
  const input = tfl.input({ shape: [9, 3] });
  let h = tfl.layers
    .conv1d({
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: seeded(1),
    })
    .apply(input) as T;
  h = tfl.layers
    .conv1d({
      filters: 2,
      kernelSize: 2,
      padding: 'valid',
      activation: 'tanh',
      kernelInitializer: seeded(2),
    })
    .apply(h) as T;
  h = tfl.layers.flatten().apply(h) as T;
  const out = tfl.layers.dense({ units: 3, kernelInitializer: seeded(3) }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 1);
  checkAgainstBrute(model, synthetic(9, [9, 3], 3, 2), 4);
  model.dispose();
});

test('DepthwiseConv2D and SeparableConv2D (depth multiplier 2, strided, same and valid): exact', () => {
  const input = tfl.input({ shape: [7, 7, 2] });
  let h = tfl.layers
    .depthwiseConv2d({
      kernelSize: 3,
      depthMultiplier: 2,
      strides: 2,
      padding: 'same',
      activation: 'tanh',
    })
    .apply(input) as T;
  h = tfl.layers
    .separableConv2d({
      filters: 3,
      kernelSize: 2,
      depthMultiplier: 2,
      padding: 'valid',
      activation: 'relu',
    })
    .apply(h) as T;
  h = tfl.layers
    .separableConv2d({ filters: 2, kernelSize: 2, strides: 2, padding: 'same', useBias: false })
    .apply(h) as T;
  h = tfl.layers.flatten().apply(h) as T;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 2);
  checkAgainstBrute(model, synthetic(8, [7, 7, 2], 3, 3), 3);
  model.dispose();
});

test('LayerNormalization (last axis, two axes), Dense over a sequence, BatchNorm on features: exact', () => {
  const input = tfl.input({ shape: [4, 5] });
  let h = tfl.layers.layerNormalization({ axis: -1 }).apply(input) as T;
  h = tfl.layers.dense({ units: 6, activation: 'tanh' }).apply(h) as T;
  h = tfl.layers.layerNormalization({ axis: [1, 2] }).apply(h) as T;
  h = tfl.layers.flatten().apply(h) as T;
  h = tfl.layers.dense({ units: 5 }).apply(h) as T;
  h = tfl.layers.batchNormalization().apply(h) as T;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 3);
  checkAgainstBrute(model, synthetic(10, [4, 5], 3, 4), 4);
  model.dispose();
});

/** Token ids as floats (what a Dataset holds), repeats within a row included. */
function tokens(n: number, len: number, vocab: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * len }, () => rng.int(0, vocab));
  const y = Int32Array.from({ length: n }, () => rng.int(0, 3));
  return new Dataset({
    name: 'tokens',
    sampleShape: [len],
    x,
    scale: 1,
    y,
    numClasses: 3,
    meta: {},
  });
}

test('Embedding (repeated ids in a row) into pooling and Dense: exact', () => {
  const input = tfl.input({ shape: [6] });
  let h = tfl.layers.embedding({ inputDim: 5, outputDim: 3 }).apply(input) as T;
  h = tfl.layers.conv1d({ filters: 4, kernelSize: 2, activation: 'relu' }).apply(h) as T;
  h = tfl.layers.globalAveragePooling1d().apply(h) as T;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 4);
  checkAgainstBrute(model, tokens(9, 6, 5, 5), 4);
  model.dispose();
});

test('expected-label Fisher on the new layers equals Σ_y p_y·g_y² by brute force', () => {
  const input = tfl.input({ shape: [5, 5, 1] });
  let h = tfl.layers
    .separableConv2d({ filters: 2, kernelSize: 3, activation: 'tanh' })
    .apply(input) as T;
  h = tfl.layers.layerNormalization().apply(h) as T;
  h = tfl.layers.flatten().apply(h) as T;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 5);
  const data = synthetic(6, [5, 5, 1], 3, 6);
  const groups = paramGroups(model);
  const vars = groupVariables(groups).flat();
  const curv = computeCurvature(model, groups, data, { labels: 'expected' });
  const probs = tf.tidy(() =>
    tf
      .softmax(model.predict(data.tensors(Uint32Array.from([0, 1, 2, 3, 4, 5])).xs) as tf.Tensor)
      .dataSync(),
  );
  const want = vars.map((v) => new Float32Array(v.size));
  for (let c = 0; c < 3; c++) {
    const per = perExampleGrads(model, vars, data, new Int32Array(6).fill(c));
    per.forEach((ex, i) => {
      ex.forEach((g, t) => {
        for (let j = 0; j < g.length; j++) want[t][j] += (probs[i * 3 + c] * g[j] * g[j]) / 6;
      });
    });
  }
  curv.diag!.flat().forEach((f, t) => {
    assert.ok(maxRelErr(f, want[t]) < 1e-4, `${vars[t].name}: ${maxRelErr(f, want[t])}`);
  });
  model.dispose();
});

test('branches joined by Concatenate, with pooling and Reshape between: exact', () => {
  const input = tfl.input({ shape: [6, 6, 2] });
  const a = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as T;
  const pa = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(a) as T;
  const b = tfl.layers.depthwiseConv2d({ kernelSize: 2, padding: 'same' }).apply(input) as T;
  const pb = tfl.layers.averagePooling2d({ poolSize: 2 }).apply(b) as T;
  let h = tfl.layers.concatenate().apply([pa, pb]) as T;
  h = tfl.layers.reshape({ targetShape: [9, 5] }).apply(h) as T;
  h = tfl.layers.globalAveragePooling1d().apply(h) as T;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as T;
  const model = tfl.model({ inputs: input, outputs: out });
  scramble(model, 6);
  checkAgainstBrute(model, synthetic(7, [6, 6, 2], 3, 7), 3);
  // Both branches sit between the same two cuts: one group, then the classifier.
  assert.deepEqual(
    paramGroups(model).map((g) => g.params.length),
    [4, 2],
  );
  model.dispose();
});
