/**
 * SSD — selective synaptic dampening (Foster et al. 2024). Training-free: compare each weight's
 * importance to ΔD with its importance to the whole training set D, and shrink the weights that
 * matter disproportionately to ΔD.
 *
 *   I_D, I_f : importances over D and over ΔD (below)
 *   select   : entries with I_f > α·I_D
 *   dampen   : θ ← β·θ with β = min(λ·I_D / I_f, 1)
 *
 * Importance, as the authors compute it (their Fisher estimate): the mean over mini-batches of B
 * samples of the squared *mini-batch mean* CE gradient, E_batch[(ḡ_B)²] ≈ ḡ² + Var(g)/B. Not the
 * per-example diagonal Fisher: with that one, ΔD ⊂ D and non-negative terms give
 * F_f ≤ (|D|/|ΔD|)·F_D, so the selection F_f > α·F_D is impossible whenever |ΔD| ≥ |D|/α — every
 * 10 % class or random deletion at the paper's α = 10 — and SSD returned the original model.
 * In the batch form I_f/I_D ≈ (B·ḡ_f² + σ_f²)/(B·ḡ_D² + σ_D²): a gradient coherent over ΔD counts
 * B times, while D's mean gradient ḡ_D ≈ 0 at θ̂, so the paper's α and λ select and dampen.
 * Both sets are cut, in their stored order and without shuffling, into consecutive batches of
 * `SSD_BATCH_SIZE`, the last one possibly short: the authors' loaders for ΔD and for D are plain
 * unshuffled DataLoaders of their `-b` default, 64 (if-loops/selective-synaptic-dampening,
 * forget_full_class_main.py: `forget_train_dl`, `full_train_dl`; ssd.py
 * `ParameterPerturber.calc_importance`). The importance therefore depends on the stored order: a
 * class-sorted set gives single-class batches, whose mean gradients are large, and a larger I_D
 * selects fewer weights. The authors' D is ΔD appended to D_r (a `ConcatDataset` of the two),
 * whose last batches are then ΔD's own, which brings the bound above back (`ssdTrainingOrder`);
 * here D is the training set in its stored order, what the callers pass (a fixed order that does
 * not depend on the request, as a precomputed I_D must be). Gradients in inference mode (BatchNorm
 * on its moving statistics), as they take them in eval mode.
 *
 * Data read: ΔD, plus I_D computed once after training (`ctx.precomputed`, from `trainingSetImportance`;
 * `uib unlearn` and the runner compute it from the scenario's training set before the timed run,
 * as the paper treats it as precomputed). SSD never reads D_r.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import { rngFor } from '../../core/rng.ts';
import { Dataset } from '../../data/dataset.ts';
import { describeModel, logitsTwin } from '../../models/describe.ts';
import { cloneModel } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';
import type { PerWeight } from '../curvature/index.ts';
import type { UnlearnMethod } from '../types.ts';
import { frozenLogits, timed, weightsByName } from './common.ts';

/** Samples per mini-batch of both importances (the authors' `-b` default for class forgetting). */
export const SSD_BATCH_SIZE = 64;

const params = z.strictObject({
  alpha: z
    .number()
    .positive()
    .max(1e6)
    .default(10)
    .describe('selection: dampen where I_f > alpha·I_D (importances over ΔD and D)'),
  lambda: z
    .number()
    .positive()
    .max(1e6)
    .default(1)
    .describe('dampening: scale by min(lambda·I_D/I_f, 1)'),
});

/** How `ssdImportance` cuts a set into batches. */
export interface SsdBatching {
  batchSize?: number;
  /**
   * Shuffle with this seed before batching (the project's setting before issue 14). Default: no
   * shuffle, consecutive batches in stored order, as the authors' loaders.
   */
  shuffleSeed?: number;
}

/**
 * SSD's importance of every trainable weight of `model` over `data`, by weight name: the mean
 * over mini-batches of the squared mini-batch mean CE gradient (see the header).
 */
export function ssdImportance(
  model: LayersModel,
  data: Dataset,
  opts: SsdBatching & { cost?: CostCounter; set?: string } = {},
): PerWeight {
  const batchSize = opts.batchSize ?? SSD_BATCH_SIZE;
  if (data.length === 0) {
    throw new UsageError('ssd', `importance over "${opts.set ?? data.name}" needs samples; got 0`);
  }
  const weights = model.trainableWeights;
  const vars = weights.map((w) => w.read() as tf.Variable);
  const sums = vars.map((v) => new Float64Array(v.size));
  const batches = data.batches(
    batchSize,
    opts.shuffleSeed === undefined ? undefined : rngFor(opts.shuffleSeed, 'ssd-batches'),
  );
  for (const pos of batches) {
    tf.tidy(() => {
      const { xs, ys } = data.tensors(pos);
      const { grads } = tf.variableGrads(
        () => softmaxCrossEntropy(frozenLogits(model, xs), ys),
        vars,
      );
      vars.forEach((v, k) => {
        const g = grads[v.name];
        if (!g) return; // a weight the loss does not reach: importance 0
        const sq = tf.square(g).dataSync();
        const sum = sums[k];
        for (let i = 0; i < sum.length; i++) sum[i] += sq[i];
      });
    });
    opts.cost?.addGrad(pos.length, opts.set);
  }
  const out: PerWeight = new Map();
  weights.forEach((w, k) => {
    out.set(
      w.originalName,
      Float32Array.from(sums[k], (s) => s / batches.length),
    );
  });
  return out;
}

/**
 * I_D for SSD (`ctx.precomputed`): its importance of `model` over the full training set D, computed
 * once after training. `batching` must match the one ΔD's importance gets (the defaults do).
 */
export function trainingSetImportance(
  model: LayersModel,
  train: Dataset,
  cost?: CostCounter,
  batching: SsdBatching = {},
): PerWeight {
  // Importances are of the CE on logits: a softmax model's are its logits twin's (same names).
  if (describeModel(model).outputActivation === 'linear')
    return ssdImportance(model, train, { ...batching, cost, set: 'train' });
  const twin = logitsTwin(model);
  try {
    return ssdImportance(twin, train, { ...batching, cost, set: 'train' });
  } finally {
    twin.dispose();
  }
}

/**
 * D as the authors' scripts order it for I_D: D_r followed by ΔD, one view (their
 * `full_train_dl` concatenates the two), for a caller that wants
 * their order rather than the training set's stored one. With it ΔD's batches are (up to the one
 * straddling the join) D's last batches, so I_f ≤ (|D|/|ΔD|)·I_D nearly holds again and α = 10
 * selects almost nothing once |ΔD| ≥ |D|/10 (docs/methods.md). Both views must share a source.
 */
export function ssdTrainingOrder(retain: Dataset, forget: Dataset): Dataset {
  if (retain.source !== forget.source)
    throw new Error('ssdTrainingOrder: D_r and ΔD must be views of one source');
  const idx = new Uint32Array(retain.length + forget.length);
  idx.set(retain.sourceIndices(), 0);
  idx.set(forget.sourceIndices(), retain.length);
  return new Dataset(retain.source, idx, `${retain.name}+forget`);
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
    'Selective synaptic dampening: shrink weights far more important to ΔD than to D (reads only ΔD + I_D)',
  params,
  readsRetain: false,
  supportsUib: false,
  // I_D over the whole training set, ordered as the authors' loader orders it (D_r, then ΔD).
  precompute: {
    key: 'ssd-training-set-importance',
    compute: (original, data) =>
      trainingSetImportance(original, ssdTrainingOrder(data.retain, data.forget)),
  },
  async run(ctx, p) {
    const fD = ctx.precomputed as PerWeight | undefined;
    if (!fD) {
      throw new UsageError(
        'ssd',
        'needs its importance over the training set D (precompute); none was made',
      );
    }
    const phases: Record<string, number> = {};
    const fF = await timed(phases, 'importance-forget', () =>
      ssdImportance(ctx.original, ctx.data.forget, { cost: ctx.cost, set: 'forget' }),
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
            `its importance over D has no entry of size ${variable.size} for weight "${name}"`,
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
