/**
 * IU — influence unlearning (Jia et al. 2023, after Izzo et al. 2021 / Koh & Liang 2017): one
 * Newton-type step that removes ΔD's influence, with the Hessian replaced by a WoodFisher
 * approximation (Singh & Alistarh 2020).
 *
 *   v   = (1/n)·Σ_{ΔD} ∇ℓ − (n_f/(n·n_r))·Σ_{D_r} ∇ℓ  =  (n_f/n)·(ḡ_f − ḡ_r)
 *   F̂   = λ·I + (1/m)·Σ_{i∈S} g_i g_iᵀ      (per-example gradients of m samples S ⊂ D_r)
 *   θ_u = θ̂ + α·F̂⁻¹ v
 *
 * F̂⁻¹ v is exact by the Woodbury identity, F̂⁻¹ v = (v − Gᵀ (mλ·I + G Gᵀ)⁻¹ G v) / λ with G the
 * m×d matrix of per-example gradients; the authors' code (OPTML-Group/Unlearn-Sparse,
 * unlearn/Wfisher.py `woodfisher`) approximates the same product by a running rank-one recursion
 * with weight 1/N, N = 1000, over the first D_r samples in loader order, which amounts to λ = 1.
 * α = 0.2 is their `--alpha` default (arg_parser.py). m = 128 random D_r samples here, not 1000:
 * G is held in memory (m·d floats) and the Gram matrix costs m²·d, hence the `samples` budget.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import { cloneModel, countParams } from '../../models/index.ts';
import { trainableVariables } from '../../train/loop.ts';
import { curvatureByName, meanLossGradient } from '../curvature/index.ts';
import type { UnlearnMethod } from '../types.ts';
import { cholesky, choleskySolve } from '../uib/linalg.ts';
import { timed, weightsByName } from './common.ts';

const MAX_G_BYTES = 1 << 30;

const params = z.strictObject({
  alpha: z.number().positive().max(1e6).default(0.2).describe('step scale α'),
  damping: z.number().positive().max(1e6).default(1).describe('λ of F̂ = λI + mean g gᵀ'),
  samples: z
    .number()
    .int()
    .min(1)
    .max(100000)
    .default(128)
    .describe('m: D_r samples whose per-example gradients form F̂'),
});

/** (λI + (1/m)·GᵀG)⁻¹ v by Woodbury; G holds m rows of length d. */
export function woodFisherSolve(G: Float32Array[], v: Float64Array, lambda: number): Float64Array {
  const m = G.length;
  const d = v.length;
  const gram = new Float64Array(m * m);
  const gv = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const gi = G[i];
    let s = 0;
    for (let t = 0; t < d; t++) s += gi[t] * v[t];
    gv[i] = s;
    for (let j = 0; j <= i; j++) {
      const gj = G[j];
      let dot = 0;
      for (let t = 0; t < d; t++) dot += gi[t] * gj[t];
      gram[i * m + j] = dot;
      gram[j * m + i] = dot;
    }
    gram[i * m + i] += m * lambda;
  }
  const chol = cholesky(gram, m);
  if (!chol) throw new Error('woodFisherSolve: mλI + GGᵀ is not positive definite');
  const c = choleskySolve(chol, m, gv);
  const out = Float64Array.from(v);
  for (let i = 0; i < m; i++) {
    const gi = G[i];
    for (let t = 0; t < d; t++) out[t] -= gi[t] * c[i];
  }
  for (let t = 0; t < d; t++) out[t] /= lambda;
  return out;
}

export const iu: UnlearnMethod<typeof params> = {
  id: 'iu',
  summary: 'Influence unlearning: one WoodFisher inverse-Fisher step removing ΔD (Jia et al. 2023)',
  params,
  readsRetain: true,
  supportsUib: false,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const { retain, forget } = ctx.data;
    const d = countParams(ctx.original);
    const m = Math.min(p.samples, retain.length);
    if (m * d * 4 > MAX_G_BYTES) {
      throw new UsageError(
        'iu.samples',
        `${m} per-example gradients of ${d} weights need ${Math.ceil((m * d * 4) / 2 ** 20)} MiB; must fit in ${MAX_G_BYTES / 2 ** 20} MiB (lower samples); got ${p.samples}`,
      );
    }
    const names = ctx.original.trainableWeights.map((w) => w.originalName);
    const flat = (byName: Map<string, Float32Array>) => {
      const out = new Float64Array(d);
      let off = 0;
      for (const n of names) {
        const a = byName.get(n)!;
        out.set(a, off);
        off += a.length;
      }
      return out;
    };
    const v = await timed(phases, 'gradients', () => {
      const gf = flat(
        curvatureByName(ctx.original, forget, { diag: false, cost: ctx.cost, set: 'forget' }).grad,
      );
      const gr = flat(
        curvatureByName(ctx.original, retain, { diag: false, cost: ctx.cost, set: 'retain' }).grad,
      );
      const scale = forget.length / ctx.numTrain;
      return gf.map((x, i) => scale * (x - gr[i]));
    });
    const G = await timed(phases, 'per-example', () => {
      const pick = ctx.rng.fork('iu-samples').permutation(retain.length).subarray(0, m);
      const vars = trainableVariables(ctx.original);
      const rows: Float32Array[] = [];
      for (const i of pick) {
        // The gradient of one example: H5's mean gradient over a one-sample view.
        const parts = meanLossGradient(ctx.original, vars, retain.subset([i]), 1);
        const row = new Float32Array(d);
        let off = 0;
        for (const a of parts) {
          row.set(a, off);
          off += a.length;
        }
        rows.push(row);
        ctx.cost.addGrad(1, 'retain');
      }
      return rows;
    });
    const step = await timed(phases, 'woodfisher', () => woodFisherSolve(G, v, p.damping));
    const model = cloneModel(ctx.original);
    let off = 0;
    let stepSq = 0;
    for (const [, variable] of weightsByName(model)) {
      const delta = new Float32Array(variable.size);
      for (let t = 0; t < delta.length; t++) {
        delta[t] = p.alpha * step[off + t];
        stepSq += delta[t] * delta[t];
      }
      off += delta.length;
      tf.tidy(() => variable.assign(tf.add(variable, tf.tensor(delta, variable.shape))));
    }
    return { model, phases, details: { samples: m, stepNorm: Math.sqrt(stepSq) } };
  },
};
