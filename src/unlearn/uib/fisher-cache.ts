/**
 * The F_D cache: the diagonal Fisher of the training set at θ̂, written beside a checkpoint at
 * training time (`uib train --cache-fisher`) so that UIB's prior need not recompute it for every
 * deletion request.
 *
 *   DIR/fisher.bin    float32 little-endian, the tensors in parameter-group order
 *   DIR/fisher.json   { format, kind, n, weightsSha256, binSha256, tensors: [{ group, param,
 *                       layer, role, shape, offset, length }] }
 *
 * A cache is a claim about one model: `weightsSha256` is the SHA-256 of the weights it was
 * computed at (weights.bin's bytes, equal to `modelWeightsSha256` of the loaded model), and
 * `binSha256` that of fisher.bin. Loading refuses a cache that names no weights or other weights
 * (a cache of another model), a fisher.bin that is not the one fisher.json describes (damaged,
 * rescaled), a size other than the tensors' total, and non-finite or negative values. The hashes
 * of both files as read go into the deletion record, which `uib verify` checks.
 */
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { exists, MiB, parseJsonChecked, readFileChecked } from '../../core/read.ts';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import { modelWeightsSha256 } from '../../models/checkpoint.ts';
import { paramGroups } from '../../models/index.ts';
import type { ParamGroup } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import { computeCurvature } from '../curvature/index.ts';

export const FISHER_JSON = 'fisher.json';
export const FISHER_BIN = 'fisher.bin';
const FORMAT = 'uib-fisher-2';

/** fisher.json lists one entry per parameter tensor (ResNet-18: ~100): 4 MiB is ample. */
const FISHER_JSON_MAX_BYTES = 4 * MiB;

export type FisherCacheKind = 'fisher' | 'fisher-sampled' | 'fisher-stratified';

export interface FisherCache {
  kind: FisherCacheKind;
  /** Number of samples F_D is the mean over (|D|). */
  n: number;
  /** SHA-256 of the weights the cache was computed at (θ̂). */
  weightsSha256: string;
  /** [group][param] diagonal Fisher. */
  diag: Float32Array[][];
  /** fisher.json's path and the SHA-256 of the two files as read (set by `loadFisherCache`). */
  files?: { file: string; jsonSha256: string; binSha256: string };
}

const hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const FisherIndex = z.strictObject({
  format: z.literal(FORMAT),
  kind: z.enum(['fisher', 'fisher-sampled', 'fisher-stratified']),
  n: z.number().int().min(1),
  weightsSha256: hex,
  binSha256: hex,
  tensors: z.array(
    z.strictObject({
      group: count,
      param: count,
      layer: z.string(),
      role: z.string(),
      shape: z.array(count),
      offset: count,
      length: count,
    }),
  ),
});
type FisherIndex = z.infer<typeof FisherIndex>;

/** F_D of `model` over `data` (the training set), for `saveFisherCache`. */
export function computeFisherCache(
  model: LayersModel,
  groups: ParamGroup[],
  data: Dataset,
  opts: { kind: FisherCacheKind; rng?: Rng; batchSize?: number; cost?: CostCounter },
): FisherCache {
  const curv = computeCurvature(model, groups, data, {
    labels:
      opts.kind === 'fisher'
        ? 'true'
        : opts.kind === 'fisher-stratified'
          ? 'stratified'
          : 'sampled',
    rng: opts.rng,
    batchSize: opts.batchSize,
    gradient: false,
    diag: true,
    cost: opts.cost,
    set: 'train',
  });
  return {
    kind: opts.kind,
    n: data.length,
    weightsSha256: modelWeightsSha256(model),
    diag: curv.diag!,
  };
}

/** Writes `fisher.bin` then `fisher.json` into `dir`, each atomically. */
export function saveFisherCache(dir: string, groups: ParamGroup[], cache: FisherCache): void {
  const tensors: FisherIndex['tensors'] = [];
  let offset = 0;
  groups.forEach((g, gi) => {
    g.params.forEach((p, pi) => {
      const length = cache.diag[gi][pi].length;
      tensors.push({
        group: gi,
        param: pi,
        layer: p.layer,
        role: p.role,
        shape: p.variable.shape as number[],
        offset,
        length,
      });
      offset += length;
    });
  });
  const bin = new Float32Array(offset);
  for (const t of tensors) bin.set(cache.diag[t.group][t.param], t.offset);
  const bytes = new Uint8Array(bin.buffer);
  writeFileAtomic(path.join(dir, FISHER_BIN), bytes);
  const index: FisherIndex = {
    format: FORMAT,
    kind: cache.kind,
    n: cache.n,
    weightsSha256: cache.weightsSha256,
    binSha256: sha256(bytes),
    tensors,
  };
  writeJsonAtomic(path.join(dir, FISHER_JSON), index);
}

/**
 * `uib train --cache-fisher`: F_D of a just-trained model over its training set, written into
 * `dir` (the checkpoint's directory). Returns the time it took in ms.
 */
export function writeTrainingFisherCache(
  dir: string,
  model: LayersModel,
  train: Dataset,
  opts: { kind?: FisherCacheKind; rng: Rng; batchSize?: number; cost?: CostCounter },
): number {
  const t0 = performance.now();
  const groups = paramGroups(model);
  const cache = computeFisherCache(model, groups, train, {
    kind: opts.kind ?? 'fisher-stratified',
    rng: opts.rng,
    batchSize: opts.batchSize,
    cost: opts.cost,
  });
  saveFisherCache(dir, groups, cache);
  return performance.now() - t0;
}

/** Whether `dir` holds a Fisher cache (fisher.json); `loadFisherCache` says whether it is good. */
export function hasFisherCache(dir: string): boolean {
  return exists(path.join(dir, FISHER_JSON));
}

/**
 * Where a deletion run may find a cached F_D. The core asks only this (a page has none); on Node
 * it is the checkpoint directory's cache, `fisherCacheIn(dir)`.
 */
export interface FisherCacheSource {
  load(groups: ParamGroup[], model: LayersModel): FisherCache | null;
}

/** The cache beside the checkpoint in `dir` (read when a run asks for it; none is fine). */
export function fisherCacheIn(dir: string): FisherCacheSource {
  return { load: (groups, model) => loadFisherCache(dir, groups, model) };
}

/**
 * The cache in `dir`, checked against `model` (its weights) and the groups' shapes; null if there
 * is none. Every fault is a UsageError naming the file.
 */
export function loadFisherCache(
  dir: string,
  groups: ParamGroup[],
  model: LayersModel,
): FisherCache | null {
  const jsonPath = path.join(dir, FISHER_JSON);
  const binPath = path.join(dir, FISHER_BIN);
  if (!exists(jsonPath)) return null;
  const jsonBytes = readFileChecked(jsonPath, { maxBytes: FISHER_JSON_MAX_BYTES, within: dir });
  const raw = parseJsonChecked(jsonBytes.toString('utf8'), jsonPath);
  if (
    typeof raw === 'object' &&
    raw !== null &&
    (raw as { format?: unknown }).format === 'uib-fisher-1'
  )
    throw new UsageError(
      jsonPath,
      'was written by an older uib without the hashes that tie it to its weights; recompute it (uib train --cache-fisher) or pass useCache=false',
    );
  const r = FisherIndex.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(jsonPath, `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const index = r.data;
  // A cache computed at other weights than the model's would give a wrong prior, silently.
  const weights = modelWeightsSha256(model);
  if (index.weightsSha256 !== weights)
    throw new UsageError(
      jsonPath,
      `was computed for weights ${index.weightsSha256.slice(0, 12)}…; the model's are ${weights.slice(0, 12)}… (a cache of another model: recompute it, or pass useCache=false)`,
    );
  const count = groups.reduce((s, g) => s + g.params.length, 0);
  if (index.tensors.length !== count)
    throw new UsageError(jsonPath, `lists ${index.tensors.length} tensors; the model has ${count}`);
  let total = 0;
  for (const t of index.tensors) {
    const p = groups[t.group]?.params[t.param];
    const shape = p ? (p.variable.shape as number[]) : [];
    const size = p ? shape.reduce((a, b) => a * b, 1) : -1;
    if (
      !p ||
      p.layer !== t.layer ||
      p.role !== t.role ||
      size !== t.length ||
      shape.join(',') !== t.shape.join(',') ||
      t.offset !== total
    )
      throw new UsageError(
        jsonPath,
        `tensor ${t.layer}/${t.role} (group ${t.group}, param ${t.param}, offset ${t.offset}) does not match the model's parameters`,
      );
    total += t.length;
  }
  const buf = readFileChecked(binPath, {
    maxBytes: 4 * total,
    expectBytes: 4 * total,
    within: dir,
    missing: `missing (${FISHER_JSON} is here)`,
  });
  const binSha256 = sha256(buf);
  if (binSha256 !== index.binSha256)
    throw new UsageError(
      binPath,
      `SHA-256 ${binSha256.slice(0, 12)}… differs from ${FISHER_JSON}'s ${index.binSha256.slice(0, 12)}… (damaged or replaced)`,
    );
  const bin = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  for (let i = 0; i < bin.length; i++) {
    if (!(bin[i] >= 0) || bin[i] === Number.POSITIVE_INFINITY)
      throw new UsageError(binPath, `value ${i} is ${bin[i]}; a diagonal Fisher is finite and ≥ 0`);
  }
  const diag = groups.map((g) => g.params.map(() => new Float32Array(0)));
  for (const t of index.tensors) diag[t.group][t.param] = bin.slice(t.offset, t.offset + t.length);
  return {
    kind: index.kind,
    n: index.n,
    weightsSha256: index.weightsSha256,
    diag,
    files: { file: jsonPath, jsonSha256: sha256(jsonBytes), binSha256 },
  };
}
