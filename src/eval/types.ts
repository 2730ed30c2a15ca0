/**
 * Shapes shared by the metric modules. Metrics are pure functions over plain typed arrays: a
 * model's softmax probabilities on one set (`[n × k]`, row-major), the true labels, the argmax
 * predictions and any per-sample attributes (bias b(x), subgroup). `predict.ts` is the only place
 * that runs a model to produce them.
 */

/** A model's outputs on one set of samples. */
export interface SetPredictions {
  /** Softmax probabilities, `[n × numClasses]` row-major. */
  probs: Float32Array;
  numClasses: number;
  /** True labels `[n]`. */
  labels: Int32Array;
  /** argmax of each row of `probs` `[n]` (ties: the lowest class). */
  predicted: Int32Array;
  /** Bias attribute b(x) ∈ {0,1} per sample, when the set carries one. */
  bias?: Uint8Array;
  /** Subgroup id per sample (tabular demographics), when the set carries one. */
  group?: Uint8Array;
}

/**
 * One metric's value: a number, or `null` with the reason it is undefined (e.g. "ŷ = k is
 * constant: the model never predicts class 3"). Never NaN in results.
 */
export type MetricValue = { value: number; reason?: undefined } | { value: null; reason: string };

export function defined(value: number): MetricValue {
  return { value };
}

export function undefinedBecause(reason: string): MetricValue {
  return { value: null, reason };
}

/**
 * What a higher value means for the metric's goal:
 * - `higher`: higher is better (speed-up);
 * - `lower`: lower is better (distance to Retrain, Avg. Gap, cost);
 * - `match-retrain`: the target is Retrain's value, not an extreme — every property of the
 *   model's behaviour (UA, RA, TA, MIA-Efficacy, ρ, recall(k), ASR, group gaps): an extreme
 *   rewards a method that keeps what ΔD taught (a higher TA or recall(k) on a test set that still
 *   holds ΔD's class or pattern) or one that overshoots (ASR 0 by never predicting the target).
 */
export type Direction = 'higher' | 'lower' | 'match-retrain';

/**
 * Unit of a metric's value: `fraction` in [0, 1] (reports may show it as %), `pp` percentage
 * points (0..100), `bits`, `correlation` in [−1, 1], `ratio`, `ms`, `count`, `norm` (ℓ2 length).
 */
export type MetricUnit =
  | 'fraction'
  | 'pp'
  | 'bits'
  | 'correlation'
  | 'ratio'
  | 'ms'
  | 'count'
  | 'norm';

import type { ScenarioKindId } from '../data/scenarios/manifest.ts';
import type { ShadowStats } from './shadow.ts';

/** Everything `evaluateAll` may read; what a metric needs is listed in its registry entry. */
export interface EvalSets {
  forget: SetPredictions;
  retain: SetPredictions;
  test: SetPredictions;
  /** Test set whose bias attribute b(x) was assigned independently of the label (`bias` set). */
  biasedTest?: SetPredictions;
  /** Test set with the backdoor trigger stamped on every sample. */
  stampedTest?: SetPredictions;
}

/** Facts of the scenario that some metrics need. */
export interface ScenarioFacts {
  /** The scenario kind (`random`, `class`, `bias`...): what the Retrain-free selection score reads. */
  kind?: ScenarioKindId;
  /** Class k the bias pattern was tied to in training (bias scenarios). */
  biasClass?: number;
  /** Target class of the backdoor trigger (backdoor scenarios). */
  backdoorTarget?: number;
  /** Positive class of the demographic-parity / equalised-odds gaps (tabular subgroup scenarios). */
  positiveClass?: number;
}

export interface EvalInput {
  /** The evaluated model's predictions. */
  sets: EvalSets;
  scenario?: ScenarioFacts;
  /** Retrain's predictions and its own record (from an earlier `evaluateAll` without `retrain`). */
  retrain?: { sets: Partial<EvalSets>; record: { values: Partial<Record<string, MetricValue>> } };
  /** Flat weight tensors of the model and of Retrain, same order (for `weight-l2`). */
  weights?: { model: readonly ArrayLike<number>[]; retrain: readonly ArrayLike<number>[] };
  /** Cost of the unlearning run, and Retrain's wall time for the speed-up. */
  cost?: {
    timeMs: number;
    gradEvals: number;
    epochsTouched: number;
    retrainTimeMs?: number;
  };
  /** Seed of the randomised attacks (the loss-LR attack's subsample and folds). */
  seed: number;
  /** The original model θ̂'s predictions on the same sets (the Retrain-free selection score). */
  original?: { sets: EvalSets };
  /** Shadow runs of the method (U-LiRA, the challenge's F, KLoM): see eval/shadow.ts. */
  shadow?: ShadowStats;
}
