/**
 * RL — random labels (Golatkar et al. 2020; SalUn's RL, Fan et al. 2024): relabel every ΔD sample
 * once with a random wrong class, then fine-tune on ΔD (relabelled) mixed with D_r. Each step
 * draws a forget batch and a retain batch sized like one shuffled batch of the union, so an
 * epoch (one pass over D_r) also passes over ΔD about once.
 *
 *   L = (b_f·CE(ΔD, y') + α·b_r·CE(D_r, y)) / (b_f + b_r),   y' ≠ y uniform
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import { trainLoop } from '../../train/loop.ts';
import type { MethodOutput, UnlearnContext, UnlearnMethod } from '../types.ts';
import {
  batchCE,
  disposeOnThrow,
  labelsAt,
  optimizerOf,
  penaltiesFor,
  randomWrongLabels,
  type TrainingParams,
  timed,
  trainingParams,
} from './common.ts';

export const rlParamShape = {
  ...trainingParams({ epochs: 2, lr: 0.01 }),
  retainWeight: z.number().min(0).max(1000).default(1).describe('α: weight of the D_r term'),
  forgetBatchSize: z
    .number()
    .int()
    .min(1)
    .max(65536)
    .optional()
    .describe('ΔD samples per step (default: batchSize·|ΔD|/n, at least 1)'),
};
const params = z.strictObject(rlParamShape);

export type RlParams = TrainingParams & { retainWeight: number; forgetBatchSize?: number };

/** RL's fine-tuning, on `model` in place; `masks` (SalUn) freeze the entries they mark 0. */
export async function randomLabelFinetune(
  ctx: UnlearnContext,
  model: LayersModel,
  p: RlParams,
  label: string,
  masks?: Map<string, tf.Tensor>,
): Promise<{ steps: number }> {
  const { retain, forget } = ctx.data;
  const wrong = randomWrongLabels(forget, ctx.rng.fork(`${label}-labels`));
  const bf =
    p.forgetBatchSize ?? Math.max(1, Math.round((p.batchSize * forget.length) / ctx.numTrain));
  const br = Math.max(1, p.batchSize - (p.forgetBatchSize === undefined ? bf : 0));
  const run = await trainLoop({
    model,
    streams: { retain: { data: retain, batchSize: br }, forget: { data: forget, batchSize: bf } },
    epochOver: 'retain',
    epochs: p.epochs,
    loss: (b) => {
      const nf = b.forget.positions.length;
      const nr = b.retain.positions.length;
      const lf = tf.mul(batchCE(model, b.forget, labelsAt(wrong, b.forget.positions)), nf);
      const lr = tf.mul(batchCE(model, b.retain), p.retainWeight * nr);
      return tf.div(tf.add(lf, lr), nf + nr);
    },
    penalties: penaltiesFor(ctx, model),
    optimizer: optimizerOf(p),
    masks,
    rng: ctx.rng.fork(label),
    cost: ctx.cost,
    quiet: ctx.quiet,
    label,
  });
  return { steps: run.steps };
}

export const rl: UnlearnMethod<typeof params> = {
  id: 'rl',
  summary: 'Fine-tune on ΔD with random wrong labels mixed with D_r',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p): Promise<MethodOutput> {
    const phases: Record<string, number> = {};
    const model = cloneModel(ctx.original);
    const { steps } = await timed(phases, 'finetune', () =>
      disposeOnThrow(model, () => randomLabelFinetune(ctx, model, p, 'rl')),
    );
    return { model, phases, details: { steps } };
  },
};
