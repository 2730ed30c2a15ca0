/**
 * What the scenario kinds share: the contexts they are given, the plan they return (which samples
 * are forgotten, patterned, coloured), and the helpers that materialise in-memory copies.
 */
import { UsageError } from '../../core/errors.ts';
import { corruptSample, stampPatch } from '../corruptions/index.ts';
import { type DataSource, type Dataset, type SampleMeta, sampleSize } from '../dataset.ts';
import type { HeldOutPool } from '../subset.ts';
import type { Manifest, ScenarioParams } from './manifest.ts';

/** The data a scenario is built on: source splits and the (possibly subset) train/test views. */
export interface BuildContext {
  seed: number;
  datasetId: string;
  trainSource: DataSource;
  testSource: DataSource;
  /** Training set D, a view over `trainSource` in ascending source order. */
  train: Dataset;
  test: Dataset;
}

/** A kind's decisions, all as ascending source indices (colours: one id per train/test position). */
export interface Plan {
  forget: number[];
  patterned: { train: number[]; test: number[] } | null;
  colours: { train: number[]; test: number[] } | null;
}

/** A kind's materialised views; `train` is aligned with `indices.train`, `test` with `indices.test`. */
export interface Parts {
  train: Dataset;
  test: Dataset;
  /** bias, pattern: the test set with the pattern on `patterned.test` (label-independent); meta.bias. */
  biasedTest?: Dataset;
  /** backdoor: the test samples not of the target class, stamped, true labels kept; meta.bias = 1. */
  triggerTest?: Dataset;
  /**
   * colour, shortcut: where held-out data beside `test` comes from (`heldOutBeside`), since their
   * `test` is a copy with nothing beside it. Absent where `test` is a view over the raw split.
   */
  heldOut?: HeldOutPool;
}

export interface ScenarioKind<P extends ScenarioParams = ScenarioParams> {
  readonly id: P['kind'];
  readonly summary: string;
  plan(ctx: BuildContext, p: P): Plan;
  materialise(ctx: BuildContext, p: P, m: Manifest): Parts;
}

export function checkClass(ctx: BuildContext, k: number, field: string): void {
  if (!(k >= 0 && k < ctx.trainSource.numClasses)) {
    throw new UsageError(
      field,
      `unknown class ${k}; ${ctx.datasetId} has classes 0-${ctx.trainSource.numClasses - 1}`,
    );
  }
}

export function requireNonEmptyForget(forget: readonly number[], why: string): void {
  if (forget.length === 0) throw new UsageError('scenario', `empty forget set: ${why}`);
}

/** Positions (in `ds`) of the samples whose label is / is not `k`. */
export function positionsByClass(ds: Dataset, k: number): { inK: number[]; notK: number[] } {
  const inK: number[] = [];
  const notK: number[] = [];
  for (let i = 0; i < ds.length; i++) (ds.label(i) === k ? inK : notK).push(i);
  return { inK, notK };
}

/** Source indices of `ds`'s samples at `positions`, ascending. */
export function toSource(ds: Dataset, positions: readonly number[]): number[] {
  return positions.map((p) => ds.at(p)).sort((a, b) => a - b);
}

export function requireImages(ctx: BuildContext, kind: string): void {
  if (ctx.trainSource.sampleShape.length !== 3) {
    throw new UsageError('--kind', `${kind} needs an image data set; ${ctx.datasetId} is tabular`);
  }
}

/** MNIST-C corruptions are defined on grey images; the patch works on any image. */
export function requirePatternFits(
  ctx: BuildContext,
  name: string,
  { flag = '--corruption', kind = 'a pattern scenario', others = 'patch' } = {},
): void {
  requireImages(ctx, kind);
  const channels = ctx.trainSource.sampleShape[2];
  if (name !== 'patch' && channels !== 1) {
    throw new UsageError(
      flag,
      `MNIST-C corruption ${name} needs grey images; ${ctx.datasetId} has ${channels} channels (use ${others})`,
    );
  }
}

/**
 * A new in-memory source holding `view`'s samples in view order, with `meta.sourceIndex` set to
 * the original source indices. `edit(pos, sample)` may change a sample's bytes in place and
 * return a new label. Only the copy is touched, never the shared source buffer.
 */
export function compactCopy(
  view: Dataset,
  name: string,
  opts: {
    meta?: SampleMeta;
    edit?: (pos: number, sample: Uint8Array) => number | undefined;
  } = {},
): DataSource {
  const src = view.source;
  if (!(src.x instanceof Uint8Array)) throw new Error('compactCopy: image sources only');
  const size = sampleSize(src.sampleShape);
  const n = view.length;
  const x = new Uint8Array(n * size);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = view.at(i);
    x.set(src.x.subarray(s * size, (s + 1) * size), i * size);
    y[i] = src.y[s];
    if (opts.edit) {
      const relabel = opts.edit(i, x.subarray(i * size, (i + 1) * size));
      if (relabel !== undefined) y[i] = relabel;
    }
  }
  return {
    name,
    sampleShape: src.sampleShape,
    x,
    scale: src.scale,
    y,
    numClasses: src.numClasses,
    classNames: src.classNames,
    meta: { ...opts.meta, sourceIndex: view.sourceIndices() },
  };
}

/** Apply a pattern (MNIST-C corruption or the patch) to one sample in place. */
export function applyPattern(
  name: string,
  sample: Uint8Array,
  shape: readonly number[],
  seed: number,
  split: string,
  sourceIndex: number,
): void {
  const [h, w, c] = shape;
  const out =
    name === 'patch'
      ? stampPatch(sample, h, w, c)
      : corruptSample(
          name as Parameters<typeof corruptSample>[0],
          sample,
          h,
          w,
          seed,
          split,
          sourceIndex,
        );
  if (out !== sample) sample.set(out);
}

/**
 * A copy of `view` with `name` applied to the samples whose source index is in `patterned`;
 * meta.bias marks them, meta.corruption = 1 names the pattern.
 */
export function patternedCopy(
  view: Dataset,
  label: string,
  name: string,
  patterned: readonly number[],
  seed: number,
  split: string,
): DataSource {
  const marked = new Set(patterned);
  const bias = new Uint8Array(view.length);
  const shape = view.sampleShape;
  return compactCopy(view, label, {
    meta: { bias, corruption: bias, corruptionNames: ['clean', name] },
    edit: (pos, sample) => {
      const s = view.at(pos);
      if (!marked.has(s)) return undefined;
      bias[pos] = 1;
      applyPattern(name, sample, shape, seed, split, s);
      return undefined;
    },
  });
}
