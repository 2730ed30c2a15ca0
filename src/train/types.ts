/**
 * Contract of the one training loop (`train/loop.ts`). Training the original model, Retrain, and
 * every unlearning method (FT, GA, NegGrad+, RL, ℓ1-sparse, SalUn, SCRUB, UIB-IF, `+uib` variants)
 * run through it; a method differs only in its `loss`, its streams, its penalties and masks.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from '../core/rng.ts';
import type { Dataset } from '../data/dataset.ts';
import type { CostCounter } from './cost.ts';
import type { OptimizerSession } from './optimizer.ts';

/** The optimisers and schedules uib trains with: the one list every schema and flag reads. */
export const OPTIMIZER_NAMES = ['sgd', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];
export const SCHEDULE_NAMES = ['constant', 'cosine', 'linear', 'step'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export interface OptimizerSpec {
  name: OptimizerName;
  /** Peak learning rate. */
  lr: number;
  /** SGD momentum (default 0.9); ignored by Adam. */
  momentum?: number;
  /** Decoupled weight decay per step (AdamW / SGDW style), default 0. */
  weightDecay?: number;
  /** Learning-rate schedule over the run, default 'constant'. */
  schedule?: ScheduleName;
  /** Linear warm-up steps, default 0. */
  warmupSteps?: number;
}

/** One batch of one stream, already on the backend. The loop disposes it after the step. */
export interface Batch {
  x: tf.Tensor;
  /** Integer labels `[b]`. */
  y: tf.Tensor1D;
  /** Positions of the batch's samples in the stream's `Dataset`. */
  positions: Uint32Array;
}

export interface StepInfo {
  step: number;
  epoch: number;
  totalSteps: number;
  /** step / totalSteps, in [0, 1): what schedules and decaying penalties read. */
  progress: number;
}

/** A named data stream: `retain`, `forget`, `train`... */
export interface Stream {
  data: Dataset;
  batchSize: number;
}

/** A term added to every step's loss (ℓ1, the UIB bound R, ...). Evaluated inside the gradient tape. */
export interface Penalty {
  name: string;
  value(info: StepInfo): tf.Scalar;
}

export interface LoopOptions {
  model: LayersModel;
  /** The streams a step draws from; each step gets one batch of each. */
  streams: Record<string, Stream>;
  /** The stream whose one pass is an epoch; other streams cycle, reshuffled on each pass. */
  epochOver: string;
  /** Length of the run: `epochs` (may be fractional) or `steps`. */
  epochs?: number;
  steps?: number;
  /** The step's objective (to minimise), computed inside the tape, e.g. mean CE on `batches.train`. */
  loss: (batches: Record<string, Batch>, info: StepInfo) => tf.Scalar;
  penalties?: Penalty[];
  optimizer: OptimizerSpec;
  /**
   * Carry the optimiser's state and schedule position over from earlier calls (and on to later
   * ones) instead of starting afresh; the session, not the loop, disposes it.
   */
  session?: OptimizerSession;
  /** Variables to update (default: all trainable weights of `model`). */
  variables?: tf.Variable[];
  /**
   * Update masks by variable name (1 = may change, 0 = frozen). Frozen entries stay bit-identical:
   * no gradient, no weight decay, no optimiser momentum moves them.
   */
  masks?: Map<string, tf.Tensor>;
  /** Divergence guard: NaN/Inf loss, or a gradient norm above `maxGradNorm`, throws DivergenceError. */
  guard?: { maxGradNorm?: number; maxLoss?: number };
  /** Clip the global gradient norm to this value (0/undefined: no clipping). */
  clipGradNorm?: number;
  rng: Rng;
  cost?: CostCounter;
  /** Progress label (the Node entries show a bar on a TTY stderr; see train/progress.ts). */
  label?: string;
  quiet?: boolean;
  /** Called after each epoch with the mean loss; may return `'stop'` (early stopping). */
  onEpochEnd?: (
    epoch: number,
    meanLoss: number,
  ) => undefined | 'stop' | Promise<undefined | 'stop'>;
}

export interface LoopResult {
  steps: number;
  epochs: number;
  timeMs: number;
  /** Mean loss per epoch. */
  history: { epoch: number; loss: number }[];
}

/** How a model was (or is to be) trained; Retrain reuses the original model's recipe. */
export interface TrainRecipe {
  optimizer: OptimizerSpec;
  epochs: number;
  batchSize: number;
  seed: number;
}
