/**
 * What the method files share: the training hyper-parameters every loop-based method takes (each
 * method states its own defaults), the forward pass, per-sample label tables, the penalties a
 * `<id>+uib` variant adds, and the fine-tuning call on D_r. Nothing here trains: training is
 * `train/loop.ts`, reached through `ctx.train`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset } from '../../data/dataset.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';
import {
  type Batch,
  type LoopOptions,
  type LoopResult,
  OPTIMIZER_NAMES,
  type OptimizerName,
  type OptimizerSpec,
  type Penalty,
  SCHEDULE_NAMES,
  type ScheduleName,
} from '../../train/types.ts';
import type { UnlearnContext } from '../types.ts';

export interface TrainingDefaults {
  epochs: number;
  lr: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  momentum?: number;
  weightDecay?: number;
  schedule?: ScheduleName;
}

/** The loop hyper-parameters (zod shape) with a method's defaults. */
export function trainingParams(d: TrainingDefaults) {
  return {
    epochs: z
      .number()
      .positive()
      .max(1000)
      .default(d.epochs)
      .describe('passes over the epoch stream (may be fractional)'),
    lr: z.number().positive().max(10).default(d.lr).describe('peak learning rate'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(65536)
      .default(d.batchSize ?? 64)
      .describe('samples per step'),
    optimizer: z
      .enum(OPTIMIZER_NAMES)
      .default(d.optimizer ?? 'sgd')
      .describe('optimiser'),
    momentum: z
      .number()
      .min(0)
      .max(0.999)
      .default(d.momentum ?? 0.9)
      .describe('SGD momentum'),
    weightDecay: z
      .number()
      .min(0)
      .max(1)
      .default(d.weightDecay ?? 0)
      .describe('decoupled weight decay'),
    schedule: z
      .enum(SCHEDULE_NAMES)
      .default(d.schedule ?? 'constant')
      .describe('learning-rate schedule'),
  };
}

/** The loop hyper-parameters as parsed: derived from the zod shape, never written twice. */
export type TrainingParams = z.infer<z.ZodObject<ReturnType<typeof trainingParams>>>;

export function optimizerOf(p: Omit<TrainingParams, 'epochs'>): OptimizerSpec {
  return {
    name: p.optimizer,
    lr: p.lr,
    momentum: p.momentum,
    weightDecay: p.weightDecay,
    schedule: p.schedule,
  };
}

/**
 * The divergence guard of the ascent methods (GA, NegGrad+, SCRUB): a step whose global gradient
 * norm exceeds `maxGradNorm` stops the run with a DivergenceError before it is applied (the loop
 * checks NaN/Inf always). The default sits far above the norms of healthy runs (≲ 60 on the MNIST
 * CNN, even while GA collapses a class) and far below the 1e5+ of a run that is blowing up.
 */
export const guardParams = {
  maxGradNorm: z
    .number()
    .positive()
    .max(1e30)
    .default(1000)
    .describe("stop with a divergence error when a step's gradient norm exceeds this"),
};

/**
 * The forget-loss ceiling of the ascent methods: each ΔD sample's cross-entropy counts up to
 * `forgetLossCeiling` nats and no further, so the ascent objective is bounded and a sample that
 * is forgotten (p(y|x) ≤ e^−ceiling) stops pulling the weights. Without it −CE has no maximum and
 * GA walks the weights off to infinity. Default 5 nats: p(y|x) ≤ 0.7 %, far past misclassified.
 */
export function ceilingParam(defaultNats = 5) {
  return z
    .number()
    .positive()
    .max(1000)
    .default(defaultNats)
    .describe('per-sample cap (nats) on the ΔD cross-entropy that is ascended');
}

/**
 * Mean of min(x_i, ceiling) over a batch of per-sample losses: the bounded objective of the ascent
 * steps. A capped sample passes no gradient. The `+ 0·x` keeps a NaN/Inf loss NaN whatever the
 * backend's `minimum` does with NaN, so the loop's guard still sees a diverged forward pass.
 */
export function capMean(perSample: tf.Tensor1D, ceiling: number): tf.Scalar {
  return tf.mean(tf.add(tf.minimum(perSample, ceiling), tf.mul(perSample, 0))) as tf.Scalar;
}

/** Mean over the batch of min(CE_i, ceiling): the bounded forget loss of GA and NegGrad+. */
export function cappedCE(model: LayersModel, batch: Batch, ceiling: number): tf.Scalar {
  return capMean(softmaxCrossEntropy(trainLogits(model, batch.x), batch.y, 'none'), ceiling);
}

/**
 * Runs `fn`, which trains `model` (a clone the method made); if it throws — a divergence, a bad
 * parameter — the clone is freed before the error goes on, so a failed run leaks no tensors.
 */
export async function disposeOnThrow<T>(model: LayersModel, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Logits of the model being trained (training mode: BatchNorm uses batch statistics). */
export function trainLogits(model: LayersModel, x: tf.Tensor): tf.Tensor {
  return model.apply(x, { training: true }) as tf.Tensor;
}

/** Logits of a fixed model (teacher, original): inference mode, never updates its statistics. */
export function frozenLogits(model: LayersModel, x: tf.Tensor): tf.Tensor {
  return model.apply(x, { training: false }) as tf.Tensor;
}

/** Mean cross-entropy of `model` on a batch, against `labels` (default: the batch's own). */
export function batchCE(model: LayersModel, batch: Batch, labels?: tf.Tensor1D): tf.Scalar {
  return softmaxCrossEntropy(trainLogits(model, batch.x), labels ?? batch.y);
}

/**
 * Fine-tuning on D_r through `ctx.train`: the cross-entropy of retain batches plus `penalties`, an
 * epoch one pass over D_r, run for `budget` (epochs or steps); `label` names the run and forks its
 * random stream. FT is this alone; ℓ1-sparse and UIB-IF add their penalties.
 */
export function fineTuneOnRetain(
  ctx: UnlearnContext,
  model: LayersModel,
  p: Omit<TrainingParams, 'epochs'>,
  budget: Pick<LoopOptions, 'epochs' | 'steps'>,
  label: string,
  penalties?: Penalty[],
): Promise<LoopResult> {
  return ctx.train({
    model,
    streams: { retain: { data: ctx.data.retain, batchSize: p.batchSize } },
    epochOver: 'retain',
    ...budget,
    loss: (b) => batchCE(model, b.retain),
    penalties,
    optimizer: optimizerOf(p),
    rng: ctx.rng.fork(label),
    cost: ctx.cost,
    quiet: ctx.quiet,
    label,
  });
}

/** The labels of a table (indexed by stream position) for a batch's positions. */
export function labelsAt(table: Int32Array, positions: Uint32Array): tf.Tensor1D {
  const out = new Int32Array(positions.length);
  for (let i = 0; i < positions.length; i++) out[i] = table[positions[i]];
  return tf.tensor1d(out, 'int32');
}

/**
 * (weight/2)·Σ‖θ − θ₀‖² over every trainable weight of `model`, as a loop penalty: θ₀ = 0 (an L2
 * penalty in the loss, i.e. PyTorch SGD's coupled `weight_decay` = weight, which goes through
 * momentum) or θ₀ = the weights at creation (`current`: a distance to the initial model). Its
 * gradient is weight·(θ − θ₀). `dispose` frees θ₀.
 */
export function l2Penalty(
  model: LayersModel,
  weight: number,
  anchor: 'zero' | 'current',
): Penalty & { dispose(): void } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const centre = anchor === 'current' ? vars.map((v) => tf.keep(v.clone())) : null;
  return {
    name: anchor === 'current' ? 'l2-to-initial' : 'l2',
    value: () =>
      tf.tidy(() => {
        const sq = vars.map((v, i) => tf.sum(tf.square(centre ? tf.sub(v, centre[i]) : v)));
        return tf.mul(tf.addN(sq), weight / 2) as tf.Scalar;
      }),
    dispose: () => {
      if (centre) tf.dispose(centre);
    },
  };
}

/** Runs `fn`, adding its wall time in ms to `phases[name]`. */
export async function timed<T>(
  phases: Record<string, number>,
  name: string,
  fn: () => Promise<T> | T,
): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    phases[name] = (phases[name] ?? 0) + (performance.now() - t0);
  }
}

/**
 * Which random labels RL and SalUn give ΔD: `wrong` draws uniformly among the k−1 classes other
 * than the sample's (SalUn's paper, y′ ≠ y); `uniform` among all k (SalUn's code, `RL.py`, which
 * keeps the true label with probability 1/k).
 */
export type RandomLabelPool = 'wrong' | 'uniform';

/** One random label for a sample of class `y` among `k` classes (see `RandomLabelPool`). */
export function randomLabel(
  y: number,
  k: number,
  rng: { int(lo: number, hi: number): number },
  pool: RandomLabelPool = 'wrong',
): number {
  if (pool === 'uniform') return rng.int(0, k);
  const r = rng.int(0, k - 1); // one of the k−1 other classes
  return r >= y ? r + 1 : r;
}

/**
 * A random wrong label for every sample of `ds` (uniform over the other classes), indexed by
 * position: one draw per sample (RL's and SalUn's `relabel: 'once'`).
 */
export function randomWrongLabels(
  ds: Dataset,
  rng: { int(lo: number, hi: number): number },
  pool: RandomLabelPool = 'wrong',
): Int32Array {
  const k = ds.numClasses;
  const out = new Int32Array(ds.length);
  for (let i = 0; i < out.length; i++) out[i] = randomLabel(ds.label(i), k, rng, pool);
  return out;
}

/** The trainable weights of `model` by their name inside the model (`conv_1/kernel`): stable across clones. */
export function weightsByName(model: LayersModel): Map<string, tf.Variable> {
  return new Map(model.trainableWeights.map((w) => [w.originalName, w.read() as tf.Variable]));
}
