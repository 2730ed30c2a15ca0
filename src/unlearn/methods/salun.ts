/**
 * SalUn (Fan et al. 2024, "Salient unlearning"): RL restricted to the weights most salient for
 * forgetting.
 *
 *   1. saliency s = |∇_θ CE(ΔD; θ̂)|, the forget-loss gradient at θ̂, per weight entry;
 *   2. mask m = 1[s ≥ γ], γ chosen globally (over all weights) so that a share `maskRatio` of
 *      the entries may change (the paper's γ = median ⇔ maskRatio 0.5);
 *   3. RL (random wrong labels on ΔD, drawn afresh per batch as in `rl.ts`, mixed with D_r)
 *      updating only entries with m = 1. The loop's masks keep every other entry bit-identical:
 *      no gradient, no weight decay, no momentum.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import { meanGradientByName } from '../curvature/index.ts';
import type { UnlearnMethod } from '../types.ts';
import { disposeOnThrow, timed } from './common.ts';
import { randomLabelFinetune, rlParamShape } from './rl.ts';

const params = z.strictObject({
  ...rlParamShape,
  maskRatio: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe('share of weight entries that may change (the most salient)'),
});

/**
 * Masks (1 = may change) keeping the `ratio` share of entries with the largest |g|, over all
 * tensors together. Ties at the threshold are broken by position so exactly round(ratio·d) pass.
 */
export function saliencyMasks(
  grads: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
  ratio: number,
) {
  const total = [...grads.values()].reduce((n, g) => n + g.length, 0);
  const keep = Math.round(ratio * total);
  const all = new Float32Array(total);
  let off = 0;
  for (const g of grads.values()) {
    for (let i = 0; i < g.length; i++) all[off + i] = Math.abs(g[i]);
    off += g.length;
  }
  const sorted = all.slice().sort();
  const threshold = keep > 0 ? sorted[total - keep] : Number.POSITIVE_INFINITY;
  let above = 0;
  for (let i = 0; i < total; i++) if (all[i] > threshold) above++;
  let tiesLeft = keep - above; // entries equal to the threshold still allowed in
  const masks = new Map<string, tf.Tensor>();
  off = 0;
  for (const [name, g] of grads) {
    const m = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) {
      const s = all[off + i];
      if (s > threshold) m[i] = 1;
      else if (s === threshold && tiesLeft > 0) {
        m[i] = 1;
        tiesLeft--;
      }
    }
    off += g.length;
    masks.set(name, tf.tensor(m, shapes.get(name)));
  }
  return { masks, kept: keep, total };
}

export const salun: UnlearnMethod<typeof params> = {
  id: 'salun',
  summary:
    'RL on the weights most salient for the forget loss (gradient-saliency mask; the rest frozen)',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const grads = await timed(phases, 'saliency', () =>
      meanGradientByName(ctx.original, ctx.data.forget, { cost: ctx.cost, set: 'forget' }),
    );
    const shapes = new Map(
      ctx.original.trainableWeights.map((w) => [w.originalName, w.shape as number[]]),
    );
    const { masks, kept, total } = saliencyMasks(grads, shapes, p.maskRatio);
    const model = cloneModel(ctx.original);
    try {
      const { steps, labelDraws } = await timed(phases, 'finetune', () =>
        disposeOnThrow(model, () => randomLabelFinetune(ctx, model, p, 'salun', masks)),
      );
      return {
        model,
        phases,
        details: { steps, labelDraws, maskDensity: kept / total, maskedEntries: total - kept },
      };
    } finally {
      tf.dispose([...masks.values()]);
    }
  },
};
