/**
 * Forget scenarios: build one from a request (`createScenario` → manifest), or rebuild the data
 * a manifest describes (`materialiseScenario` → train / forget / retain / test views). Both go
 * through the same kind module, so a manifest materialises to exactly the data it was made from;
 * the data and inputs hashes make sure of it.
 */
import { UsageError } from '../../core/errors.ts';
import { Dataset } from '../dataset.ts';
import { sourceDigest, viewDigest } from '../digest.ts';
import { loadDataset } from '../registry.ts';
import { balancedSubset } from '../subset.ts';
import { backdoor } from './backdoor.ts';
import { bias } from './bias.ts';
import { classKind } from './class.ts';
import { colour } from './colour.ts';
import type { BuildContext, Parts, ScenarioKind } from './common.ts';
import {
  checkManifest,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  type ScenarioKindId,
  ScenarioParams,
} from './manifest.ts';
import { pattern } from './pattern.ts';
import { random } from './random.ts';
import { shortcut } from './shortcut.ts';
import { subgroup } from './subgroup.ts';

export const KINDS: Readonly<Record<ScenarioKindId, ScenarioKind>> = Object.freeze({
  random,
  class: classKind,
  pattern,
  bias,
  colour,
  backdoor,
  subgroup,
  shortcut,
} as Record<ScenarioKindId, ScenarioKind>);

export interface ScenarioRequest {
  dataset: string;
  /** Data directory (CIFAR; overrides the default for Fashion-MNIST / German credit). */
  dataDir?: string | null;
  seed: number;
  /** Class-balanced training subset of this size (default: the whole training split). */
  trainSize?: number | null;
  testSize?: number | null;
  /** Seed of the subsets (default: `seed`). */
  subsetSeed?: number;
  scenario: ScenarioParams;
}

/** What `materialiseScenario` returns: views over (possibly corrupted, in-memory) sources. */
export interface Scenario extends Parts {
  manifest: Manifest;
  forget: Dataset;
  retain: Dataset;
}

function buildContext(
  m: Pick<Manifest, 'dataset' | 'seed'>,
  trainIdx: readonly number[] | null,
  testIdx: readonly number[] | null,
  sizes?: { train: Manifest['trainSubset']; test: Manifest['testSubset'] },
): BuildContext {
  const opts = m.dataset.dir ? { dir: m.dataset.dir } : {};
  const trainSource = loadDataset(m.dataset.id, 'train', opts);
  const testSource = loadDataset(m.dataset.id, 'test', opts);
  const view = (
    src: typeof trainSource,
    idx: readonly number[] | null,
    sub: Manifest['trainSubset'],
    label: string,
  ) => {
    if (idx) return new Dataset(src, Uint32Array.from(idx), src.name);
    const all = new Dataset(src);
    return sub ? balancedSubset(all, sub.size, sub.seed, `${label}-size`) : all;
  };
  return {
    seed: m.seed,
    datasetId: m.dataset.id,
    trainSource,
    testSource,
    train: view(trainSource, trainIdx, sizes?.train ?? null, '--train'),
    test: view(testSource, testIdx, sizes?.test ?? null, '--test'),
  };
}

/** Decide a scenario from its request and return its manifest (no file is written). */
export function createScenario(req: ScenarioRequest): Manifest {
  const parsed = ScenarioParams.safeParse(req.scenario);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`scenario.${issue.path.join('.')}`, issue.message);
  }
  const params = parsed.data;
  const subsetSeed = req.subsetSeed ?? req.seed;
  const head = {
    dataset: { id: req.dataset, dir: req.dataDir ?? null },
    seed: req.seed,
  };
  const sizes = {
    train: req.trainSize ? { size: req.trainSize, seed: subsetSeed } : null,
    test: req.testSize ? { size: req.testSize, seed: subsetSeed } : null,
  };
  const ctx = buildContext(head, null, null, sizes);
  const plan = KINDS[params.kind].plan(ctx, params);
  const train = Array.from(ctx.train.sourceIndices());
  const forgetSet = new Set(plan.forget);
  const retain = train.filter((i) => !forgetSet.has(i));
  const test = Array.from(ctx.test.sourceIndices());
  const m: Manifest = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    dataset: head.dataset,
    seed: req.seed,
    trainSubset: sizes.train,
    testSubset: sizes.test,
    scenario: params,
    dataHash: { train: sourceDigest(ctx.trainSource), test: sourceDigest(ctx.testSource) },
    inputsHash: { train: '' },
    counts: {
      train: train.length,
      forget: plan.forget.length,
      retain: retain.length,
      test: test.length,
    },
    indices: { train, forget: plan.forget, retain, test },
    patterned: plan.patterned,
    colours: plan.colours,
  };
  const parts = KINDS[params.kind].materialise(ctx, params, m);
  m.inputsHash.train = viewDigest(parts.train);
  checkManifest(m, 'scenario');
  return m;
}

/**
 * Rebuild a manifest's data. Refuses (UsageError) when the data files no longer hash to what
 * the manifest recorded, or when the rebuilt training inputs differ (e.g. a corruption changed).
 */
export function materialiseScenario(m: Manifest, where = 'manifest'): Scenario {
  checkManifest(m, where);
  let ctx: BuildContext;
  try {
    ctx = buildContext(m, m.indices.train, m.indices.test);
  } catch (e) {
    // A loader names the flag a command would have taken (`--data-dir`); here the manifest
    // gave the value, so name the manifest.
    if (e instanceof UsageError && e.where.startsWith('--'))
      throw new UsageError(where, `dataset: ${e.problem}`);
    throw e;
  }
  for (const split of ['train', 'test'] as const) {
    const src = split === 'train' ? ctx.trainSource : ctx.testSource;
    const now = sourceDigest(src);
    if (now !== m.dataHash[split]) {
      throw new UsageError(
        where,
        `data hash mismatch for ${m.dataset.id} ${split}: manifest has ${m.dataHash[split].slice(0, 12)}…, the data now hashes to ${now.slice(0, 12)}…; rebuild the scenario`,
      );
    }
  }
  const parts = KINDS[m.scenario.kind].materialise(ctx, m.scenario as never, m);
  const inputs = viewDigest(parts.train);
  if (inputs !== m.inputsHash.train) {
    throw new UsageError(
      where,
      `training inputs hash mismatch: manifest has ${m.inputsHash.train.slice(0, 12)}…, rebuilt inputs hash to ${inputs.slice(0, 12)}… (did a corruption change?); rebuild the scenario`,
    );
  }
  const forgetPos = positionsOf(m.indices.train, m.indices.forget);
  const retainPos = positionsOf(m.indices.train, m.indices.retain);
  return {
    manifest: m,
    ...parts,
    forget: parts.train.subset(forgetPos, `${parts.train.name}:forget`),
    retain: parts.train.subset(retainPos, `${parts.train.name}:retain`),
  };
}

function positionsOf(sorted: readonly number[], values: readonly number[]): Uint32Array {
  const at = new Map(sorted.map((v, i) => [v, i]));
  return Uint32Array.from(values, (v) => at.get(v)!);
}

export type { Manifest } from './manifest.ts';
export {
  formatManifest,
  parseManifest,
  readManifest,
  SCENARIO_KINDS,
  writeManifest,
} from './manifest.ts';
