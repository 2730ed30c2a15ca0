/**
 * ℓ1-sparse (Jia et al. 2023, "Model sparsity can simplify machine unlearning"): FT on D_r with
 * an ℓ1 penalty on all weights whose coefficient decays linearly to 0 over the run,
 *
 *   L_t = CE(D_r) + γ_t·‖θ‖₁,   γ_t = γ·(1 − t/T_ℓ1)  (T_ℓ1 = the run minus `noL1Epochs`),
 *
 * so early steps push weights towards zero (sparsity helps forgetting) and late steps recover
 * accuracy. Like the authors' code, γ_t is held constant within an epoch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import { trainableVariables } from '../../train/loop.ts';
import type { Penalty } from '../../train/types.ts';
import type { UnlearnMethod } from '../types.ts';
import { fineTuneOnRetain, timed, trainingParams } from './common.ts';

const params = z.strictObject({
  ...trainingParams({ epochs: 3, lr: 0.01 }),
  gamma: z.number().min(0).max(1).default(5e-4).describe('initial ℓ1 coefficient γ'),
  noL1Epochs: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(0)
    .describe('final epochs without the ℓ1 term'),
});

export const l1Sparse: UnlearnMethod<typeof params> = {
  id: 'l1-sparse',
  summary: 'Fine-tune on D_r with a linearly decaying ℓ1 penalty (sparsity-aided unlearning)',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const model = cloneModel(ctx.original);
    const weights = trainableVariables(model);
    const l1Epochs = Math.max(0, p.epochs - p.noL1Epochs);
    const coefficient = (epoch: number) => {
      if (l1Epochs === 0) return 0;
      return epoch < l1Epochs ? p.gamma * (1 - epoch / l1Epochs) : 0;
    };
    const l1: Penalty = {
      name: 'l1',
      value: (info) => {
        const c = coefficient(info.epoch);
        if (c === 0) return tf.scalar(0);
        return tf.mul(c, tf.addN(weights.map((w) => tf.sum(tf.abs(w))))) as tf.Scalar;
      },
    };
    const run = await timed(phases, 'finetune', () =>
      fineTuneOnRetain(ctx, model, p, { epochs: p.epochs }, 'l1-sparse', [l1]),
    );
    return { model, phases, details: { steps: run.steps } };
  },
};
