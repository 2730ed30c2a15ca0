/**
 * Runs the same tfjs computation on the cpu backend (the reference) and on wasm with uib's kernels,
 * from the same seeded inputs, and compares the outputs elementwise.
 */
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers registers every op's gradient with tfjs-core as a side effect.
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../../src/backend/index.ts';
import { Rng } from '../../../src/core/rng.ts';

export type Inputs = Record<
  string,
  { shape: number[]; dtype?: 'float32' | 'int32'; values?: number[] }
>;

/** Seeded normal values for each float input (ints must come with values). */
export function makeValues(inputs: Inputs, seed: number): Record<string, number[]> {
  const rng = new Rng(seed);
  const out: Record<string, number[]> = {};
  for (const [name, spec] of Object.entries(inputs)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    out[name] = spec.values ?? Array.from({ length: n }, () => rng.normal());
  }
  return out;
}

/** Runs f on `backend` with tensors built from `values`; returns every output as plain numbers. */
export async function runOn(
  backend: 'cpu' | 'wasm',
  inputs: Inputs,
  values: Record<string, number[]>,
  f: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
): Promise<{ shape: number[]; data: Float32Array }[]> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const t: Record<string, tf.Tensor> = {};
  for (const [name, spec] of Object.entries(inputs)) {
    t[name] = tf.tensor(values[name], spec.shape, spec.dtype ?? 'float32');
  }
  const result = tf.tidy(() => f(t));
  const outs = Array.isArray(result) ? result : [result];
  const res = outs.map((o) => ({ shape: o.shape, data: Float32Array.from(o.dataSync()) }));
  tf.dispose(outs);
  tf.dispose(Object.values(t));
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return res;
}

/**
 * Asserts that f gives the same outputs on wasm as on cpu: same shapes, and every element within
 * `tol` relative to the largest magnitude of that output (so sums of many terms compare fairly).
 */
export async function assertMatchesCpu(
  inputs: Inputs,
  f: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
  { seed = 1, tol = 1e-5 }: { seed?: number; tol?: number } = {},
): Promise<void> {
  const values = makeValues(inputs, seed);
  const want = await runOn('cpu', inputs, values, f);
  const got = await runOn('wasm', inputs, values, f);
  assert.equal(got.length, want.length);
  for (let k = 0; k < want.length; k++) {
    assert.deepEqual(got[k].shape, want[k].shape, `output ${k}: shape`);
    let scale = 1e-12;
    for (const v of want[k].data) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < want[k].data.length; i++) {
      worst = Math.max(worst, Math.abs(got[k].data[i] - want[k].data[i]) / scale);
    }
    assert.ok(worst <= tol, `output ${k}: max relative error ${worst.toExponential(2)} > ${tol}`);
    assert.ok(
      scale > 1e-6 || want[k].data.length === 0,
      `output ${k}: all zeros, the comparison proves nothing`,
    );
  }
}

/** Calls a kernel directly (many backprop kernels have no public op). */
export function runKernel(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: object,
): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

export type ConvPad = 'valid' | 'same' | number;

/** One convolution case: [batch, h, w, ci, kh, kw, co, stride, pad]. */
export type ConvCase = [number, number, number, number, number, number, number, number, ConvPad];

/** Output length of a convolution along one axis (tfjs's rules for valid/same/explicit padding). */
export function convOutSize(n: number, k: number, s: number, pad: ConvPad, dilation = 1): number {
  const ek = (k - 1) * dilation + 1;
  if (pad === 'valid') return Math.ceil((n - ek + 1) / s);
  if (pad === 'same') return Math.ceil(n / s);
  return Math.floor((n + 2 * pad - ek) / s) + 1;
}
