/**
 * SSD — selective synaptic dampening (Foster et al. 2024). Training-free: compare each weight's
 * importance to ΔD with its importance to the whole training set D, and shrink the weights that
 * matter disproportionately to ΔD.
 *
 *   []_D, []_f : diagonal Fishers (mean squared per-example CE gradient) over D and over ΔD
 *   select     : entries with []_f > α·[]_D
 *   dampen     : θ ← β·θ with β = min(λ·[]_D / []_f, 1)
 *
 * Data read: ΔD, plus []_D computed once after training (`ctx.fisherD`; `uib unlearn` computes it
 * from the scenario's training set before the timed run, as the paper treats it as precomputed).
 * SSD never reads D_r. The authors' code approximates the Fishers by squared *batch* gradients
 * (clipped to norm 1); here both are the exact per-example diagonal Fisher of the paper's
 * definition.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import type { Dataset } from '../../data/dataset.ts';
import { cloneModel } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import type { UnlearnMethod } from '../types.ts';
import { timed, weightsByName } from './common.ts';
import { curvatureByName, type PerWeight } from './curvature.ts';

const params = z.strictObject({
  alpha: z
    .number()
    .positive()
    .max(1e6)
    .default(10)
    .describe('selection: dampen where F_f > alpha·F_D'),
  lambda: z
    .number()
    .positive()
    .max(1e6)
    .default(1)
    .describe('dampening: scale by min(lambda·F_D/F_f, 1)'),
});

/** []_D for SSD: the diagonal empirical Fisher of `model` over the full training set. */
export function trainingSetFisher(
  model: LayersModel,
  train: Dataset,
  cost?: CostCounter,
): PerWeight {
  return curvatureByName(model, train, { diag: true, cost, set: 'train' }).diag;
}

/** The dampening factor of each entry (1 = untouched). Exported for tests. */
export function dampeningFactors(
  fD: Float32Array,
  fF: Float32Array,
  alpha: number,
  lambda: number,
): Float32Array {
  const out = new Float32Array(fD.length).fill(1);
  for (let i = 0; i < fD.length; i++) {
    if (fF[i] > alpha * fD[i]) out[i] = Math.min((lambda * fD[i]) / fF[i], 1);
  }
  return out;
}

export const ssd: UnlearnMethod<typeof params> = {
  id: 'ssd',
  summary:
    'Selective synaptic dampening: shrink weights far more important to ΔD than to D (reads only ΔD + F_D)',
  params,
  readsRetain: false,
  supportsUib: false,
  async run(ctx, p) {
    const fD = ctx.fisherD;
    if (!fD) {
      throw new UsageError(
        'ssd',
        'needs the diagonal Fisher over the training set D (ctx.fisherD, computed once after training); none was given',
      );
    }
    const phases: Record<string, number> = {};
    const fF = await timed(
      phases,
      'fisher-forget',
      () =>
        curvatureByName(ctx.original, ctx.data.forget, {
          diag: true,
          cost: ctx.cost,
          set: 'forget',
        }).diag,
    );
    const model = cloneModel(ctx.original);
    let selected = 0;
    let total = 0;
    await timed(phases, 'dampen', () => {
      for (const [name, variable] of weightsByName(model)) {
        const d = fD.get(name);
        const f = fF.get(name);
        if (!d || !f || d.length !== variable.size) {
          throw new UsageError(
            'ssd',
            `fisherD has no entry of size ${variable.size} for weight "${name}"`,
          );
        }
        const beta = dampeningFactors(d, f, p.alpha, p.lambda);
        for (let i = 0; i < beta.length; i++) if (f[i] > p.alpha * d[i]) selected++;
        total += beta.length;
        tf.tidy(() => variable.assign(tf.mul(variable, tf.tensor(beta, variable.shape))));
      }
    });
    return { model, phases, details: { selectedShare: selected / total, selected } };
  },
};
