/**
 * End to end on the MNIST bias scenario, project side: train the original CNN with its default
 * recipe, cache F_D (as `uib train --cache-fisher` would), then time UIB-IF with the cached F_D,
 * UIB-IF with a fresh Fisher pass, and Retrain (same recipe on D_r), all through
 * `unlearn()` (src/unlearn/registry.ts) with default hyper-parameters. Writes D_r for the
 * PyTorch Retrain into `dumpDir` (x.f32 NHWC, y.i32).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/core/atomic.ts';
import { rngFor } from '../../src/core/rng.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { createScenario, materialiseScenario } from '../../src/data/scenarios/index.ts';
import { buildModel, type ModelSpec, paramGroups } from '../../src/models/index.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { defaultRecipe, trainModel } from '../../src/train/train.ts';
import type { UnlearnInputs } from '../../src/unlearn/registry.ts';
import { getMethod, parseParams, unlearn } from '../../src/unlearn/registry.ts';
import {
  computeFisherCache,
  fisherCacheIn,
  saveFisherCache,
} from '../../src/unlearn/uib/fisher-cache.ts';
import { cacheKindOf, type PriorKind } from '../../src/unlearn/uib/prior.ts';
import { E2E_WORKLOAD } from './workloads.ts';

/** UIB-IF's defaults: the cache is written with the Fisher kind its prior reads. */
const UIB_DEFAULTS = parseParams(getMethod('uib-if'), {}) as { fisher: PriorKind };

export interface E2eResult {
  trainSize: number;
  counts: { retain: number; forget: number; test: number };
  recipe: ReturnType<typeof defaultRecipe>;
  /** Wall time of each phase, ms. */
  timeMs: {
    trainOriginal: number;
    fisherCache: number;
    uibIfCached: number;
    uibIfFresh: number;
    retrain: number;
  };
  /** Samples through a training step per second during Retrain (epochs × |D_r| / time). */
  retrainSamplesPerSec: number;
  /** Test / forget-set accuracy of each model (sanity: UIB-IF must have done something). */
  accuracy: Record<
    'original' | 'uibIfCached' | 'uibIfFresh' | 'retrain',
    { test: number; forget: number }
  >;
  uibIfPhasesMs: Record<string, number>;
}

async function accuracyOf(model: Parameters<typeof evaluate>[0], test: Dataset, forget: Dataset) {
  return {
    test: (await evaluate(model, test)).accuracy,
    forget: (await evaluate(model, forget)).accuracy,
  };
}

export async function runE2e(
  trainSize: number,
  workDir: string,
  dumpDir: string,
): Promise<E2eResult> {
  const seed = 1;
  const manifest = createScenario({
    dataset: 'mnist',
    seed,
    trainSize,
    testSize: 2000,
    scenario: { ...E2E_WORKLOAD.scenario },
  });
  const sc = materialiseScenario(manifest);
  const spec: ModelSpec = { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed };
  const recipe = defaultRecipe('cnn', seed);

  const original = buildModel(spec);
  let t0 = performance.now();
  await trainModel(original, sc.train, recipe, { quiet: true });
  const trainOriginal = performance.now() - t0;

  // F_D at θ̂ over the whole training set, the curvature UIB-IF's default prior reads.
  const groups = paramGroups(original);
  t0 = performance.now();
  const cache = computeFisherCache(original, groups, sc.train, {
    kind: cacheKindOf(UIB_DEFAULTS.fisher),
    rng: rngFor(seed, 'bench', 'fisher-cache'),
  });
  const fisherCache = performance.now() - t0;
  fs.mkdirSync(workDir, { recursive: true });
  saveFisherCache(workDir, groups, cache);

  const inputs: UnlearnInputs = {
    original,
    spec,
    recipe,
    data: { retain: sc.retain, forget: sc.forget },
    seed,
    quiet: true,
  };
  const cached = await unlearn('uib-if', { ...inputs, fisherCache: fisherCacheIn(workDir) });
  const fresh = await unlearn('uib-if', inputs, { useCache: false });
  const retrained = await unlearn('retrain', inputs);

  const result: E2eResult = {
    trainSize,
    counts: { retain: sc.retain.length, forget: sc.forget.length, test: sc.test.length },
    recipe,
    timeMs: {
      trainOriginal,
      fisherCache,
      uibIfCached: cached.stats.timeMs,
      uibIfFresh: fresh.stats.timeMs,
      retrain: retrained.stats.timeMs,
    },
    retrainSamplesPerSec: (recipe.epochs * sc.retain.length * 1000) / retrained.stats.timeMs,
    accuracy: {
      original: await accuracyOf(original, sc.test, sc.forget),
      uibIfCached: await accuracyOf(cached.model, sc.test, sc.forget),
      uibIfFresh: await accuracyOf(fresh.model, sc.test, sc.forget),
      retrain: await accuracyOf(retrained.model, sc.test, sc.forget),
    },
    uibIfPhasesMs: cached.stats.phases,
  };
  for (const m of [original, cached.model, fresh.model, retrained.model]) m.dispose();

  // D_r for the PyTorch Retrain: the same samples, as model-ready floats.
  const all = Uint32Array.from({ length: sc.retain.length }, (_, i) => i);
  const { x, y } = sc.retain.gather(all);
  fs.mkdirSync(dumpDir, { recursive: true });
  writeFileAtomic(
    path.join(dumpDir, 'x.f32'),
    new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
  );
  writeFileAtomic(
    path.join(dumpDir, 'y.i32'),
    new Uint8Array(y.buffer, y.byteOffset, y.byteLength),
  );
  writeJsonAtomic(path.join(dumpDir, 'meta.json'), {
    n: sc.retain.length,
    shape: spec.inputShape,
    recipe,
  });
  return result;
}
