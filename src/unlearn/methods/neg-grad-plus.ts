/**
 * NegGrad+ (Kurmanji et al. 2023): one loss over a retain batch and a forget batch per step,
 *
 *   α·CE(D_r batch) − (1 − α)·(1/|B_f|) Σ_i min(CE_i, c)   (ΔD batch B_f)
 *
 * an epoch is one pass over D_r, ΔD cycles beside it. As in GA, the ascended forget loss is
 * capped per sample at c (`forgetLossCeiling`) so the objective is bounded, and a step whose
 * gradient norm exceeds `maxGradNorm` stops the run with a DivergenceError.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import { trainLoop } from '../../train/loop.ts';
import type { UnlearnMethod } from '../types.ts';
import {
  batchCE,
  cappedCE,
  ceilingParam,
  disposeOnThrow,
  guardParams,
  optimizerOf,
  penaltiesFor,
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
    const run = await timed(phases, 'finetune', () =>
      disposeOnThrow(model, () =>
        trainLoop({
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
          penalties: penaltiesFor(ctx, model),
          optimizer: optimizerOf(p),
          guard: { maxGradNorm: p.maxGradNorm },
          rng: ctx.rng.fork('neg-grad-plus'),
          cost: ctx.cost,
          quiet: ctx.quiet,
          label: 'neg-grad-plus',
        }),
      ),
    );
    return { model, phases, details: { steps: run.steps } };
  },
};
