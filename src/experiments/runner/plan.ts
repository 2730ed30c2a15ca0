/**
 * Planning the cells of a run, before any work: the methods and metrics checked, the content keys
 * every cached model and stored record is filed under, and the shapes of the units of work.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { isUsageError, UsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import { hashSeed } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { Scenario } from '../../data/scenarios/index.ts';
import { DEFAULT_METRIC_IDS, getMetric, METRICS } from '../../eval/registry.ts';
import type { ScenarioFacts } from '../../eval/types.ts';
import type { ModelSpec } from '../../models/types.ts';
import type { TrainRecipe } from '../../train/types.ts';
import { getMethod, parseParams, RETRAIN_ID } from '../../unlearn/registry.ts';
import type { Progress } from '../progress.ts';
import { type Experiment, methodLabel, type ScenarioConfig } from '../schema.ts';
import type { RunStore } from '../store.ts';
import type { MethodPlan } from '../tuning.ts';

/** Bump when a change in the runner or a method makes stored cells stale. */
export const CELL_FORMAT = 2; // 2: an independent Retrain ensemble

/** Seed of Retrain ensemble member k's run: its initialisation and data order are drawn from it. */
export function retrainRunSeed(seed: number, member: number): number {
  return hashSeed(seed, 'retrain', member);
}

// ─── checks before any work ────────────────────────────────────────────────────────────────────

/** Every method exists and its parameters validate, before hours of training start. */
export function checkMethods(exp: Experiment, where: string): MethodPlan[] {
  return exp.methods.flatMap((m, i) => {
    const at = `methods[${i}]`;
    try {
      const method = getMethod(m.id, 'id');
      if (method.id === RETRAIN_ID) {
        if (Object.keys(m.params).length > 0) {
          throw new UsageError(
            'params',
            'retrain is the oracle trained with `training`; it takes no parameters here',
          );
        }
        return []; // the oracle: trained once per seed and scenario, reported first
      }
      return [{ label: methodLabel(m), id: m.id, params: parseParams(method, m.params) }];
    } catch (e) {
      if (!isUsageError(e)) throw e;
      // parseParams names `<id>.<param>`: say where that is in the file.
      const field = e.where.startsWith(`${m.id}.`)
        ? `params.${e.where.slice(m.id.length + 1)}`
        : e.where;
      throw new UsageError(where, `${at}.${field}: ${e.problem}`);
    }
  });
}

/** The shadow metrics (those that need shadow runs), computed whenever the experiment has them. */
const SHADOW_METRICS: readonly string[] = METRICS.filter((m) => m.needs.includes('shadow')).map(
  (m) => m.id,
);

export function checkMetrics(exp: Experiment, where: string): string[] {
  const listed = exp.options.metrics ?? [...DEFAULT_METRIC_IDS];
  const ids =
    exp.options.shadowModels > 0
      ? [...listed, ...SHADOW_METRICS.filter((id) => !listed.includes(id))]
      : listed;
  ids.forEach((id, i) => {
    try {
      getMetric(id, `options.metrics[${i}]`);
    } catch (e) {
      if (isUsageError(e)) throw new UsageError(where, `${e.where}: ${e.problem}`);
      throw e;
    }
  });
  return ids;
}

// ─── the units of work ─────────────────────────────────────────────────────────────────────────

/** One (seed, scenario) to run: its methods and metrics, and what all units of the run share. */
export interface SeedScenarioJob {
  exp: Experiment;
  scenario: ScenarioConfig;
  seed: number;
  methods: MethodPlan[];
  metricIds: string[];
  store: RunStore;
  progress: Progress;
  counters: { skipped: number; computed: number };
  failures: string[];
  /** Prefix of the progress lines (the tuning phase's). */
  tag?: string;
}

/** One (seed, scenario) with its data built: what its reference runs and method cells share. */
export interface ScenarioRun {
  job: SeedScenarioJob;
  /** `seed 1 · bias-stripe-3`, the head of its progress lines. */
  tag: string;
  data: Scenario;
  /** Held-out data for the methods (`dataset.validationSubset`), never D or the test set. */
  validation?: Dataset;
  spec: ModelSpec;
  recipe: TrainRecipe;
  manifestHash: string;
  keys: Keys;
  facts: ScenarioFacts;
  evalOpts: { batchSize: number };
  /** The models loaded or trained for it, disposed when it is done. */
  models: LayersModel[];
}

// ─── the keys ──────────────────────────────────────────────────────────────────────────────────

export type Keys = ReturnType<typeof keysOf>;

/** What the cached models and records are keyed on. */
export function keysOf(
  exp: Experiment,
  manifestHash: string,
  spec: ModelSpec,
  recipe: TrainRecipe,
  metricIds: string[],
) {
  const base = { format: CELL_FORMAT, dataset: exp.dataset, manifestHash, spec, recipe };
  const original = sha256Json({ ...base, role: 'original' });
  const retrains = range(exp.options.retrainSeeds).map((member) =>
    sha256Json({ ...base, role: 'retrain', member, runSeed: retrainRunSeed(spec.seed, member) }),
  );
  const evalKey = {
    metricIds,
    ...metricVersions(metricIds),
    evalBatchSize: exp.options.evalBatchSize,
    ...(exp.options.shadowModels > 0 && {
      shadow: { models: exp.options.shadowModels, targets: exp.options.shadowTargets },
    }),
  };
  return {
    original,
    retrains,
    originalRecord: sha256Json({ original, retrains, ...evalKey }),
    // Member k > 0 is evaluated against member 0 too (its distances are the ensemble's spread).
    retrainRecords: retrains.map((r, k) =>
      sha256Json({ retrain: r, ...(k > 0 && { primary: retrains[0] }), ...evalKey }),
    ),
    cell: (m: MethodPlan) =>
      sha256Json({ original, retrains, ...evalKey, id: m.id, params: m.params }),
  };
}

/** The versions of the requested metrics that have one (absent when none: old keys stay valid). */
function metricVersions(metricIds: string[]): { metricVersions?: Record<string, number> } {
  const versions: Record<string, number> = {};
  for (const id of metricIds) {
    const v = getMetric(id).version;
    if (v !== undefined) versions[id] = v;
  }
  return Object.keys(versions).length > 0 ? { metricVersions: versions } : {};
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
