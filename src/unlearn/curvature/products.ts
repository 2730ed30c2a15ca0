/**
 * Gradients through the variables, and Hessian-vector products (checks, exact-Hessian priors):
 * meanLossGradient, hessianVectorProduct, gaussNewtonVectorProduct.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../data/dataset.ts';
import type { ParamGroup } from '../../models/types.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';

/** The tf.Variables of the groups' tensors, [group][param]. */
export function groupVariables(groups: ParamGroup[]): tf.Variable[][] {
  return groups.map((g) => g.params.map((p) => p.variable.read() as tf.Variable));
}

/** Mean CE gradient over `data` w.r.t. `vars` (inference mode), by the ordinary backward pass. */
export function meanLossGradient(
  model: LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  batchSize = 256,
): Float32Array[] {
  const sums = vars.map((v) => new Float64Array(v.size));
  for (const positions of data.batches(batchSize)) {
    const gs = tf.tidy(() => {
      const { xs, ys } = data.tensors(positions);
      return tf.grads((...ws: tf.Tensor[]) => {
        void ws;
        return tf.sum(
          softmaxCrossEntropy(model.apply(xs, { training: false }) as tf.Tensor, ys, 'none'),
        );
      })(vars);
    });
    addInto(sums, gs);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / data.length));
}

/** Adds each of `gs` (one per variable) into its float64 sum, then frees `gs`. */
function addInto(sums: Float64Array[], gs: tf.Tensor[]): void {
  gs.forEach((g, i) => {
    const a = g.dataSync();
    for (let j = 0; j < a.length; j++) sums[i][j] += a[j];
  });
  tf.dispose(gs);
}

/** Run `fn` with every variable set to θ + h·v, then restore θ bit for bit. */
function withShift<T>(vars: tf.Variable[], v: Float32Array[], h: number, fn: () => T): T {
  const saved = vars.map((x) => tf.keep(x.clone()));
  try {
    vars.forEach((x, i) => {
      tf.tidy(() => x.assign(tf.add(saved[i], tf.mul(tf.tensor(v[i], x.shape), h))));
    });
    return fn();
  } finally {
    vars.forEach((x, i) => {
      x.assign(saved[i]);
    });
    tf.dispose(saved);
  }
}

function norm(v: Float32Array[]): number {
  let s = 0;
  for (const a of v) for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * A product of a curvature matrix of the mean CE over `data` (w.r.t. `vars`) with v, given in the
 * layout of `vars`; `eps` is the finite-difference step, `batchSize` the pass's batch.
 */
export type CurvatureProduct = (
  model: LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  v: Float32Array[],
  opts?: { eps?: number; batchSize?: number },
) => Float32Array[];

/**
 * H v of the mean CE over `data` (w.r.t. `vars`, with v in the same layout) by central differences
 * of gradients: (∇L(θ + h v) − ∇L(θ − h v)) / 2h with h = eps/‖v‖. Error O(h²) plus float32
 * rounding of the gradients / h; exact in the limit for smooth losses, and for ReLU nets away from
 * kinks.
 */
export const hessianVectorProduct: CurvatureProduct = (model, vars, data, v, opts = {}) => {
  const nv = norm(v);
  if (nv === 0) return v.map((a) => new Float32Array(a.length));
  const h = (opts.eps ?? 1e-2) / nv;
  const plus = withShift(vars, v, h, () => meanLossGradient(model, vars, data, opts.batchSize));
  const minus = withShift(vars, v, -h, () => meanLossGradient(model, vars, data, opts.batchSize));
  return plus.map((p, i) => p.map((x, j) => (x - minus[i][j]) / (2 * h)));
};

/**
 * Generalised Gauss-Newton product Gv = (1/n) Σ_i J_iᵀ H_i J_i v, H_i = diag(p_i) − p_i p_iᵀ the
 * softmax-CE Hessian in the logits (for softmax-CE this is also the true Fisher). J v is a central
 * difference of the logits (exact for a model linear in v along the line, e.g. the output layer),
 * Jᵀ u is one backward pass of Σ logits·u.
 */
export const gaussNewtonVectorProduct: CurvatureProduct = (model, vars, data, v, opts = {}) => {
  const nv = norm(v);
  const sums = vars.map((x) => new Float64Array(x.size));
  if (nv === 0) return sums.map((s) => Float32Array.from(s));
  const h = (opts.eps ?? 1e-2) / nv;
  for (const positions of data.batches(opts.batchSize ?? 256)) {
    const { xs, ys } = data.tensors(positions);
    ys.dispose();
    const logitsAt = () => tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor);
    const up = withShift(vars, v, h, logitsAt);
    const down = withShift(vars, v, -h, logitsAt);
    // u_i = H_i (J v)_i
    const u = tf.tidy(() => {
      const jv = tf.div(tf.sub(up, down), 2 * h);
      const p = tf.softmax(logitsAt());
      return tf.sub(tf.mul(p, jv), tf.mul(p, tf.sum(tf.mul(p, jv), -1, true)));
    });
    const gs = tf.tidy(() =>
      tf.grads((...ws: tf.Tensor[]) => {
        void ws;
        return tf.sum(tf.mul(model.apply(xs, { training: false }) as tf.Tensor, u));
      })(vars),
    );
    tf.dispose([xs, up, down, u]);
    addInto(sums, gs);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / data.length));
};
