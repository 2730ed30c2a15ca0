/**
 * The labels of the per-example gradients for the Fisher: sampled, stratified and expected rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng.ts';

/** Draw one label per row from softmax(logits). */
export function sampleLabels(logits: tf.Tensor, rng: Rng): tf.Tensor1D {
  const [b, k] = logits.shape as [number, number];
  const p = tf.tidy(() => tf.softmax(logits)).dataSync() as Float32Array;
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    let u = rng.next();
    let c = 0;
    for (; c < k - 1; c++) {
      u -= p[i * k + c];
      if (u < 0) break;
    }
    out[i] = c;
  }
  return tf.tensor1d(out, 'int32');
}

/**
 * The stratified label draw for the true Fisher F = E_x Σ_y p(y|x)·g_y² (g_y: the gradient of
 * CE(x, y)). A batch of b examples comes in twice (2b rows): row i gets the model's argmax m with
 * weight p_m, row b + i one label y ≠ m drawn ∝ p_y with weight Σ_{y≠m} p_y. Each example's
 * contribution p_m·g_m² + (1 − p_m)·g_y² is unbiased for Σ_y p_y·g_y². Why: at a well-fit θ̂ the
 * plain sampled label is the argmax almost always (p_m ≈ 0.999), whose gradient is ≈ 0, so the
 * whole Fisher of a confident example hangs on a rare draw of another class; here every example
 * contributes that part every time, at the cost of a second backward row.
 */
export function stratifiedLabels(
  logits: tf.Tensor,
  rng: Rng,
): { labels: tf.Tensor1D; rootWeights: tf.Tensor1D } {
  const [b2, k] = logits.shape as [number, number];
  const b = b2 / 2;
  const p = tf.tidy(() => tf.softmax(tf.slice(logits, [0, 0], [b, k]))).dataSync() as Float32Array;
  const labels = new Int32Array(b2);
  const w = new Float32Array(b2);
  for (let i = 0; i < b; i++) {
    const row = p.subarray(i * k, (i + 1) * k);
    let m = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[m]) m = c;
    let rest = 0;
    for (let c = 0; c < k; c++) if (c !== m) rest += row[c];
    labels[i] = m;
    w[i] = Math.sqrt(row[m]);
    let y = m === 0 ? 1 : 0;
    if (rest > 0) {
      let u = rng.next() * rest;
      for (let c = 0; c < k; c++) {
        if (c === m) continue;
        y = c;
        u -= row[c];
        if (u < 0) break;
      }
    }
    labels[b + i] = y;
    w[b + i] = Math.sqrt(rest);
  }
  return { labels: tf.tensor1d(labels, 'int32'), rootWeights: tf.tensor1d(w) };
}

/**
 * The exact true Fisher's rows: a batch of b examples comes in k times (k·b rows); row c·b + i is
 * example i with label c and weight p_c(x_i), so the summed squared gradients are Σ_y p_y·g_y² per
 * example — Golatkar et al.'s Fisher (every class, weighted by the model's probability), with
 * nothing left to chance. The weights are read back (constants), as `probePass` requires.
 */
export function expectedLabels(
  logits: tf.Tensor,
  k: number,
): { labels: tf.Tensor1D; rootWeights: tf.Tensor1D } {
  const b = (logits.shape[0] as number) / k;
  const p = tf.tidy(() => tf.softmax(tf.slice(logits, [0, 0], [b, k]))).dataSync() as Float32Array;
  const labels = new Int32Array(k * b);
  const w = new Float32Array(k * b);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < b; i++) {
      labels[c * b + i] = c;
      w[c * b + i] = Math.sqrt(p[i * k + c]);
    }
  }
  return { labels: tf.tensor1d(labels, 'int32'), rootWeights: tf.tensor1d(w) };
}
