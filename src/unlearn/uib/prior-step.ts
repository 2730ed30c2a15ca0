/**
 * From the raw step s = Λ⁻¹r to the prior mean μ = θ̂ + α·s (docs/method.md §3): the trust region
 * that bounds each tensor's move, the search for α (the largest step whose loss on a held-out
 * slice of D_r rises by at most ε), and the placement of μ — or, for the sham control, of a random
 * direction of the same norm.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { ParamGroup } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import { evaluate } from '../../train/evaluate.ts';
import { groupVariables } from '../curvature/index.ts';
import type { PriorGroup } from './precision.ts';

export function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export interface ClippedStep {
  step: Float32Array;
  clipped: boolean;
}

/**
 * α ↦ the step α·s with each tensor's move clipped to τ·‖θ̂‖ (τ null: no trust region), per group
 * and tensor.
 */
export function trustRegion(
  steps: Float32Array[][],
  groups: PriorGroup[],
  tau: number | null,
): (alpha: number) => ClippedStep[][] {
  return (alpha) =>
    steps.map((gs, gi) =>
      gs.map((s, ti) => {
        const scaled = s.map((v) => v * alpha);
        const norm = l2(scaled);
        const limit =
          tau === null ? Number.POSITIVE_INFINITY : tau * l2(groups[gi].tensors[ti].theta);
        if (norm > limit) {
          const k = limit / norm;
          for (let j = 0; j < scaled.length; j++) scaled[j] *= k;
          return { step: scaled, clipped: true };
        }
        return { step: scaled, clipped: false };
      }),
    );
}

export interface AlphaSearch {
  alpha: number;
  searched: { alpha: number; sliceLoss: number }[];
  baseSliceLoss: number;
}

/**
 * The largest α of `grid` whose step raises the loss on `slice` by at most ε nats (0 when none
 * does). The slice loss rises with α along a fixed direction, so the grid is bisected:
 * ⌈log2(grid + 1)⌉ evaluations instead of a scan. The model's weights are restored bit for bit.
 */
export async function searchAlpha(
  model: LayersModel,
  groups: ParamGroup[],
  slice: Dataset,
  stepAt: (alpha: number) => ClippedStep[][],
  opts: { grid: readonly number[]; epsilon: number; batchSize: number; cost?: CostCounter },
): Promise<AlphaSearch> {
  const grid = [...opts.grid].sort((a, b) => b - a);
  const vars = groupVariables(groups);
  const saved = vars.map((vs) => vs.map((v) => tf.keep(v.clone())));
  const searched: AlphaSearch['searched'] = [];
  const sliceLoss = async () =>
    (await evaluate(model, slice, opts.batchSize, { cost: opts.cost, set: 'retain' })).loss;
  try {
    const baseSliceLoss = await sliceLoss();
    const tryAlpha = async (a: number) => {
      const st = stepAt(a);
      vars.forEach((vs, gi) => {
        vs.forEach((v, ti) => {
          tf.tidy(() => v.assign(tf.add(saved[gi][ti], tf.tensor(st[gi][ti].step, v.shape))));
        });
      });
      const loss = await sliceLoss();
      searched.push({ alpha: a, sliceLoss: loss });
      return Number.isFinite(loss) && loss - baseSliceLoss <= opts.epsilon;
    };
    let rejected = -1; // grid[0..rejected] are too large
    let accepted = grid.length; // grid[accepted..] are acceptable (grid.length: none known)
    while (accepted - rejected > 1) {
      const mid = (rejected + accepted) >> 1;
      if (await tryAlpha(grid[mid])) accepted = mid;
      else rejected = mid;
    }
    return { alpha: accepted < grid.length ? grid[accepted] : 0, searched, baseSliceLoss };
  } finally {
    vars.forEach((vs, gi) => {
      vs.forEach((v, ti) => {
        v.assign(saved[gi][ti]);
      });
    });
    tf.dispose(saved.flat());
  }
}

/** A Gaussian direction with the norm of `step` (zero stays zero). */
function randomLike(step: Float32Array | Float64Array, rng: Rng): Float64Array {
  const out = new Float64Array(step.length);
  for (let j = 0; j < out.length; j++) out[j] = rng.normal();
  const norm = l2(step);
  const len = l2(out);
  if (norm === 0 || len === 0) return out.fill(0);
  for (let j = 0; j < out.length; j++) out[j] *= norm / len;
  return out;
}

/**
 * μ = θ̂ + step, tensor by tensor. The sham control (`shamRng`) replaces each tensor's step by a
 * Gaussian direction of the same norm, so that what the step *points at* is all that differs
 * from UIB-IF (same norm, same repair).
 */
export function placeMean(groups: PriorGroup[], final: ClippedStep[][], shamRng: Rng | null): void {
  groups.forEach((pg, gi) => {
    pg.tensors.forEach((t, ti) => {
      const s = shamRng ? randomLike(final[gi][ti].step, shamRng) : final[gi][ti].step;
      for (let j = 0; j < s.length; j++) t.mean[j] = t.theta[j] + s[j];
    });
  });
}
