/**
 * One (seed, scenario): the scenario built (its manifest cached), nothing done when every record is
 * stored under its key, else the reference runs, the shadow design and every method cell.
 */
import { isUsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import { hashSeed } from '../../core/rng.ts';
import {
  createScenario,
  type Manifest,
  materialiseScenario,
  type Scenario,
} from '../../data/scenarios/index.ts';
import { formatManifest, parseManifest } from '../../data/scenarios/manifest.ts';
import { heldOutBeside } from '../../data/subset.ts';
import type { ScenarioFacts } from '../../eval/types.ts';
import type { ModelSpec } from '../../models/types.ts';
import type { TrainRecipe } from '../../train/types.ts';
import { exampleImages } from '../report/png.ts';
import type { Experiment, ScenarioConfig } from '../schema.ts';
import { type ShadowContext, shadowDesign } from '../shadow.ts';
import type { RunStore } from '../store.ts';
import { type CellBase, isFinal, runMethodCells } from './cell.ts';
import {
  CELL_FORMAT,
  type Keys,
  keysOf,
  range,
  type ScenarioRun,
  type SeedScenarioJob,
} from './plan.ts';
import { runOriginal, runRetrainEnsemble } from './references.ts';

/** Every (seed, scenario) of the job's experiment: seeds outer, scenarios inner. */
export async function runSeedScenarios(
  job: Omit<SeedScenarioJob, 'scenario' | 'seed'>,
): Promise<void> {
  for (const seed of job.exp.seeds) {
    for (const scenario of job.exp.scenarios) await runSeedScenario({ ...job, scenario, seed });
  }
}

async function runSeedScenario(job: SeedScenarioJob): Promise<void> {
  const { exp, scenario, seed, methods, store, progress } = job;
  const tag = `${job.tag ?? ''}seed ${seed} · ${scenario.id}`;

  progress.stage(`${tag}: scenario`);
  const manifest = await cachedManifest(exp, scenario, seed, store);
  const manifestHash = sha256Json(manifest);
  // Cheap facts first: if every record is stored under the right key, nothing needs the data.
  const spec0 = { arch: exp.model.arch, hidden: exp.model.hidden, width: exp.model.width, seed };
  const recipe: TrainRecipe = { ...exp.training, seed };
  const stored = await store.readSeedScenario(scenario.id, seed);
  if (stored && stored.manifestHash === manifestHash) {
    const spec = { ...spec0, inputShape: stored.sampleShape, numClasses: stored.numClasses };
    const keys = keysOf(exp, manifestHash, spec, recipe, job.metricIds);
    if (await allDone(job, keys)) {
      const units = 1 + keys.retrains.length + methods.length;
      for (let i = 0; i < units; i++) progress.done(`${tag}: already done`);
      job.counters.skipped += units;
      return;
    }
  }

  const run = await openScenarioRun(job, { tag, manifest });
  try {
    await runMethodCells(run, await referenceBase(run));
  } finally {
    for (const model of run.models) model.dispose();
  }
}

/** What every method cell of the run is read against: the Retrain ensemble, the original, shadows. */
export async function referenceBase(run: ScenarioRun): Promise<CellBase> {
  const ensemble = await runRetrainEnsemble(run);
  const original = await runOriginal(run, ensemble);
  return {
    ...ensemble,
    original: original.model,
    originalSets: original.sets,
    shadow: shadowContext(run),
  };
}

/**
 * One (seed, scenario) with its data built: the manifest (cached), the data materialised, the
 * facts stored in `_scenario.json` (unless `write` is false) and the run its units share. The
 * in-process runner opens one per (seed, scenario); a job (jobs/execute.ts) opens its own.
 */
export async function openScenarioRun(
  job: SeedScenarioJob,
  opts: { tag?: string; manifest?: Manifest; write?: boolean } = {},
): Promise<ScenarioRun> {
  const { exp, scenario, seed, store } = job;
  const tag = opts.tag ?? `${job.tag ?? ''}seed ${seed} · ${scenario.id}`;
  let manifest = opts.manifest ?? (await cachedManifest(exp, scenario, seed, store));
  let manifestHash = sha256Json(manifest);
  const spec0 = { arch: exp.model.arch, hidden: exp.model.hidden, width: exp.model.width, seed };
  const recipe: TrainRecipe = { ...exp.training, seed };
  const where = `${scenario.id} (seed ${seed})`;
  let data: Scenario;
  try {
    data = materialiseScenario(manifest, where);
  } catch (e) {
    // A cached manifest built from other bytes of the data set (the files were replaced since):
    // a miss like any other stale entry. Built anew; a mismatch then is the data's own fault.
    if (!isUsageError(e) || !/hash mismatch/.test(e.message)) throw e;
    manifest = await cachedManifest(exp, scenario, seed, store, { rebuild: true });
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
  if (opts.write !== false) {
    await store.writeSeedScenario({
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
  }

  const validation =
    exp.dataset.validationSubset === undefined
      ? undefined
      : heldOutBeside(
          data.test,
          exp.dataset.validationSubset,
          hashSeed(seed, 'validation'),
          `dataset.validationSubset (${where})`,
          data.heldOut,
        );
  return {
    job,
    tag,
    data,
    ...(validation && { validation }),
    spec,
    recipe,
    manifestHash,
    keys,
    facts: scenarioFacts(scenario, data),
    evalOpts: { batchSize: exp.options.evalBatchSize },
    models: [],
  };
}

/**
 * The keys of (seed, scenario) from what is stored, without the data: its cached manifest and
 * `_scenario.json` (which says the model's input shape and classes). Null when either is missing
 * or they disagree; the scenario must then be built (a job of its own: jobs/graph.ts).
 */
export async function storedKeys(
  job: Omit<SeedScenarioJob, 'progress' | 'counters' | 'failures'>,
): Promise<Keys | null> {
  const { exp, scenario, seed, store } = job;
  // Read only: a file that is not (yet) a valid manifest is a worker's to rebuild, not ours.
  const { manifest } = await readCachedManifest(exp, scenario, seed, store);
  if (!manifest) return null;
  const manifestHash = sha256Json(manifest);
  const stored = await store.readSeedScenario(scenario.id, seed);
  if (!stored || stored.manifestHash !== manifestHash) return null;
  const spec = {
    arch: exp.model.arch,
    hidden: exp.model.hidden,
    width: exp.model.width,
    seed,
    inputShape: stored.sampleShape,
    numClasses: stored.numClasses,
  };
  return keysOf(exp, manifestHash, spec, { ...exp.training, seed }, job.metricIds);
}

async function allDone(job: SeedScenarioJob, keys: Keys): Promise<boolean> {
  const { store, scenario, seed } = job;
  const o = await store.readReference(scenario.id, seed, 'original');
  if (o?.cacheKey !== keys.originalRecord) return false;
  for (const [member, key] of keys.retrainRecords.entries()) {
    if ((await store.readReference(scenario.id, seed, 'retrain', member))?.cacheKey !== key)
      return false;
  }
  for (const m of job.methods) {
    if (!isFinal(await store.readCell(scenario.id, seed, m.label), keys.cell(m))) return false;
  }
  return true;
}

/**
 * Shadow runs for the privacy metrics: the design and the shared shadows once per (scenario,
 * seed); each method's unlearned shadows when its cell runs.
 */
function shadowContext(run: ScenarioRun): ShadowContext | undefined {
  const { exp, seed, store, progress } = run.job;
  if (exp.options.shadowModels === 0) return undefined;
  const { data, spec, recipe, manifestHash } = run;
  return {
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
    onUnit: (what) => progress.stage(`${run.tag}: ${what}`),
  };
}

/** The manifest of (scenario, seed), built once and kept in the cache (building it hashes the data). */
async function cachedManifest(
  exp: Experiment,
  scenario: ScenarioConfig,
  seed: number,
  store: RunStore,
  opts: { rebuild?: boolean } = {},
): Promise<Manifest> {
  const cached = await readCachedManifest(exp, scenario, seed, store, opts);
  if (cached.manifest) return cached.manifest;
  // Unreadable, damaged, invalid or another request's: a miss. Whatever is there (a directory
  // even) goes, and the manifest is built and written again.
  await store.removeManifest(cached.name);
  const manifest = createScenario(cached.request);
  await store.writeManifest(cached.name, formatManifest(manifest));
  return manifest;
}

/** The cached manifest of (scenario, seed) when it is there and describes this request. */
async function readCachedManifest(
  exp: Experiment,
  scenario: ScenarioConfig,
  seed: number,
  store: RunStore,
  opts: { rebuild?: boolean } = {},
): Promise<{
  name: string;
  request: Parameters<typeof createScenario>[0];
  manifest: Manifest | null;
}> {
  const request = {
    dataset: exp.dataset.name,
    dataDir: exp.dataset.dir ?? null,
    seed,
    trainSize: exp.dataset.trainSubset ?? null,
    testSize: exp.dataset.testSubset ?? null,
    scenario: scenario.params,
  };
  const name = `${sha256Json(request)}.json`;
  if (opts.rebuild) await store.removeManifest(name);
  // Checked against its SHA-256 first: a damaged manifest can still be a valid one (an index
  // moved between the test and the patterned lists), which no check below would see.
  const text = await store.readManifest(name);
  if (text !== null) {
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
      const m = parseManifest(text, store.manifestPath(name));
      const { dataset, trainSubset, testSubset } = m;
      const head = { dataset, seed: m.seed, trainSubset, testSubset, scenario: m.scenario };
      if (sha256Json(head) === wanted) return { name, request, manifest: m };
    } catch (e) {
      if (!isUsageError(e)) throw e;
    }
  }
  return { name, request, manifest: null };
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
    case 'shortcut':
      return { biasClass: p.biasClass };
    case 'backdoor':
      return { backdoorTarget: p.targetClass };
    case 'subgroup':
      return data.train.numClasses === 2 ? { positiveClass: 1 } : {};
    default:
      return {};
  }
}
