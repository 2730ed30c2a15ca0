/** Tiny models and synthetic data sets for the UIB tests (cpu backend). */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../../src/core/rng.ts';
import { Dataset } from '../../../src/data/dataset.ts';
import { paramGroups } from '../../../src/models/index.ts';
import {
  computeCurvature,
  groupVariables,
  meanLossGradient,
} from '../../../src/unlearn/curvature/index.ts';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** A float data set of `n` samples of `shape`, labels from `label(x)` (or random). */
export function synthetic(
  n: number,
  shape: number[],
  numClasses: number,
  seed: number,
  label?: (x: Float32Array, rng: Rng) => number,
): Dataset {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = x.subarray(i * size, (i + 1) * size);
    for (let j = 0; j < size; j++) row[j] = rng.normal();
    y[i] = label ? label(row, rng) : rng.int(0, numClasses);
  }
  return new Dataset({
    name: 'synthetic',
    sampleShape: shape,
    x,
    scale: 1,
    y,
    numClasses,
    meta: {},
  });
}

/** A tiny CNN with the project's conventions (linear conv/dense, separate activations) plus BN. */
export function tinyCnn(seed: number): tfl.LayersModel {
  const init = (s: string) => tfl.initializers.glorotNormal({ seed: seed * 31 + s.length });
  const input = tfl.input({ shape: [6, 6, 2] });
  let h = tfl.layers
    .conv2d({
      filters: 3,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      name: 'conv_1',
      kernelInitializer: init('c1'),
      biasInitializer: 'glorotNormal',
    })
    .apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ name: 'bn_1' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'tanh', name: 'act_1' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .conv2d({
      filters: 2,
      kernelSize: 2,
      padding: 'valid',
      name: 'conv_2',
      kernelInitializer: init('c22'),
      biasInitializer: 'glorotNormal',
    })
    .apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'relu', name: 'act_2' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten({ name: 'flatten' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({
      units: 3,
      name: 'output',
      kernelInitializer: init('out'),
      biasInitializer: 'glorotNormal',
    })
    .apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  // Non-trivial moving statistics and BN parameters.
  const bn = model.getLayer('bn_1');
  const r = new Rng(seed + 7);
  const vec = (lo: number, hi: number) => tf.tensor1d([0, 1, 2].map(() => r.uniform(lo, hi)));
  tf.tidy(() => bn.setWeights([vec(0.5, 1.5), vec(-0.3, 0.3), vec(-0.2, 0.2), vec(0.5, 2)]));
  return model;
}

/** Per-example gradients by brute force: one tf.grads per sample (inference mode). */
export function perExampleGrads(
  model: tfl.LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  labels?: Int32Array,
): Float32Array[][] {
  const out: Float32Array[][] = [];
  for (let i = 0; i < data.length; i++) {
    const gs = tf.tidy(() => {
      const { xs, ys } = data.tensors([i]);
      const y = labels ? tf.tensor1d([labels[i]], 'int32') : ys;
      return tf.grads(() => {
        const logits = model.apply(xs, { training: false }) as tf.Tensor;
        return tf.sum(
          tf.neg(
            tf.sum(tf.mul(tf.oneHot(y, logits.shape[1] as number), tf.logSoftmax(logits)), -1),
          ),
        );
      })(vars);
    });
    out.push(gs.map((g) => g.dataSync().slice() as Float32Array));
    tf.dispose(gs);
  }
  return out;
}

export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** A one-Dense-layer model (the whole group) with weights θ (kernel then bias). */
export function logregModel(d: number, k: number, theta: Float64Array): tfl.LayersModel {
  const input = tfl.input({ shape: [d] });
  const out = tfl.layers.dense({ units: k, name: 'output' }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  tf.tidy(() =>
    model.setWeights([
      tf.tensor2d(Float32Array.from(theta.subarray(0, d * k)), [d, k]),
      tf.tensor1d(Float32Array.from(theta.subarray(d * k))),
    ]),
  );
  return model;
}

/** Brute-force mean gradient and mean squared gradient from per-example grads. */
export function bruteStats(per: Float32Array[][]) {
  const n = per.length;
  const mean = per[0].map((g) => new Float32Array(g.length));
  const sq = per[0].map((g) => new Float32Array(g.length));
  for (const ex of per) {
    ex.forEach((g, t) => {
      for (let j = 0; j < g.length; j++) {
        mean[t][j] += g[j] / n;
        sq[t][j] += (g[j] * g[j]) / n;
      }
    });
  }
  return { mean, sq };
}

/** computeCurvature's gradient and diagonal Fisher against a loop of single-example grads. */
export function checkAgainstBrute(
  model: tfl.LayersModel,
  data = synthetic(13, [3, 2], 3, 1),
  batchSize = 5,
) {
  const groups = paramGroups(model);
  const flatVars = groupVariables(groups).flat();
  const curv = computeCurvature(model, groups, data, { batchSize });
  const { mean, sq } = bruteStats(perExampleGrads(model, flatVars, data));
  const grad = curv.grad!.flat();
  const diag = curv.diag!.flat();
  flatVars.forEach((v, t) => {
    assert.ok(
      maxRelErr(grad[t], mean[t]) < 1e-4,
      `gradient of ${v.name}: ${maxRelErr(grad[t], mean[t])}`,
    );
    assert.ok(
      maxRelErr(diag[t], sq[t]) < 1e-4,
      `diag Fisher of ${v.name}: ${maxRelErr(diag[t], sq[t])}`,
    );
  });
  // The whole-set gradient by the ordinary backward pass agrees too.
  const whole = meanLossGradient(model, flatVars, data, 1000);
  whole.forEach((g, t) => {
    assert.ok(maxRelErr(grad[t], g) < 1e-4);
  });
}
