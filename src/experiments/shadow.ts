/**
 * Shadow runs for the privacy metrics (eval/shadow.ts: U-LiRA, the challenge's F, KLoM), per
 * (scenario, seed), after Hayes et al.'s design:
 *
 *   1. Each training sample is put in exactly half of the N shadow training sets D_s (a seeded
 *      permutation of the shadows per sample), so every example has N/2 shadows that trained on it.
 *   2. Shadow s: an original trained on D_s with the experiment's recipe, and a retrained model on
 *      R_s = D_s \ F_s, F_s = ΔD ∩ D_s (its own seeds). Both are shared by every method.
 *   3. Per method: the method unlearns F_s from shadow s's original (its own seed per shadow).
 *   4. On the targets T (a seeded subsample of ΔD): φ and the loss under each unlearned and each
 *      retrained shadow, and each model's accuracy on R_s and the test set.
 *
 * Everything is cached under the run's cache directory by content hash (originals as checkpoints,
 * statistics as JSON), so an interrupted run resumes and methods added later reuse the shadows.
 */
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { DivergenceError } from '../core/errors.ts';
import { sha256Json } from '../core/hash.ts';
import { readJsonChecked } from '../core/read.ts';
import { hashSeed, rngFor } from '../core/rng.ts';
import type { Dataset } from '../data/dataset.ts';
import type { Scenario } from '../data/scenarios/index.ts';
import { accuracy } from '../eval/accuracy.ts';
import { predictSet } from '../eval/predict.ts';
import { marginFromProbability, type ShadowStats } from '../eval/shadow.ts';
import { buildModel } from '../models/index.ts';
import type { ModelSpec } from '../models/types.ts';
import { trainModel } from '../train/train.ts';
import type { TrainRecipe } from '../train/types.ts';
import { unlearn } from '../unlearn/registry.ts';
import { loadCachedModel, saveCachedModel } from './cache.ts';

export interface ShadowPlan {
  /** Shadow models N (each trains on half of D). */
  models: number;
  /** Target examples T ⊆ ΔD whose unlearning is tested. */
  targets: number;
}

export interface ShadowDesign {
  key: string;
  targets: Dataset;
  shadows: { train: Dataset; forget: Dataset; retain: Dataset; members: boolean[] }[];
}

/** Positions of `view`'s samples within `train` (both views of one source). */
function positionsIn(train: Dataset, view: Dataset): number[] {
  const at = new Map<number, number>();
  for (let i = 0; i < train.length; i++) at.set(train.at(i), i);
  return Array.from({ length: view.length }, (_, i) => {
    const p = at.get(view.at(i));
    if (p === undefined) throw new Error(`shadow: ${view.name} is not a part of ${train.name}`);
    return p;
  });
}

/** The shadow training sets and the targets of one (scenario, seed). */
export function shadowDesign(
  data: Scenario,
  plan: ShadowPlan,
  seed: number,
  keyParts: unknown,
): ShadowDesign {
  const { train, forget } = data;
  const n = train.length;
  const rng = rngFor(seed, 'shadow', 'design');
  // Each sample in exactly ⌈N/2⌉ shadows: the first half of a permutation of the shadows.
  const inShadow = Array.from({ length: plan.models }, () => new Uint8Array(n));
  const half = Math.ceil(plan.models / 2);
  for (let i = 0; i < n; i++) {
    const order = rng.permutation(plan.models);
    for (let k = 0; k < half; k++) inShadow[order[k]][i] = 1;
  }
  const forgetPos = positionsIn(train, forget);
  const isForget = new Uint8Array(n);
  for (const p of forgetPos) isForget[p] = 1;
  const targetPos = Array.from(rng.permutation(forgetPos.length))
    .slice(0, Math.min(plan.targets, forgetPos.length))
    .sort((a, b) => a - b)
    .map((j) => forgetPos[j]);
  const shadows = inShadow.map((m, s) => {
    const all = [...Array(n).keys()].filter((i) => m[i] === 1);
    return {
      train: train.subset(all, `${train.name}:shadow${s}`),
      forget: train.subset(
        all.filter((i) => isForget[i] === 1),
        `${train.name}:shadow${s}:forget`,
      ),
      retain: train.subset(
        all.filter((i) => isForget[i] === 0),
        `${train.name}:shadow${s}:retain`,
      ),
      members: targetPos.map((p) => m[p] === 1),
    };
  });
  return {
    key: sha256Json({ keyParts, plan, seed }),
    targets: train.subset(targetPos, `${train.name}:targets`),
    shadows,
  };
}

const SideSchema = z.object({
  phi: z.array(z.number()),
  loss: z.array(z.number()),
  ra: z.number(),
  ta: z.number(),
});
type Side = z.infer<typeof SideSchema>;

/** φ and loss per target, accuracy on the shadow's retained set and on test. */
async function sideOf(
  model: LayersModel,
  targets: Dataset,
  retain: Dataset,
  test: Dataset,
  batchSize: number,
): Promise<Side> {
  const t = await predictSet(model, targets, { batchSize });
  const k = t.numClasses;
  const p = Array.from(t.labels, (y, i) => t.probs[i * k + y]);
  const r = await predictSet(model, retain, { batchSize });
  const te = await predictSet(model, test, { batchSize });
  return {
    phi: p.map(marginFromProbability),
    loss: p.map((q) => -Math.log(Math.max(q, 1e-30))),
    ra: accuracy(r.predicted, r.labels).value ?? 0,
    ta: accuracy(te.predicted, te.labels).value ?? 0,
  };
}

function readSide(file: string): Side | null {
  try {
    const r = SideSchema.safeParse(readJsonChecked(file, { maxBytes: 16 << 20 }));
    return r.success ? r.data : null;
  } catch {
    return null; // unreadable: recomputed
  }
}

export interface ShadowContext {
  design: ShadowDesign;
  spec: ModelSpec;
  recipe: TrainRecipe;
  test: Dataset;
  cacheDir: string;
  batchSize: number;
  seed: number;
  /** Told each finished shadow unit, for progress. */
  onUnit?: (what: string) => void;
}

/** Shadow s's original (trained on D_s), from the cache or trained now. */
async function shadowOriginal(c: ShadowContext, s: number): Promise<LayersModel> {
  const dir = path.join(
    c.cacheDir,
    'models',
    sha256Json({ design: c.design.key, s, role: 'original' }),
  );
  const hit = await loadCachedModel(dir);
  if (hit) return hit.model;
  const runSeed = hashSeed(c.seed, 'shadow', s, 'original');
  const model = buildModel({ ...c.spec, seed: runSeed });
  await trainModel(
    model,
    c.design.shadows[s].train,
    { ...c.recipe, seed: runSeed },
    {
      quiet: true,
      label: `shadow ${s}`,
    },
  );
  await saveCachedModel(dir, model, { recipe: c.recipe, scenarioHash: c.design.key, extra: {} });
  return model;
}

/** The retrained side of shadow s (a model on R_s with its own seed), cached as statistics. */
async function retrainedSide(c: ShadowContext, s: number): Promise<Side> {
  const file = path.join(c.cacheDir, 'shadow', c.design.key, `retrained-${s}.json`);
  const hit = readSide(file);
  if (hit) return hit;
  const sh = c.design.shadows[s];
  const runSeed = hashSeed(c.seed, 'shadow', s, 'retrain');
  const model = buildModel({ ...c.spec, seed: runSeed });
  try {
    await trainModel(model, sh.retain, { ...c.recipe, seed: runSeed }, { quiet: true });
    const side = await sideOf(model, c.design.targets, sh.retain, c.test, c.batchSize);
    writeJsonAtomic(file, side);
    return side;
  } finally {
    model.dispose();
  }
}

/**
 * The shadow statistics of one method (`id`, validated `params`): every shadow's original
 * unlearned by the method, against the shared retrained shadows.
 */
export async function shadowStats(
  c: ShadowContext,
  method: { id: string; params: Record<string, unknown> },
): Promise<ShadowStats> {
  const methodKey = sha256Json(method);
  const shadows: ShadowStats['shadows'] = [];
  let diverged = 0;
  for (const [s, sh] of c.design.shadows.entries()) {
    const retrained = await retrainedSide(c, s);
    const file = path.join(c.cacheDir, 'shadow', c.design.key, methodKey, `unlearned-${s}.json`);
    let unlearned = readSide(file);
    if (!unlearned) {
      const original = await shadowOriginal(c, s);
      try {
        let r: Awaited<ReturnType<typeof unlearn>>;
        try {
          r = await unlearn(
            method.id,
            {
              original,
              spec: c.spec,
              recipe: c.recipe,
              data: { retain: sh.retain, forget: sh.forget },
              seed: hashSeed(c.seed, 'shadow', s, 'unlearn'),
              quiet: true,
            },
            method.params,
          );
        } catch (e) {
          // A divergence on one shadow leaves it out (counted), as a failed seed is left out.
          if (!(e instanceof DivergenceError)) throw e;
          diverged++;
          continue;
        }
        try {
          unlearned = await sideOf(r.model, c.design.targets, sh.retain, c.test, c.batchSize);
        } finally {
          r.model.dispose();
        }
        writeJsonAtomic(file, unlearned);
      } finally {
        original.dispose();
      }
    }
    shadows.push({ members: sh.members, unlearned, retrained });
    c.onUnit?.(`shadow ${s + 1}/${c.design.shadows.length}`);
  }
  return { shadows, diverged };
}
