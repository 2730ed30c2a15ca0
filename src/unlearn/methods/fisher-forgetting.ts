/**
 * Fisher forgetting (Golatkar et al. 2020, "Eternal sunshine of the spotless net"): add Gaussian
 * noise shaped by the inverse diagonal Fisher of D_r, so weights D_r does not pin down are
 * scrambled while the ones it needs barely move. Following the authors' code
 * (AdityaGolatkar/SelectiveForgetting, Forgetting.ipynb: `hessian`, `get_mean_var`):
 *
 *   F     = diagonal Fisher on D_r, per example and in inference mode, over every class y weighted
 *           by the model's p(y|x): F = mean_x Σ_y p_y·g_y² (`fisherLabels: 'expected'`, k backward
 *           rows per example). 'sampled' (one label drawn from p) and 'stratified' estimate the
 *           same F more cheaply, with Monte-Carlo noise; they are not the authors' quantity.
 *   var   = α · min(1/(F + 1e-8), 1e3)          (output layer: min(…, 1e2))
 *           kernels: averaged over the input axis (one variance per output unit and position)
 *           output layer and 1-D tensors (biases, norms): ×10
 *   class removal (ΔD = all of class k, none left in D_r): output unit k gets mean 0, var 1e-4·10
 *   θ     = μ + √var · n,  μ = θ̂,  n ~ N(0, I)  (seeded)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import { cloneModel, paramGroups } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import { computeCurvature, type FisherLabels, type PerWeight } from '../curvature/index.ts';
import type { UnlearnMethod } from '../types.ts';
import { timed, weightsByName } from './common.ts';

const params = z.strictObject({
  alpha: z.number().positive().max(1).default(1e-6).describe('noise scale α (variance = α/F)'),
  fisherLabels: z
    .enum(['expected', 'sampled', 'stratified'])
    .default('expected')
    .describe(
      "F_r's labels: every class weighted by p (exact, the authors'), one sampled label, or stratified",
    ),
});

/** Fisher forgetting's diagonal F_r of `model` over `retain`, by weight name. Exported for tests. */
export function retainFisher(
  model: LayersModel,
  retain: Dataset,
  labels: FisherLabels,
  rng?: Rng,
  cost?: CostCounter,
): PerWeight {
  const groups = paramGroups(model);
  const c = computeCurvature(model, groups, retain, {
    gradient: false,
    diag: true,
    labels,
    rng,
    cost,
    set: 'retain',
  });
  const byName: PerWeight = new Map();
  groups.forEach((g, gi) => {
    g.params.forEach((q, pi) => {
      byName.set(q.variable.originalName, c.diag![gi][pi]);
    });
  });
  return byName;
}

/** The class ΔD removes entirely (all of ΔD has label k and D_r has none), else null. */
export function removedClass(forgetLabels: Int32Array, retainLabels: Int32Array): number | null {
  if (forgetLabels.length === 0) return null;
  const k = forgetLabels[0];
  if (!forgetLabels.every((y) => y === k)) return null;
  return retainLabels.includes(k) ? null : k;
}

export const fisherForgetting: UnlearnMethod<typeof params> = {
  id: 'fisher-forgetting',
  summary: 'Noise scaled by the inverse diagonal Fisher of D_r (Golatkar et al. 2020)',
  params,
  readsRetain: true,
  supportsUib: false,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    // Forked whatever the mode, so the noise stream below is the same for every label mode.
    const labelRng = ctx.rng.fork('fisher-labels');
    const F = await timed(phases, 'fisher', () =>
      retainFisher(ctx.original, ctx.data.retain, p.fisherLabels, labelRng, ctx.cost),
    );
    const k = removedClass(ctx.data.forget.labels(), ctx.data.retain.labels());
    const model = cloneModel(ctx.original);
    const outputNames = new Set(
      paramGroups(model)
        .filter((g) => g.isOutput)
        .flatMap((g) => g.params.map((q) => q.variable.originalName)),
    );
    const noiseRng = ctx.rng.fork('fisher-noise');
    await timed(phases, 'noise', () => {
      for (const [name, variable] of weightsByName(model)) {
        const f = F.get(name)!;
        const isOutput = outputNames.has(name);
        const cap = isOutput ? 1e2 : 1e3;
        const shape = variable.shape;
        let v: Float32Array = Float32Array.from(f, (x) => p.alpha * Math.min(1 / (x + 1e-8), cap));
        if (shape.length > 1) v = meanOverInputAxis(v, shape);
        const mu = variable.dataSync().slice() as Float32Array;
        const units = shape[shape.length - 1];
        // Only where the output's last axis is the classes (not a binary sigmoid's one unit).
        if (isOutput && k !== null && units === ctx.data.forget.numClasses) {
          // Output unit k is the last axis' index k: zero its weights and bias, almost no noise.
          for (let i = k; i < mu.length; i += units) {
            mu[i] = 0;
            v[i] = 1e-4;
          }
        }
        const boost = isOutput || shape.length === 1 ? 10 : 1;
        const next = new Float32Array(mu.length);
        for (let i = 0; i < mu.length; i++)
          next[i] = mu[i] + Math.sqrt(v[i] * boost) * noiseRng.normal();
        tf.tidy(() => variable.assign(tf.tensor(next, shape)));
      }
    });
    return { model, phases, details: { removedClass: k, fisherLabels: p.fisherLabels } };
  },
};

/** Replace each entry by the mean over the input axis (rank−2: Dense [in, out], Conv [kh, kw, in, out]). */
function meanOverInputAxis(v: Float32Array, shape: number[]): Float32Array {
  const r = shape.length;
  const cin = shape[r - 2];
  const cout = shape[r - 1];
  const outer = v.length / (cin * cout);
  const out = new Float32Array(v.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < cout; j++) {
      let s = 0;
      for (let i = 0; i < cin; i++) s += v[(o * cin + i) * cout + j];
      const m = s / cin;
      for (let i = 0; i < cin; i++) out[(o * cin + i) * cout + j] = m;
    }
  }
  return out;
}
