/**
 * NegGrad+ (Kurmanji et al. 2023): one loss over a retain batch and a forget batch per step,
 *
 *   α·(CE(D_r batch) + (λ/2)·‖θ − θ̂‖²) − (1 − α)·(1/|B_f|) Σ_i min(CE_i, c)   (ΔD batch B_f)
 *
 * an epoch is one pass over D_r, ΔD cycles beside it. The authors' repository has two versions:
 * the large-scale one (meghdadk/SCRUB, thirdparty/repdistiller/helper/loops.py `train_negrad`)
 * has no distance term, the small-scale notebook's (small_scale_unlearning.ipynb
 * `run_neggrad_epoch`) adds the L2 distance to the initial weights with λ = its training weight
 * decay (0.1 there). λ = `l2ToInitial`, default 0: the large-scale version. As in GA, the ascended
 * forget loss is capped per sample at c (`forgetLossCeiling`) so the objective is bounded, and a
 * step whose gradient norm exceeds `maxGradNorm` stops the run with a DivergenceError.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import type { UnlearnMethod } from '../types.ts';
import {
  batchCE,
  cappedCE,
  ceilingParam,
  disposeOnThrow,
  guardParams,
  l2Penalty,
  optimizerOf,
  timed,
  trainingParams,
} from './common.ts';

const params = z.strictObject({
  ...trainingParams({ epochs: 2, lr: 0.01 }),
  alpha: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.99)
    .describe('weight of the retain loss; 1 − alpha weighs the ascent on ΔD'),
  forgetBatchSize: z.number().int().min(1).max(65536).default(32).describe('ΔD samples per step'),
  forgetLossCeiling: ceilingParam(),
  l2ToInitial: z
    .number()
    .min(0)
    .max(1e6)
    .default(0)
    .describe('λ of α·(λ/2)·‖θ − θ̂‖² (0: none, the large-scale version; 0.1: the small-scale one)'),
  ...guardParams,
});

export const negGradPlus: UnlearnMethod<typeof params> = {
  id: 'neg-grad-plus',
  summary: 'Descent on D_r and ascent on ΔD in one loss: α·CE(D_r) − (1−α)·CE(ΔD)',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const model = cloneModel(ctx.original);
    // α multiplies the whole retain term in the authors' loss, the distance included.
    const own = p.l2ToInitial > 0 ? [l2Penalty(model, p.alpha * p.l2ToInitial, 'current')] : [];
    const run = await timed(phases, 'finetune', () =>
      disposeOnThrow(model, () =>
        ctx.train({
          model,
          streams: {
            retain: { data: ctx.data.retain, batchSize: p.batchSize },
            forget: { data: ctx.data.forget, batchSize: p.forgetBatchSize },
          },
          epochOver: 'retain',
          epochs: p.epochs,
          loss: (b) =>
            tf.sub(
              tf.mul(p.alpha, batchCE(model, b.retain)),
              tf.mul(1 - p.alpha, cappedCE(model, b.forget, p.forgetLossCeiling)),
            ),
          penalties: own,
          optimizer: optimizerOf(p),
          guard: { maxGradNorm: p.maxGradNorm },
          rng: ctx.rng.fork('neg-grad-plus'),
          cost: ctx.cost,
          quiet: ctx.quiet,
          label: 'neg-grad-plus',
        }),
      ),
    ).finally(() => {
      for (const q of own) q.dispose();
    });
    return { model, phases, details: { steps: run.steps } };
  },
};
