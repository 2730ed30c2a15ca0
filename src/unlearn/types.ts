/**
 * The one interface every unlearning method implements (scikit-learn style: same verbs, checked
 * hyper-parameters). `unlearn/registry.ts` looks methods up by id, validates their parameters,
 * counts their cost, and composes `<id>+uib` variants by adding the UIB regulariser as a penalty.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { z } from 'zod';
import type { Rng } from '../core/rng.ts';
import type { Dataset } from '../data/dataset.ts';
import type { ModelSpec } from '../models/types.ts';
import type { CostCounter } from '../train/cost.ts';
import type { LoopOptions, LoopResult, TrainRecipe } from '../train/types.ts';
import type { FisherCacheSource } from './uib/fisher-cache.ts';

export interface UnlearnData {
  /** D_r. Methods with `readsRetain: false` get a view that throws if they touch it. */
  retain: Dataset;
  /** ΔD, the deletion request. */
  forget: Dataset;
  /** Optional held-out data (never D_r or ΔD samples). */
  validation?: Dataset;
}

export interface UnlearnContext {
  /**
   * The trained model θ̂, outputting logits (a softmax model arrives as its logits twin). Never
   * mutated: methods clone it.
   */
  original: LayersModel;
  /**
   * Architecture of `original` when uib built it (Retrain builds a fresh one from it); absent for
   * a model of your own, which Retrain re-initialises from its own config (models/describe.ts).
   */
  spec?: ModelSpec;
  /** The recipe `original` was trained with (Retrain reuses it). */
  recipe: TrainRecipe;
  data: UnlearnData;
  /** n = |D| = |D_r| + |ΔD|. */
  numTrain: number;
  /**
   * The run's random stream: batches, label draws, noise. `<id>+uib` gets exactly `<id>`'s
   * (common random numbers: a variant and its base see the same batches).
   */
  rng: Rng;
  /**
   * A stream of its own for a part of the run that must not shift `rng`'s draws (the `+uib`
   * prior): keyed on the seed, the base method and `label`, independent of `rng`.
   */
  stream: (label: string) => Rng;
  cost: CostCounter;
  /**
   * The one training loop (train/loop.ts), as the registry hands it out: every method that trains
   * calls this, never `trainLoop` itself, so `<id>+uib` adds the UIB bound R to the loss of every
   * run by construction (a method that never calls it cannot have a variant: the registry checks).
   */
  train: (opts: LoopOptions) => Promise<LoopResult>;
  /** Where cached curvature (F_D written by `uib train --cache-fisher`) can be read, if any. */
  fisherCache?: FisherCacheSource;
  /** What the method's `precompute` made from θ̂ and D (computed once per model and data). */
  precomputed?: unknown;
  quiet?: boolean;
}

export interface UnlearnMethod<P extends z.ZodType = z.ZodType> {
  /** Registry key, CLI value, config key and report column (`salun`, `uib-if`). */
  readonly id: string;
  /** One line for `uib methods` and reports. */
  readonly summary: string;
  /** Hyper-parameters: types, ranges, defaults, docs. */
  readonly params: P;
  /** False for methods that need only ΔD (GA, SSD): the registry then hides D_r from them. */
  readonly readsRetain: boolean;
  /** True when `<id>+uib` exists (the method has a training loss the UIB bound can be added to). */
  readonly supportsUib: boolean;
  /**
   * State the method needs from the trained model and the whole training set before it runs (SSD's
   * importance over D): the registry computes it once per (θ̂, D_r, ΔD) and shares it between
   * runs, so no caller needs to know which method needs what.
   */
  readonly precompute?: Precompute;
  /** For a composed `<id>+uib` variant: `<id>`, whose random streams it shares. */
  readonly baseId?: string;
  run(ctx: UnlearnContext, params: z.infer<P>): Promise<MethodOutput>;
}

export interface Precompute {
  /** Names the state in the cache (methods that need the same thing share it). */
  readonly key: string;
  compute(original: LayersModel, data: UnlearnData): unknown;
}

export interface MethodOutput {
  model: LayersModel;
  /** Time per phase in ms (e.g. `{ prior: 812, finetune: 4210 }`). */
  phases?: Record<string, number>;
  /** Method-specific facts worth recording (chosen α, mask density, ...). */
  details?: Record<string, unknown>;
}

export interface UnlearnStats {
  timeMs: number;
  /** Per-example gradient evaluations (a hardware-independent cost). */
  gradEvals: number;
  forwardEvals: number;
  /** Samples touched / n. */
  epochsTouched: number;
  phases: Record<string, number>;
}

export interface UnlearnResult {
  model: LayersModel;
  stats: UnlearnStats;
  details: Record<string, unknown>;
}
