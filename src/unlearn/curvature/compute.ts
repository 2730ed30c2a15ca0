/**
 * One pass over a data set: the mean gradient, the diagonal Fisher and the K-FAC factors of the
 * mean CE, per parameter tensor of the groups (`computeCurvature`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../data/dataset.ts';
import type { ParamGroup } from '../../models/types.ts';
import { takeKfacFactors } from './kfac.ts';
import { expectedLabels, sampleLabels, stratifiedLabels } from './labels.ts';
import { accumulate } from './per-example.ts';
import { probePass, tapsOf } from './probe.ts';
import { key, Sums } from './sums.ts';
import type { Curvature, CurvatureOptions } from './types.ts';

/**
 * Gradient, diagonal Fisher and K-FAC factors of the mean CE over `data`, per parameter tensor of
 * `groups` (which must come from `paramGroups(model)` or list the model's own variables).
 * One forward and one backward pass per batch: the cost of one epoch over `data`, no more.
 */
export function computeCurvature(
  model: LayersModel,
  groups: ParamGroup[],
  data: Dataset,
  opts: CurvatureOptions = {},
): Curvature {
  const labels = opts.labels ?? 'true';
  if ((labels === 'sampled' || labels === 'stratified') && !opts.rng)
    throw new Error(`computeCurvature: ${labels} labels need an rng`);
  const stratified = labels === 'stratified';
  const expected = labels === 'expected';
  // Several rows per example: the gradient and the K-FAC input factor would count each example
  // several times (and the expected gradient Σ_y p_y·g_y is 0 for softmax-CE anyway).
  if ((stratified || expected) && (opts.gradient || opts.kfac))
    throw new Error(`computeCurvature: ${labels} labels give the diagonal Fisher only`);
  const want = {
    ...opts,
    gradient: opts.gradient ?? !(stratified || expected),
    diag: opts.diag ?? true,
    kfac: opts.kfac ?? false,
  };
  // Rows per example: 2 (stratified), k (expected: one per class), else 1.
  const k = (model.outputs[0].shape as number[])[model.outputs[0].shape.length - 1];
  const rows = stratified ? 2 : expected ? k : 1;
  // The expected mode keeps about 256 rows per pass by default (k rows per example).
  const batchSize = opts.batchSize ?? (expected ? Math.max(1, Math.floor(256 / k)) : 256);
  const taps = tapsOf(model, groups);
  const sums = new Sums();
  const n = data.length;
  try {
    for (const positions of data.batches(batchSize)) {
      tf.tidy(() => {
        const { xs, ys } = data.tensors(positions);
        const { deltas, inputs } = probePass(
          model,
          taps,
          rows > 1 ? tf.concat(new Array<tf.Tensor>(rows).fill(xs)) : xs,
          (logits) =>
            stratified
              ? stratifiedLabels(logits, opts.rng!)
              : expected
                ? expectedLabels(logits, k)
                : { labels: labels === 'true' ? ys : sampleLabels(logits, opts.rng!) },
        );
        try {
          taps.forEach((t, i) => {
            accumulate(t, inputs[i], deltas[i], sums, want);
          });
        } finally {
          tf.dispose(inputs.flat());
        }
      });
      opts.cost?.addGrad(positions.length * rows, opts.set ?? data.name);
    }
    const out: Curvature = { n, labels };
    const perTensor = (what: string) =>
      groups.map((g, gi) => g.params.map((_, pi) => sums.take(key(gi, pi, what), n)));
    if (want.gradient) out.grad = perTensor('g');
    if (want.diag) out.diag = perTensor('f');
    if (want.kfac) out.kfac = takeKfacFactors(taps, sums, n);
    return out;
  } finally {
    sums.dispose();
  }
}
