/**
 * The reference runs of one (seed, scenario): the Retrain ensemble's members and the original θ̂,
 * each a model from the cache (or trained now) and a record stored under its key (or evaluated now).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type EvalRecord, evaluateAll } from '../../eval/evaluate.ts';
import type { EvalInput, EvalSets, MetricValue } from '../../eval/types.ts';
import { buildModel, specOf } from '../../models/index.ts';
import { CostCounter } from '../../train/cost.ts';
import { trainModel } from '../../train/train.ts';
import { RETRAIN_ID, unlearn } from '../../unlearn/registry.ts';
import { loadCachedModel, saveCachedModel } from '../cache.ts';
import type { Cost, Reference, StoredEvalRecord } from '../results-schema.ts';
import { retrainRunSeed, type ScenarioRun } from './plan.ts';
import { costOf, flatWeights, predictAll, seconds, storedRecord } from './records.ts';

/** What the original and the method cells are read against: the Retrain ensemble. */
export interface Ensemble {
  /** Member 0's predictions with the ensemble's mean record (absent without an ensemble). */
  against: EvalInput['retrain'];
  /** Member 0's weights, the other end of the weight distances. */
  retrainWeights?: Float32Array[];
  /** The members' mean training time: T_retrain of every speed-up. */
  retrainTimeMs?: number;
}

/**
 * The Retrain ensemble: Retrain trained `retrainSeeds` times on D_r with the original's recipe,
 * each run with its own initialisation and data order, through the registry. Member 0's
 * predictions and weights are what the distances (JS, ℓ2) are taken to; members k > 0 are
 * evaluated against it as well, so that their distances give the spread a retrained model has.
 * The target of every match-retrain metric is the ensemble's mean.
 */
export async function runRetrainEnsemble(run: ScenarioRun): Promise<Ensemble> {
  const { job, tag, data, keys } = run;
  const members: { sets: EvalSets; weights: Float32Array[]; ref: Reference }[] = [];
  for (const member of keys.retrains.keys()) {
    const runSeed = retrainRunSeed(job.seed, member);
    const label =
      keys.retrains.length > 1 ? `retrain ${member + 1}/${keys.retrains.length}` : 'retrain';
    const trained = await retrainModel(run, member);
    const sets = await predictAll(trained.model, data, run.evalOpts);
    const weights = flatWeights(trained.model);
    const ref = await referenceRecord(
      run,
      { role: 'retrain', member, key: keys.retrainRecords[member], cost: trained.cost },
      () => {
        const primary = members[0];
        return evaluateAll(
          {
            sets,
            scenario: run.facts,
            seed: job.seed,
            cost: { ...trained.cost, retrainTimeMs: trained.cost.timeMs },
            ...(primary && {
              retrain: {
                sets: primary.sets,
                record: { values: primary.ref.metrics.values as Record<string, MetricValue> },
              },
              weights: { model: weights, retrain: primary.weights },
            }),
          },
          { metrics: job.metricIds },
        );
      },
      { runSeed, modelSeed: specOf(trained.model)?.seed },
    );
    job.progress.done(`${tag}: ${label} (${seconds(ref.cost.timeMs)})`);
    members.push({ sets, weights, ref });
  }
  // No ensemble (the Retrain-free tuning phase): nothing is read against Retrain.
  const primary = members.length > 0 ? members[0] : undefined;
  return {
    retrainWeights: primary?.weights,
    // The stored records are what the report shows: their mean time is T_retrain for every speed-up.
    retrainTimeMs: primary ? mean(members.map((m) => m.ref.cost.timeMs)) : undefined,
    against: primary && {
      sets: primary.sets,
      record: { values: ensembleMean(members.map((m) => m.ref.metrics)) },
    },
  };
}

/** The original θ̂, trained on D = D_r ∪ ΔD, and its predictions (made once, when first asked). */
export async function runOriginal(
  run: ScenarioRun,
  ensemble: Ensemble,
): Promise<{ model: LayersModel; sets: () => Promise<EvalSets> }> {
  const { job, tag, data, keys } = run;
  const original = await originalModel(run);
  // θ̂'s predictions: its own record, and the reference of the Retrain-free selection score.
  let originalSets: EvalSets | undefined;
  const originalSetsOf = async () => {
    originalSets ??= await predictAll(original.model, data, run.evalOpts);
    return originalSets;
  };
  await referenceRecord(
    run,
    { role: 'original', member: 0, key: keys.originalRecord, cost: original.cost },
    async () => {
      const sets = await originalSetsOf();
      return evaluateAll(
        {
          sets,
          scenario: run.facts,
          seed: job.seed,
          retrain: ensemble.against,
          ...(ensemble.retrainWeights && {
            weights: { model: flatWeights(original.model), retrain: ensemble.retrainWeights },
          }),
          ...(job.metricIds.includes('selection') && { original: { sets } }),
        },
        { metrics: job.metricIds },
      );
    },
  );
  job.progress.done(`${tag}: original (${seconds(original.cost.timeMs)})`);
  return { model: original.model, sets: originalSetsOf };
}

// ─── one reference run ─────────────────────────────────────────────────────────────────────────

/**
 * Retrain ensemble member `member`'s model: from the cache, or trained now and cached. A job of
 * its own on the job queue (jobs/graph.ts); the ensemble reads it from the cache there.
 */
export function retrainModel(run: ScenarioRun, member: number): Promise<Trained> {
  const { job, data, spec, recipe, keys } = run;
  const runSeed = retrainRunSeed(job.seed, member);
  const label =
    keys.retrains.length > 1 ? `retrain ${member + 1}/${keys.retrains.length}` : 'retrain';
  return referenceModel(run, keys.retrains[member], label, async () => {
    const original = buildModel(spec); // Retrain reads only its architecture
    try {
      const r = await unlearn(RETRAIN_ID, {
        original,
        spec,
        recipe,
        data: { retain: data.retain, forget: data.forget },
        seed: runSeed,
        quiet: true,
      });
      return { model: r.model, cost: costOf(r.stats) };
    } finally {
      original.dispose();
    }
  });
}

/** The original θ̂'s model, trained on D = D_r ∪ ΔD: from the cache, or trained now and cached. */
export function originalModel(run: ScenarioRun): Promise<Trained> {
  const { data, spec, recipe, keys } = run;
  return referenceModel(run, keys.original, 'original', async () => {
    const model = buildModel(spec);
    const cost = new CostCounter();
    cost.restart();
    await trainModel(model, data.train, recipe, { cost, quiet: true, label: 'original' });
    cost.stop();
    return {
      model,
      cost: {
        timeMs: cost.timeMs,
        speedUp: null,
        gradEvals: cost.gradEvals,
        forwardEvals: cost.forwardEvals,
        epochsTouched: cost.epochsTouched(data.train.length),
        phases: {},
      },
    };
  });
}

interface Trained {
  model: LayersModel;
  cost: Cost;
}

/** A reference model from the cache, or trained now and cached; disposed with the run's models. */
async function referenceModel(
  run: ScenarioRun,
  key: string,
  label: string,
  train: () => Promise<Trained>,
): Promise<Trained> {
  run.job.progress.stage(`${run.tag}: ${label}`);
  const dir = run.job.store.modelDir(key);
  const info = { recipe: run.recipe, scenarioHash: run.manifestHash };
  let trained: Trained;
  const hit = await loadCachedModel(dir, { warn: run.job.progress.warn });
  if (hit?.extra.cost) trained = { model: hit.model, cost: hit.extra.cost as Cost };
  else {
    hit?.model.dispose();
    trained = await train();
    await saveCachedModel(dir, trained.model, { ...info, extra: { cost: trained.cost } });
  }
  run.models.push(trained.model);
  return trained;
}

/** A reference's record: the stored one when it has the key, else evaluated now and stored. */
async function referenceRecord(
  run: ScenarioRun,
  at: { role: Reference['role']; member: number; key: string; cost: Cost },
  evaluate: () => Promise<EvalRecord>,
  extra: Pick<Reference, 'runSeed' | 'modelSeed'> = {},
): Promise<Reference> {
  const { store, scenario, seed, counters } = run.job;
  const stored = await store.readReference(scenario.id, seed, at.role, at.member);
  if (stored && stored.cacheKey === at.key) {
    counters.skipped++;
    return stored;
  }
  const record = await evaluate();
  const ref: Reference = {
    scenario: scenario.id,
    seed,
    role: at.role,
    member: at.member,
    cacheKey: at.key,
    metrics: storedRecord(record),
    cost: at.cost,
    ...extra,
  };
  await store.writeReference(ref);
  counters.computed++;
  return ref;
}

/**
 * The ensemble's target record: per metric, the mean of the members' defined values (undefined,
 * with the first member's reason, where none is defined).
 */
export function ensembleMean(records: readonly StoredEvalRecord[]): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  for (const id of new Set(records.flatMap((r) => Object.keys(r.values)))) {
    const stated = records.map((r) => r.values[id]).filter((v) => v !== undefined);
    const xs = stated
      .map((v) => v.value)
      .filter((x): x is number => x !== null && Number.isFinite(x));
    out[id] =
      xs.length > 0
        ? { value: mean(xs) }
        : { value: null, reason: stated.find((v) => v.reason)?.reason ?? 'undefined for Retrain' };
  }
  return out;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
