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

export interface AlphaTrial {
  alpha: number;
  /** Loss on the held-out slice of D_r. */
  sliceLoss: number;
  /** The evidence rule's two losses: on ΔD (its search sample) and on the held-out twin. */
  forgetLoss?: number;
  twinLoss?: number;
}

export interface AlphaSearch {
  alpha: number;
  searched: AlphaTrial[];
  baseSliceLoss: number;
  /** Evidence rule: ΔD's and the twin's losses at θ̂, and why the search stopped where it did. */
  baseForgetLoss?: number;
  baseTwinLoss?: number;
  stop?: 'evidence' | 'cap' | 'none';
}

/**
 * The evidence rule's data (docs/method.md §3, "A step that sees what it removes"): a sample of
 * ΔD and its held-out twin — data of ΔD's classes that the model never trained on — and the cap
 * on the damage to D_r that no α may exceed.
 */
export interface EvidenceTarget {
  forget: Dataset;
  twin: Dataset;
  /** Largest rise of the D_r slice loss (nats) any α may cause. */
  cap: number;
}

/**
 * α for the step along a fixed direction, by one of two rules (grid bisected in both: the slice
 * loss rises with α, and ΔD's loss rises faster than its twin's, so each predicate flips once):
 * - damage (no `evidence`): the largest α of `grid` whose step raises the loss on `slice` by at
 *   most ε nats (0 when none does);
 * - evidence: the smallest α at which ΔD's mean loss has reached its held-out twin's — ΔD looks
 *   to the model like data it never saw — among the α whose slice loss rises by at most
 *   `evidence.cap`; the largest of those when none reaches it.
 * ⌈log2(grid + 1)⌉ evaluations per bisection. The model's weights are restored bit for bit.
 */
export async function searchAlpha(
  model: LayersModel,
  groups: ParamGroup[],
  slice: Dataset,
  stepAt: (alpha: number) => ClippedStep[][],
  opts: {
    grid: readonly number[];
    epsilon: number;
    batchSize: number;
    cost?: CostCounter;
    evidence?: EvidenceTarget;
  },
): Promise<AlphaSearch> {
  const grid = [...opts.grid].sort((a, b) => b - a);
  const vars = groupVariables(groups);
  const saved = vars.map((vs) => vs.map((v) => tf.keep(v.clone())));
  const searched: AlphaTrial[] = [];
  const ev = opts.evidence;
  const lossOn = async (set: Dataset, which: 'retain' | 'forget' | 'test') =>
    (await evaluate(model, set, opts.batchSize, { cost: opts.cost, set: which })).loss;
  const measureHere = async (alpha: number): Promise<AlphaTrial> => {
    const t: AlphaTrial = { alpha, sliceLoss: await lossOn(slice, 'retain') };
    if (ev) {
      t.forgetLoss = await lossOn(ev.forget, 'forget');
      t.twinLoss = await lossOn(ev.twin, 'test');
    }
    return t;
  };
  const trials = new Map<number, AlphaTrial>();
  const at = async (a: number): Promise<AlphaTrial> => {
    const known = trials.get(a);
    if (known) return known;
    const st = stepAt(a);
    vars.forEach((vs, gi) => {
      vs.forEach((v, ti) => {
        tf.tidy(() => v.assign(tf.add(saved[gi][ti], tf.tensor(st[gi][ti].step, v.shape))));
      });
    });
    const t = await measureHere(a);
    trials.set(a, t);
    searched.push(t);
    return t;
  };
  // Largest index range [from, to) of `grid` (descending) on which `ok` holds, given that `ok`
  // is false above some α and true below it: returns the first index where it holds.
  const firstTrue = async (ok: (t: AlphaTrial) => boolean, from: number, to: number) => {
    let rejected = from - 1;
    let accepted = to; // `to`: none known
    while (accepted - rejected > 1) {
      const mid = (rejected + accepted) >> 1;
      if (ok(await at(grid[mid]))) accepted = mid;
      else rejected = mid;
    }
    return accepted;
  };
  try {
    const base = await measureHere(0);
    const damageOk = (limit: number) => (t: AlphaTrial) =>
      Number.isFinite(t.sliceLoss) && t.sliceLoss - base.sliceLoss <= limit;
    if (!ev) {
      const i = await firstTrue(damageOk(opts.epsilon), 0, grid.length);
      return { alpha: i < grid.length ? grid[i] : 0, searched, baseSliceLoss: base.sliceLoss };
    }
    const head = {
      searched,
      baseSliceLoss: base.sliceLoss,
      baseForgetLoss: base.forgetLoss,
      baseTwinLoss: base.twinLoss,
    };
    const reached = (t: AlphaTrial) =>
      Number.isFinite(t.forgetLoss!) && t.forgetLoss! >= t.twinLoss!;
    // ΔD already fits no better than data the model never saw: nothing to remove.
    if (reached(base)) return { alpha: 0, ...head, stop: 'evidence' };
    const capIdx = await firstTrue(damageOk(ev.cap), 0, grid.length);
    if (capIdx === grid.length) return { alpha: 0, ...head, stop: 'none' };
    // Among grid[capIdx..] (all within the cap), the smallest α where ΔD has reached its twin:
    // "reached" holds for large α, so bisect for the last index where it holds.
    if (!reached(await at(grid[capIdx]))) return { alpha: grid[capIdx], ...head, stop: 'cap' };
    let lo = capIdx; // reached
    let hi = grid.length; // grid.length: α = 0, not reached (ΔD fits better than its twin at θ̂)
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (reached(await at(grid[mid]))) lo = mid;
      else hi = mid;
    }
    return { alpha: grid[lo], ...head, stop: 'evidence' };
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
