/**
 * The curvature engine's types: what a pass takes and returns, and the taps (layers it probes).
 */
import type { layers } from '@tensorflow/tfjs-layers';
import type { Rng } from '../../core/rng.ts';
import type { LayerKind } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';

/**
 * Labels of the per-example gradients: the true ones (empirical Fisher), one draw from the model's
 * softmax (sampled Fisher), or the model's argmax and one draw among the other classes, weighted by
 * their probabilities (stratified: the same expectation as 'sampled', without its variance), or
 * every class y weighted by p(y|x) (expected: the true Fisher Σ_y p_y·g_y² itself, no draw, at k
 * backward rows per example).
 */
export type FisherLabels = 'true' | 'sampled' | 'stratified' | 'expected';

/** A layer whose parameters the pass differentiates, and where its tensors sit in the groups. */
export interface Tap {
  layer: layers.Layer;
  kind: LayerKind;
  /** Keyed by the weight's name in its layer (`kernel`, `depthwise_kernel`, `gamma`...). */
  slots: { weight: string; group: number; param: number }[];
}

export type Slot = Tap['slots'][number];

/** K-FAC factors of one Dense/Conv layer, means over examples. Row-major, symmetric. */
export interface KfacFactors {
  layer: string;
  kind: 'dense' | 'conv';
  /** A = E[ã ãᵀ], dim = fan-in (+1 with a bias). Conv: summed over output positions. */
  A: Float64Array;
  dimA: number;
  /** G = E[δ δᵀ], dim = units / filters. Conv: averaged over output positions. */
  G: Float64Array;
  dimG: number;
  /** Kernel and (optional) bias slot as [group, param]. */
  kernel: [number, number];
  bias?: [number, number];
  /**
   * The rows whose Gram matrix the factor is, where there are fewer rows than dimensions: then
   * rank ≤ rows and the prior decomposes the small rows×rows Gram instead (docs/method.md §3).
   */
  rowsA?: FactorRows;
  rowsG?: FactorRows;
}

/** X (rows × dim, row-major) with factor = scale · XᵀX; kept only while rows < dim. */
export interface FactorRows {
  x: Float32Array;
  rows: number;
  scale: number;
}

export interface CurvatureOptions {
  /** Per-example gradients are of CE against these labels (default 'true'). */
  labels?: FisherLabels;
  /** Draws the sampled labels (required for `labels: 'sampled'` and `'stratified'`). */
  rng?: Rng;
  batchSize?: number;
  gradient?: boolean;
  diag?: boolean;
  kfac?: boolean;
  cost?: CostCounter;
  /** Set name for the cost counter. */
  set?: string;
}

export interface Curvature {
  n: number;
  labels: FisherLabels;
  /** Mean loss gradient, indexed [group][param] like the groups. */
  grad?: Float32Array[][];
  /** Diagonal Fisher: mean of per-example squared gradients, [group][param]. */
  diag?: Float32Array[][];
  kfac?: KfacFactors[];
}

// biome-ignore lint/suspicious/noExplicitAny: tfjs-layers keeps these fields protected.
export type Internals = any;
