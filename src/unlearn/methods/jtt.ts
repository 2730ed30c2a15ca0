/**
 * JTT — Just Train Twice (Liu et al. 2021, "Just train twice: improving group robustness without
 * training group information"), as an unlearning method:
 *
 *   1. identification: E = {i ∈ D_r : argmax f_θ̂(x_i) ≠ y_i}, the errors of θ̂ on D_r (inference
 *      mode);
 *   2. the upsampled set D_up = D_r plus λ_up − 1 more copies of E: an epoch is one shuffled pass
 *      over D_up, so every sample of E is drawn exactly λ_up times per epoch and every other sample
 *      of D_r once (the paper upsamples; it does not weight the loss);
 *   3. fine-tune θ̂ on D_up with the cross-entropy for `epochs` passes. ΔD is never read.
 *
 * The cheap variant, on two counts. The identification model is θ̂ itself, not an ERM model
 * trained for T epochs and stopped early: training one would be a partial Retrain on D_r (the cost
 * unlearning exists to avoid), and no early-stopped copy can be made from θ̂ (training it further
 * fits more of D_r, not less). θ̂ is the model whose shortcut the request is about, so its errors
 * on D_r are where that shortcut fails (a patterned sample of another class called k); being
 * trained to convergence it fits most of D_r, so E is small — empty, JTT is FT (the record states
 * |E|). And the second model starts at θ̂ and is fine-tuned, as FT is, instead of trained from
 * scratch on D_up as in the paper. Defaults: FT's training budget (2 epochs, lr 0.01, SGD with
 * momentum 0.9, batch 64), so that JTT differs from FT by the upsampling alone; λ_up = 50, the
 * paper's value for CelebA (its values span 6 on the text sets to 100 on Waterbirds).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset } from '../../data/dataset.ts';
import { cloneModel } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import type { UnlearnMethod } from '../types.ts';
import { disposeOnThrow, fineTuneOnRetain, frozenLogits, timed, trainingParams } from './common.ts';

const params = z.strictObject({
  ...trainingParams({ epochs: 2, lr: 0.01 }),
  lambdaUp: z
    .number()
    .int()
    .min(1)
    .max(10000)
    .default(50)
    .describe('λ_up: how many times per epoch each sample of the error set E is drawn'),
});

/** Positions in `ds` of the samples `model` misclassifies (argmax of the logits ≠ label). */
export function errorSet(
  model: LayersModel,
  ds: Dataset,
  cost?: CostCounter,
  batchSize = 256,
): number[] {
  const out: number[] = [];
  for (let start = 0; start < ds.length; start += batchSize) {
    const n = Math.min(batchSize, ds.length - start);
    const pos = Uint32Array.from({ length: n }, (_, i) => start + i);
    const wrong = tf.tidy(() => {
      const { xs, ys } = ds.tensors(pos);
      return tf.notEqual(tf.argMax(frozenLogits(model, xs), -1), ys);
    });
    const flags = wrong.dataSync();
    wrong.dispose();
    for (let i = 0; i < n; i++) if (flags[i]) out.push(start + i);
    cost?.addForward(n, 'retain');
  }
  return out;
}

/** D_up: every position of `retain` once, then `lambdaUp − 1` more copies of each of `errors`. */
export function upsampledRetain(retain: Dataset, errors: readonly number[], lambdaUp: number) {
  const positions = new Uint32Array(retain.length + errors.length * (lambdaUp - 1));
  for (let i = 0; i < retain.length; i++) positions[i] = i;
  let at = retain.length;
  for (let copy = 1; copy < lambdaUp; copy++) for (const e of errors) positions[at++] = e;
  return retain.subset(positions, `${retain.name}+E×${lambdaUp}`);
}

export const jtt: UnlearnMethod<typeof params> = {
  id: 'jtt',
  summary: "JTT: fine-tune on D_r with θ̂'s errors on D_r upsampled λ_up times",
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const retain = ctx.data.retain;
    const errors = await timed(phases, 'identify', () => errorSet(ctx.original, retain, ctx.cost));
    const stream = upsampledRetain(retain, errors, p.lambdaUp);
    const model = cloneModel(ctx.original);
    // FT's call on D_up in place of D_r: the loop (and a `+uib` bound) as FT has them.
    const up = { ...ctx, data: { ...ctx.data, retain: stream } };
    const run = await timed(phases, 'finetune', () =>
      disposeOnThrow(model, () => fineTuneOnRetain(up, model, p, { epochs: p.epochs }, 'jtt')),
    );
    return {
      model,
      phases,
      details: {
        errors: errors.length,
        errorShare: retain.length > 0 ? errors.length / retain.length : 0,
        streamLength: stream.length,
        steps: run.steps,
      },
    };
  },
};
