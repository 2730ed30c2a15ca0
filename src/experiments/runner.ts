/**
 * The experiment runner behind `uib run` and `uib demo`. For each seed and scenario: build the
 * scenario (manifest → data), train the original model θ̂ and the Retrain oracle once (cached by
 * content hash), run every method, evaluate each against Retrain, and persist each finished cell
 * at once. Then assemble results.json, results.md and report.html. Rerunning on the same output
 * directory skips every cell that is already done.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  type ComputeEnvironment,
  computeEnvironment,
  describeRoute,
} from '../backend/environment.ts';
import { initBackend } from '../backend/index.ts';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.ts';
import { DivergenceError, isUsageError, oneLine, UsageError } from '../core/errors.ts';
import { sha256Json } from '../core/hash.ts';
import { checkOutput } from '../core/out-dir.ts';
import { exists, MiB, readJsonChecked, readTextChecked } from '../core/read.ts';
import { hashSeed } from '../core/rng.ts';
import {
  createScenario,
  type Manifest,
  materialiseScenario,
  type Scenario,
} from '../data/scenarios/index.ts';
import { MANIFEST_MAX_BYTES, parseManifest } from '../data/scenarios/manifest.ts';
import { AVG_GAP_METRICS } from '../eval/distance.ts';
import { type EvalRecord, evaluateAll } from '../eval/evaluate.ts';
import { predictSet } from '../eval/predict.ts';
import { DEFAULT_METRIC_IDS, getMetric, METRICS } from '../eval/registry.ts';
import type { EvalInput, EvalSets, MetricValue, ScenarioFacts } from '../eval/types.ts';
import { buildModel, specOf } from '../models/index.ts';
import type { ModelSpec } from '../models/types.ts';
import { CostCounter } from '../train/cost.ts';
import { trainModel } from '../train/train.ts';
import type { TrainRecipe } from '../train/types.ts';
import { getMethod, parseParams, unlearn } from '../unlearn/registry.ts';
import { loadCachedModel, saveCachedModel } from './cache.ts';
import { createProgress, type Progress } from './progress.ts';
import { renderHtml } from './report/html.ts';
import { renderMarkdown, renderTerminal } from './report/markdown.ts';
import { exampleImages } from './report/png.ts';
import {
  type Cell,
  type Cost,
  type Experiment,
  type MetricInfo,
  methodLabel,
  RESULTS_SCHEMA_VERSION,
  type Reference,
  type Results,
  type ScenarioConfig,
  type StoredEvalRecord,
  type TuningSummary,
} from './schema.ts';
import { type ShadowContext, shadowDesign, shadowStats } from './shadow.ts';
import { RunStore, type SeedScenario } from './store.ts';
import {
  allTrials,
  chooseTrials,
  type MethodPlan,
  planTuning,
  ruleMetric,
  type TuningPlan,
} from './tuning.ts';

export interface RunOptions {
  outDir: string;
  /** Backend name (default: $UIB_BACKEND, else wasm). */
  backend?: string;
  quiet?: boolean;
  /** Where the experiment came from, for messages (`experiments/x.json`). */
  source?: string;
  /** Files the run reads, by what they are: the output directory must not hold them. */
  inputs?: Record<string, string>;
}

export interface RunOutcome {
  results: Results;
  files: { json: string; markdown: string; html: string };
  /** The aligned table for the terminal. */
  table: string;
  /** Method runs that failed with a fault (not a divergence) in this run: `seed 1 · sc: ft: why`. */
  failures: string[];
  /** Units found done and skipped / computed in this run. */
  skipped: number;
  computed: number;
}

/** Bump when a change in the runner or a method makes stored cells stale. */
const CELL_FORMAT = 2; // 2: an independent Retrain ensemble

/** Seed of Retrain ensemble member k's run: its initialisation and data order are drawn from it. */
export function retrainRunSeed(seed: number, member: number): number {
  return hashSeed(seed, 'retrain', member);
}

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<RunOutcome> {
  const where = opts.source ?? 'experiment';
  const declared = checkMethods(exp, where);
  const tuning = planTuning(exp, declared, where);
  const metricIds = checkMetrics(exp, where);
  // The output is a new or empty directory or a uib run directory (resumed); never the user's files.
  checkOutput(opts.outDir, { kind: 'run', inputs: opts.inputs });
  await initBackend(opts.backend);
  const store = new RunStore(opts.outDir);
  const unlock = store.lock();
  try {
    const environment = claimEnvironment(opts.outDir);
    store.removeStaleTemps();
    writeJsonAtomic(path.join(opts.outDir, 'experiment.json'), exp);
    const startedAt = previousStart(opts.outDir) ?? new Date().toISOString();
    const perSeed = 1 + exp.options.retrainSeeds + declared.length;
    const dev = tuning && developmentRun(exp, tuning);
    const total =
      exp.seeds.length * exp.scenarios.length * perSeed +
      (dev ? dev.exp.seeds.length * dev.exp.scenarios.length * dev.perSeed : 0);
    const progress = createProgress(total, { quiet: opts.quiet });
    const counters = { skipped: 0, computed: 0 };
    const failures: string[] = [];
    let methods = declared;
    let tuned: TuningSummary | undefined;
    try {
      if (tuning && dev) {
        // The protocol first: trials on the development cells, in a store of their own.
        const devStore = new RunStore(path.join(opts.outDir, 'tuning'));
        const trials = allTrials(tuning);
        for (const seed of dev.exp.seeds) {
          for (const scenario of dev.exp.scenarios) {
            await runSeedScenario({
              exp: dev.exp,
              scenario,
              seed,
              methods: trials,
              metricIds: dev.metricIds,
              store: devStore,
              progress,
              counters,
              failures,
              tag: 'tuning · ',
            });
          }
        }
        const choice = chooseTrials(tuning, declared, (t, scenario, seed) =>
          devStore.readCell(scenario, seed, t.label),
        );
        methods = choice.methods;
        tuned = choice.summary;
        writeJsonAtomic(path.join(opts.outDir, 'tuning.json'), tuned);
      }
      for (const seed of exp.seeds) {
        for (const scenario of exp.scenarios) {
          await runSeedScenario({
            exp,
            scenario,
            seed,
            methods,
            metricIds,
            store,
            progress,
            counters,
            failures,
          });
        }
      }
    } finally {
      progress.stop();
    }

    const results = assemble(exp, store, methods, metricIds, {
      environment,
      startedAt,
      tuning: tuned,
    });
    const files = await writeReports(results, opts.outDir);
    return { results, files, table: renderTerminal(results), failures, ...counters };
  } finally {
    unlock();
  }
}

// ─── checks before any work ────────────────────────────────────────────────────────────────────

/** Every method exists and its parameters validate, before hours of training start. */
function checkMethods(exp: Experiment, where: string): MethodPlan[] {
  return exp.methods.flatMap((m, i) => {
    const at = `methods[${i}]`;
    try {
      const method = getMethod(m.id, 'id');
      if (method.id === 'retrain') {
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

function checkMetrics(exp: Experiment, where: string): string[] {
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

// ─── one (seed, scenario) ──────────────────────────────────────────────────────────────────────

interface SeedScenarioJob {
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

/**
 * The tuning phase as an experiment of its own: the development scenarios and seeds, no shadow
 * models, a Retrain ensemble only for the oracle rule, and only the metrics the rule reads.
 */
function developmentRun(
  exp: Experiment,
  tuning: TuningPlan,
): { exp: Experiment; metricIds: string[]; perSeed: number } {
  const oracle = tuning.config.rule === 'oracle';
  const retrainSeeds = oracle ? exp.options.retrainSeeds : 0;
  const metricIds = oracle
    ? [...AVG_GAP_METRICS, 'avg-gap']
    : ['ua', 'ra', 'ta', ruleMetric(tuning.config.rule)];
  return {
    exp: {
      ...exp,
      scenarios: tuning.config.scenarios,
      seeds: tuning.config.seeds,
      options: { ...exp.options, retrainSeeds, shadowModels: 0, exampleImages: 0 },
    },
    metricIds,
    perSeed: 1 + retrainSeeds + allTrials(tuning).length,
  };
}

/** What the cached models and records are keyed on. */
function keysOf(
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

async function runSeedScenario(job: SeedScenarioJob): Promise<void> {
  const { exp, scenario, seed, methods, store, progress } = job;
  const tag = `${job.tag ?? ''}seed ${seed} · ${scenario.id}`;

  progress.stage(`${tag}: scenario`);
  let manifest = cachedManifest(exp, scenario, seed, store);
  let manifestHash = sha256Json(manifest);
  // Cheap facts first: if every record is stored under the right key, nothing needs the data.
  const spec0 = { arch: exp.model.arch, hidden: exp.model.hidden, width: exp.model.width, seed };
  const recipe: TrainRecipe = { ...exp.training, seed };
  const stored = store.readSeedScenario(scenario.id, seed);
  if (stored && stored.manifestHash === manifestHash) {
    const spec = { ...spec0, inputShape: stored.sampleShape, numClasses: stored.numClasses };
    const keys = keysOf(exp, manifestHash, spec, recipe, job.metricIds);
    if (allDone(job, keys)) {
      const units = 1 + keys.retrains.length + methods.length;
      for (let i = 0; i < units; i++) progress.done(`${tag}: already done`);
      job.counters.skipped += units;
      return;
    }
  }

  const where = `${scenario.id} (seed ${seed})`;
  let data: Scenario;
  try {
    data = materialiseScenario(manifest, where);
  } catch (e) {
    // A cached manifest built from other bytes of the data set (the files were replaced since):
    // a miss like any other stale entry. Built anew; a mismatch then is the data's own fault.
    if (!isUsageError(e) || !/hash mismatch/.test(e.message)) throw e;
    manifest = cachedManifest(exp, scenario, seed, store, { rebuild: true });
    manifestHash = sha256Json(manifest);
    data = materialiseScenario(manifest, where);
  }
  const spec: ModelSpec = {
    ...spec0,
    inputShape: [...data.train.sampleShape],
    numClasses: data.train.numClasses,
  };
  const keys = keysOf(exp, manifestHash, spec, recipe, job.metricIds);
  const classNames = [
    ...(data.train.source.classNames ?? range(data.train.numClasses).map(String)),
  ];
  store.writeSeedScenario({
    scenario: scenario.id,
    seed,
    manifestHash,
    counts: { ...manifest.counts },
    sampleShape: [...data.train.sampleShape],
    numClasses: data.train.numClasses,
    forgetExamples:
      seed === exp.seeds[0] ? exampleImages(data.forget, exp.options.exampleImages) : [],
    classNames,
  });

  const facts = scenarioFacts(scenario, data);
  const evalOpts = { batchSize: exp.options.evalBatchSize };
  const models: LayersModel[] = [];
  try {
    // The Retrain ensemble: Retrain trained `retrainSeeds` times on D_r with the original's recipe,
    // each run with its own initialisation and data order, through the registry. Member 0's
    // predictions and weights are what the distances (JS, ℓ2) are taken to; members k > 0 are
    // evaluated against it as well, so that their distances give the spread a retrained model
    // has. The target of every match-retrain metric is the ensemble's mean.
    const members: { sets: EvalSets; weights: Float32Array[]; ref: Reference }[] = [];
    for (const [member, key] of keys.retrains.entries()) {
      const runSeed = retrainRunSeed(seed, member);
      const label =
        keys.retrains.length > 1 ? `retrain ${member + 1}/${keys.retrains.length}` : 'retrain';
      progress.stage(`${tag}: ${label}`);
      const trained = await trainedReference(
        store,
        key,
        { recipe, scenarioHash: manifestHash },
        async () => {
          const original = buildModel(spec); // Retrain reads only its architecture
          try {
            const r = await unlearn('retrain', {
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
        },
      );
      models.push(trained.model);
      const sets = await predictAll(trained.model, data, evalOpts);
      const weights = flatWeights(trained.model);
      let ref = store.readReference(scenario.id, seed, 'retrain', member);
      if (!ref || ref.cacheKey !== keys.retrainRecords[member]) {
        const primary = members[0];
        const record = await evaluateAll(
          {
            sets,
            scenario: facts,
            seed,
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
        ref = {
          ...reference(
            scenario.id,
            seed,
            'retrain',
            keys.retrainRecords[member],
            record,
            trained.cost,
          ),
          member,
          runSeed,
          modelSeed: specOf(trained.model)?.seed,
        };
        store.writeReference(ref);
        job.counters.computed++;
      } else job.counters.skipped++;
      progress.done(`${tag}: ${label} (${seconds(ref.cost.timeMs)})`);
      members.push({ sets, weights, ref });
    }
    // No ensemble (the Retrain-free tuning phase): nothing is read against Retrain.
    const primary = members.length > 0 ? members[0] : undefined;
    const retrainWeights = primary?.weights;
    // The stored records are what the report shows: their mean time is T_retrain for every speed-up.
    const retrainTimeMs = primary ? mean(members.map((m) => m.ref.cost.timeMs)) : undefined;
    const against: EvalInput['retrain'] = primary && {
      sets: primary.sets,
      record: { values: ensembleMean(members.map((m) => m.ref.metrics)) },
    };

    // The original model θ̂, trained on D = D_r ∪ ΔD.
    progress.stage(`${tag}: original`);
    const original = await trainedReference(
      store,
      keys.original,
      { recipe, scenarioHash: manifestHash },
      async () => {
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
      },
    );
    models.push(original.model);
    // θ̂'s predictions: its own record, and the reference of the Retrain-free selection score.
    let originalSets: EvalSets | undefined;
    const originalSetsOf = async () => {
      originalSets ??= await predictAll(original.model, data, evalOpts);
      return originalSets;
    };
    let originalRef = store.readReference(scenario.id, seed, 'original');
    if (!originalRef || originalRef.cacheKey !== keys.originalRecord) {
      const sets = await originalSetsOf();
      const record = await evaluateAll(
        {
          sets,
          scenario: facts,
          seed,
          retrain: against,
          ...(retrainWeights && {
            weights: { model: flatWeights(original.model), retrain: retrainWeights },
          }),
          ...(job.metricIds.includes('selection') && { original: { sets } }),
        },
        { metrics: job.metricIds },
      );
      originalRef = reference(
        scenario.id,
        seed,
        'original',
        keys.originalRecord,
        record,
        original.cost,
      );
      store.writeReference(originalRef);
      job.counters.computed++;
    } else job.counters.skipped++;
    progress.done(`${tag}: original (${seconds(original.cost.timeMs)})`);

    // Shadow runs for the privacy metrics: the design and the shared shadows once per (scenario,
    // seed); each method's unlearned shadows when its cell runs.
    const shadowCtx: ShadowContext | undefined =
      exp.options.shadowModels > 0
        ? {
            design: shadowDesign(
              data,
              { models: exp.options.shadowModels, targets: exp.options.shadowTargets },
              seed,
              { format: CELL_FORMAT, manifestHash, spec, recipe },
            ),
            spec,
            recipe,
            test: data.test,
            cacheDir: store.cacheDir,
            batchSize: exp.options.evalBatchSize,
            seed,
            onUnit: (what) => progress.stage(`${tag}: ${what}`),
          }
        : undefined;
    // Every method, each cell persisted as soon as it is done.
    for (const m of methods) {
      const key = keys.cell(m);
      const prior = store.readCell(scenario.id, seed, m.label);
      if (prior && prior.key === key && (prior.status === 'ok' || prior.failure === 'divergence')) {
        job.counters.skipped++;
        progress.done(`${tag}: ${m.label} already done`);
        continue;
      }
      progress.stage(`${tag}: ${m.label}`);
      const originalForScore = job.metricIds.includes('selection')
        ? { sets: await originalSetsOf() }
        : undefined;
      const cell = await runCell({
        job,
        m,
        key,
        data,
        spec,
        recipe,
        original: original.model,
        evalBase: { scenario: facts, seed, retrain: against, original: originalForScore },
        retrainWeights,
        retrainTimeMs,
        evalOpts,
        shadow: shadowCtx,
      });
      store.writeCell(cell);
      job.counters.computed++;
      if (cell.status === 'failed') {
        progress.warn(`uib run: ${tag}: ${m.label} failed: ${cell.error}`);
        if (cell.failure === 'fault') job.failures.push(`${tag}: ${m.label}: ${cell.error}`);
      }
      progress.done(
        `${tag}: ${m.label} ${cell.status === 'ok' ? `(${seconds(cell.cost?.timeMs ?? 0)})` : 'failed'}`,
      );
    }
  } finally {
    for (const model of models) model.dispose();
  }
}

function allDone(job: SeedScenarioJob, keys: ReturnType<typeof keysOf>): boolean {
  const { store, scenario, seed } = job;
  const o = store.readReference(scenario.id, seed, 'original');
  if (o?.cacheKey !== keys.originalRecord) return false;
  const retrainsDone = keys.retrainRecords.every(
    (key, member) => store.readReference(scenario.id, seed, 'retrain', member)?.cacheKey === key,
  );
  if (!retrainsDone) return false;
  return job.methods.every((m) => {
    const c = store.readCell(scenario.id, seed, m.label);
    return (
      c !== null && c.key === keys.cell(m) && (c.status === 'ok' || c.failure === 'divergence')
    );
  });
}

interface CellJob {
  job: SeedScenarioJob;
  m: MethodPlan;
  key: string;
  data: Scenario;
  spec: ModelSpec;
  recipe: TrainRecipe;
  original: LayersModel;
  evalBase: Pick<EvalInput, 'scenario' | 'seed' | 'retrain' | 'original'>;
  retrainWeights?: Float32Array[];
  retrainTimeMs?: number;
  evalOpts: { batchSize: number };
  /** Shadow runs for the privacy metrics, when the experiment has them. */
  shadow?: ShadowContext;
}

/** Run one method and evaluate it; a method that fails becomes a failed cell, not a crash. */
async function runCell(c: CellJob): Promise<Cell> {
  const { job, m } = c;
  const head = {
    scenario: job.scenario.id,
    seed: job.seed,
    method: m.label,
    methodId: m.id,
    params: m.params,
    key: c.key,
    retrain: (c.evalBase.retrain?.record.values ?? {}) as Cell['retrain'],
  };
  let model: LayersModel | null = null;
  try {
    const r = await unlearn(
      m.id,
      {
        original: c.original,
        spec: c.spec,
        recipe: c.recipe,
        data: { retain: c.data.retain, forget: c.data.forget },
        seed: job.seed,
        quiet: true,
      },
      m.params,
    );
    model = r.model;
    const cost = {
      ...costOf(r.stats),
      speedUp:
        c.retrainTimeMs !== undefined && r.stats.timeMs > 0
          ? c.retrainTimeMs / r.stats.timeMs
          : null,
    };
    // The method's shadow runs (after its own run, so they never count in its cost).
    const shadow = c.shadow
      ? await shadowStats(c.shadow, { id: m.id, params: m.params })
      : undefined;
    const record = await evaluateAll(
      {
        ...c.evalBase,
        ...(shadow && { shadow }),
        sets: await predictAll(model, c.data, c.evalOpts),
        ...(c.retrainWeights && {
          weights: { model: flatWeights(model), retrain: c.retrainWeights },
        }),
        cost: {
          timeMs: r.stats.timeMs,
          gradEvals: r.stats.gradEvals,
          epochsTouched: r.stats.epochsTouched,
          retrainTimeMs: c.retrainTimeMs,
        },
      },
      { metrics: job.metricIds },
    );
    return {
      ...head,
      status: 'ok',
      metrics: storedRecord(record),
      cost,
      details: jsonSafe(r.details),
      finishedAt: new Date().toISOString(),
    };
  } catch (e) {
    if (isUsageError(e)) throw e; // bad input: stop, say what
    if (process.env.UIB_DEBUG && e instanceof Error && e.stack)
      process.stderr.write(`${e.stack}\n`);
    return {
      ...head,
      status: 'failed',
      error: oneLine(e),
      failure: e instanceof DivergenceError ? 'divergence' : 'fault',
      metrics: null,
      cost: null,
      details: {},
      finishedAt: new Date().toISOString(),
    };
  } finally {
    model?.dispose();
  }
}

// ─── helpers ───────────────────────────────────────────────────────────────────────────────────

const ENVIRONMENT_FILE = 'environment.json';

/**
 * The compute environment of the run directory: written when a run starts in it, compared when
 * one resumes. Backends and kernel routes differ in their last bits, so a resume on another one
 * is refused rather than mixing cells of both under one label. The thread count is recorded but
 * not compared: no kernel's result depends on it (docs/reliability.md, "Reproducibility").
 */
function claimEnvironment(outDir: string): ComputeEnvironment {
  const now = computeEnvironment();
  const file = path.join(outDir, ENVIRONMENT_FILE);
  if (exists(file)) {
    let was: Partial<ComputeEnvironment> | null = null;
    try {
      was = readJsonChecked(file, { maxBytes: 64 * 1024 }) as Partial<ComputeEnvironment>;
    } catch {
      // unreadable: the cells are checked by their keys; start the file anew
    }
    if (was && (was.backend !== now.backend || was.route !== now.route)) {
      throw new UsageError(
        outDir,
        `was run on ${describeRoute(was as ComputeEnvironment)}; this run is on ${describeRoute(now)}. Their results differ in the last bits: resume with the same backend and route (--backend, UIB_NATIVE) or give another --out`,
      );
    }
    if (was) return now;
  }
  writeJsonAtomic(file, now);
  return now;
}

/** The manifest of (scenario, seed), built once and kept in the cache (building it hashes the data). */
function cachedManifest(
  exp: Experiment,
  scenario: ScenarioConfig,
  seed: number,
  store: RunStore,
  opts: { rebuild?: boolean } = {},
): Manifest {
  const request = {
    dataset: exp.dataset.name,
    dataDir: exp.dataset.dir ?? null,
    seed,
    trainSize: exp.dataset.trainSubset ?? null,
    testSize: exp.dataset.testSubset ?? null,
    scenario: scenario.params,
  };
  const file = path.join(store.cacheDir, 'manifests', `${sha256Json(request)}.json`);
  if (opts.rebuild) fs.rmSync(file, { recursive: true, force: true });
  if (fs.existsSync(file)) {
    // What createScenario writes into the manifest from the request: a cached file that says
    // otherwise (edited, or a hash collision) describes another scenario.
    const subset = (size: number | null) => (size ? { size, seed } : null);
    const wanted = sha256Json({
      dataset: { id: request.dataset, dir: request.dataDir },
      seed,
      trainSubset: subset(request.trainSize),
      testSubset: subset(request.testSize),
      scenario: request.scenario,
    });
    try {
      const m = parseManifest(
        readTextChecked(file, { maxBytes: MANIFEST_MAX_BYTES, within: store.cacheDir }),
        file,
      );
      const { dataset, trainSubset, testSubset } = m;
      const head = { dataset, seed: m.seed, trainSubset, testSubset, scenario: m.scenario };
      if (sha256Json(head) === wanted) return m;
    } catch (e) {
      if (!isUsageError(e)) throw e;
    }
    // Unreadable, invalid or another request's: a miss. Whatever is there (a directory even)
    // goes, and the manifest is built and written again.
    fs.rmSync(file, { recursive: true, force: true });
  }
  const manifest = createScenario(request);
  writeJsonAtomic(file, manifest);
  return manifest;
}

interface Trained {
  model: LayersModel;
  cost: Cost;
}

/** A reference model from the cache, or trained now and cached. */
async function trainedReference(
  store: RunStore,
  key: string,
  info: { recipe: TrainRecipe; scenarioHash: string },
  train: () => Promise<Trained>,
): Promise<Trained> {
  const dir = path.join(store.cacheDir, 'models', key);
  const hit = await loadCachedModel(dir);
  if (hit?.extra.cost) return { model: hit.model, cost: hit.extra.cost as Cost };
  hit?.model.dispose();
  const made = await train();
  await saveCachedModel(dir, made.model, { ...info, extra: { cost: made.cost } });
  return made;
}

async function predictAll(
  model: LayersModel,
  data: Scenario,
  opts: { batchSize: number },
): Promise<EvalSets> {
  const sets: EvalSets = {
    forget: await predictSet(model, data.forget, opts),
    retain: await predictSet(model, data.retain, opts),
    test: await predictSet(model, data.test, opts),
  };
  if (data.biasedTest) sets.biasedTest = await predictSet(model, data.biasedTest, opts);
  if (data.triggerTest) sets.stampedTest = await predictSet(model, data.triggerTest, opts);
  return sets;
}

function scenarioFacts(scenario: ScenarioConfig, data: Scenario): ScenarioFacts {
  return { kind: scenario.params.kind, ...kindFacts(scenario, data) };
}

function kindFacts(scenario: ScenarioConfig, data: Scenario): ScenarioFacts {
  const p = scenario.params;
  switch (p.kind) {
    case 'bias':
      return { biasClass: p.biasClass };
    case 'pattern':
      return { biasClass: p.forgetClass };
    case 'colour':
      return p.forgetClass === null ? {} : { biasClass: p.forgetClass };
    case 'backdoor':
      return { backdoorTarget: p.targetClass };
    case 'subgroup':
      return data.train.numClasses === 2 ? { positiveClass: 1 } : {};
    default:
      return {};
  }
}

function flatWeights(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

function costOf(stats: {
  timeMs: number;
  gradEvals: number;
  forwardEvals: number;
  epochsTouched: number;
  phases: Record<string, number>;
}): Cost {
  return {
    timeMs: stats.timeMs,
    speedUp: 1,
    gradEvals: stats.gradEvals,
    forwardEvals: stats.forwardEvals,
    epochsTouched: stats.epochsTouched,
    phases: { ...stats.phases },
  };
}

function reference(
  scenario: string,
  seed: number,
  role: 'original' | 'retrain',
  cacheKey: string,
  record: EvalRecord,
  cost: Cost,
): Reference {
  return { scenario, seed, role, member: 0, cacheKey, metrics: storedRecord(record), cost };
}

function storedRecord(record: EvalRecord): StoredEvalRecord {
  return jsonSafe(record) as StoredEvalRecord;
}

/** Plain JSON (drops undefined, turns typed arrays into arrays, NaN into null). */
function jsonSafe<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView))
        return Array.from(v as unknown as ArrayLike<number>);
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      return v;
    }),
  ) as T;
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

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// ─── assembling and writing the results ────────────────────────────────────────────────────────

function previousStart(outDir: string): string | null {
  try {
    // results.json repeats every stored record (each ≤ RECORD_MAX_BYTES, most ≤ 50 KB); only
    // `startedAt` is wanted here, so a file past 64 MiB counts as absent (a fresh start time).
    const prev = readJsonChecked(path.join(outDir, 'results.json'), { maxBytes: 64 * MiB }) as {
      startedAt?: unknown;
      complete?: unknown;
    };
    return typeof prev.startedAt === 'string' && prev.complete === false ? prev.startedAt : null;
  } catch {
    return null;
  }
}

/** Build the results object from the stored records (only those of this experiment's keys). */
export function assemble(
  exp: Experiment,
  store: RunStore,
  methods: MethodPlan[],
  metricIds: string[],
  env: { environment: ComputeEnvironment; startedAt: string; tuning?: TuningSummary },
): Results {
  const scenarios: Results['scenarios'] = [];
  const references: Reference[] = [];
  const cells: Cell[] = [];
  let expected = 0;
  for (const sc of exp.scenarios) {
    const seeds: SeedScenario[] = [];
    for (const seed of exp.seeds) {
      const info = store.readSeedScenario(sc.id, seed);
      expected += 1 + exp.options.retrainSeeds + methods.length;
      if (!info) continue;
      seeds.push(info);
      for (let member = 0; member < exp.options.retrainSeeds; member++) {
        const ref = store.readReference(sc.id, seed, 'retrain', member);
        if (ref) references.push(ref);
      }
      const original = store.readReference(sc.id, seed, 'original');
      if (original) references.push(original);
      for (const m of methods) {
        const cell = store.readCell(sc.id, seed, m.label);
        if (cell) cells.push(cell);
      }
    }
    const first = seeds[0];
    scenarios.push({
      id: sc.id,
      params: sc.params,
      seeds: seeds.map((s) => ({ seed: s.seed, manifestHash: s.manifestHash, counts: s.counts })),
      forgetExamples: first?.forgetExamples ?? [],
      classNames: first?.classNames ?? [],
    });
  }
  const metricInfo: MetricInfo[] = METRICS.filter((m) => metricIds.includes(m.id)).map((m) => ({
    id: m.id,
    summary: m.summary,
    direction: m.direction,
    unit: m.unit,
    ...(m.min === undefined ? {} : { min: m.min }),
    ...(m.max === undefined ? {} : { max: m.max }),
  }));
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    experiment: exp as unknown as Record<string, unknown>,
    experimentHash: sha256Json(exp),
    environment: {
      uibVersion: packageVersion(),
      backend: env.environment.backend,
      route: env.environment.route,
      threads: env.environment.threads,
      addon: env.environment.addon,
      tfjs: env.environment.tfjs,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
    },
    startedAt: env.startedAt,
    updatedAt: new Date().toISOString(),
    complete: references.length + cells.length === expected,
    metrics: metricInfo,
    scenarios,
    references,
    methods: exp.methods.map(methodLabel),
    cells,
    ...(env.tuning && { tuning: env.tuning }),
  };
}

export async function writeReports(results: Results, outDir: string): Promise<RunOutcome['files']> {
  const files = {
    json: path.join(outDir, 'results.json'),
    markdown: path.join(outDir, 'results.md'),
    html: path.join(outDir, 'report.html'),
  };
  writeJsonAtomic(files.json, results);
  writeFileAtomic(files.markdown, renderMarkdown(results));
  writeFileAtomic(files.html, await renderHtml(results));
  return files;
}

function packageVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
