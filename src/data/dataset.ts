/**
 * The dataset abstraction every other layer reads.
 *
 * A `DataSource` owns the bytes (images as uint8 or float32, sample-major; labels; per-sample
 * metadata). A `Dataset` is a *view*: a source plus an optional list of sample indices, so forget /
 * retain / test splits of the 60k MNIST set cost one Uint32Array each, never a copy of the pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';

export type Features = Uint8Array | Float32Array;
export type Labels = Uint8Array | Uint16Array | Int32Array;

/** Per-sample metadata, each array indexed like the source's samples. */
export interface SampleMeta {
  /** Index of the sample in the file it was read from. */
  sourceIndex?: Uint32Array;
  /** Corruption applied to the sample: index into `corruptionNames`; 0 means clean. */
  corruption?: Uint8Array;
  corruptionNames?: readonly string[];
  /** Bias attribute b(x) ∈ {0,1} (pattern present, colour aligned, trigger stamped...). */
  bias?: Uint8Array;
  /** Subgroup id (tabular demographics); names in `groupNames`. */
  group?: Uint8Array;
  groupNames?: readonly string[];
}

export interface DataSource {
  /** e.g. `mnist/train`, `fashion-mnist/test`, `cps-wages`. */
  readonly name: string;
  /** Shape of one sample: `[h, w, c]` (NHWC, tfjs's layout) for images, `[d]` for tabular rows. */
  readonly sampleShape: readonly number[];
  /** All samples, sample-major: sample i occupies `[i*size, (i+1)*size)`. */
  readonly x: Features;
  /** Model input = x * scale (1/255 for bytes, 1 for floats). */
  readonly scale: number;
  readonly y: Labels;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  readonly meta: SampleMeta;
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Dataset {
  readonly source: DataSource;
  /** Source indices of this view's samples; `null` means all samples in order. */
  readonly indices: Uint32Array | null;
  readonly name: string;

  constructor(source: DataSource, indices: Uint32Array | null = null, name?: string) {
    this.source = source;
    this.indices = indices;
    this.name = name ?? source.name;
    if (indices) {
      const n = source.y.length;
      for (let i = 0; i < indices.length; i++) {
        if (indices[i] >= n) {
          throw new UsageError(
            this.name,
            `sample index ${indices[i]} out of range (source has ${n})`,
          );
        }
      }
    }
  }

  get length(): number {
    return this.indices ? this.indices.length : this.source.y.length;
  }
  get sampleShape(): readonly number[] {
    return this.source.sampleShape;
  }
  get numClasses(): number {
    return this.source.numClasses;
  }

  /** Source index of the view's i-th sample. */
  at(i: number): number {
    return this.indices ? this.indices[i] : i;
  }

  label(i: number): number {
    return this.source.y[this.at(i)];
  }

  /** Labels of the whole view, as a new Int32Array. */
  labels(): Int32Array {
    const out = new Int32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.source.y[this.at(i)];
    return out;
  }

  /** Source indices of the whole view, as a new Uint32Array. */
  sourceIndices(): Uint32Array {
    if (this.indices) return this.indices.slice();
    const out = new Uint32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = i;
    return out;
  }

  /** A view of some of this view's samples (positions are relative to this view). */
  subset(positions: ArrayLike<number>, name?: string): Dataset {
    const idx = new Uint32Array(positions.length);
    for (let i = 0; i < idx.length; i++) {
      const p = positions[i];
      if (!(p >= 0 && p < this.length) || !Number.isInteger(p)) {
        throw new UsageError(
          name ?? this.name,
          `position ${p} out of range (view has ${this.length})`,
        );
      }
      idx[i] = this.at(p);
    }
    return new Dataset(this.source, idx, name ?? this.name);
  }

  /** The first n samples. */
  take(n: number, name?: string): Dataset {
    const m = Math.min(n, this.length);
    const pos = new Uint32Array(m);
    for (let i = 0; i < m; i++) pos[i] = i;
    return this.subset(pos, name);
  }

  /** Gather samples as model-ready floats (x*scale) and int labels. */
  gather(positions: ArrayLike<number>): { x: Float32Array; y: Int32Array } {
    const size = sampleSize(this.source.sampleShape);
    const { x: src, scale, y: ys } = this.source;
    const x = new Float32Array(positions.length * size);
    const y = new Int32Array(positions.length);
    for (let b = 0; b < positions.length; b++) {
      const s = this.at(positions[b]);
      y[b] = ys[s];
      const off = s * size;
      const dst = b * size;
      // Floats at scale 1 are copied as a block; otherwise one loop per element type, so that
      // neither indexes a union of typed arrays (a megamorphic access: ~7× slower per batch).
      if (src instanceof Float32Array) {
        if (scale === 1) x.set(src.subarray(off, off + size), dst);
        else scaleFloats(src, off, x, dst, size, scale);
      } else scaleBytes(src, off, x, dst, size, scale);
    }
    return { x, y };
  }

  /** Tensors for some positions (all if omitted): `xs` is [b, ...sampleShape] float32, `ys` [b] int32. */
  tensors(positions?: ArrayLike<number>): { xs: tf.Tensor; ys: tf.Tensor1D } {
    const pos = positions ?? Uint32Array.from({ length: this.length }, (_, i) => i);
    const { x, y } = this.gather(pos);
    return {
      xs: tf.tensor(x, [pos.length, ...this.source.sampleShape], 'float32'),
      ys: tf.tensor1d(y, 'int32'),
    };
  }

  /**
   * Positions split into batches of `batchSize` (the last may be shorter); shuffled by `rng` when given.
   */
  batches(batchSize: number, rng?: Rng): Uint32Array[] {
    const order = new Uint32Array(this.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (rng) rng.shuffle(order);
    const out: Uint32Array[] = [];
    for (let i = 0; i < order.length; i += batchSize) out.push(order.subarray(i, i + batchSize));
    return out;
  }
}

/**
 * A dataset from the caller's own arrays: `x` sample-major (uint8 pixels are scaled by 1/255, as
 * uib's loaders do; floats are taken as they are), integer labels in [0, numClasses). Checked: the
 * sizes agree and every label is in range; a fault is a UsageError naming the field.
 */
export function datasetFromArrays(data: {
  x: Features;
  y: ArrayLike<number>;
  sampleShape: readonly number[];
  numClasses: number;
  name?: string;
  classNames?: readonly string[];
}): Dataset {
  const name = data.name ?? 'data';
  const size = sampleSize(data.sampleShape);
  if (!(size > 0) || !data.sampleShape.every((d) => Number.isInteger(d) && d > 0))
    throw new UsageError(
      `${name}.sampleShape`,
      `must be positive integers; got [${data.sampleShape}]`,
    );
  const n = data.y.length;
  if (data.x.length !== n * size)
    throw new UsageError(
      `${name}.x`,
      `holds ${data.x.length} values; ${n} labels × ${size} per sample need ${n * size}`,
    );
  if (!Number.isInteger(data.numClasses) || data.numClasses < 2)
    throw new UsageError(`${name}.numClasses`, `must be an integer ≥ 2; got ${data.numClasses}`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = data.y[i];
    if (!Number.isInteger(v) || v < 0 || v >= data.numClasses)
      throw new UsageError(
        `${name}.y`,
        `label ${i} is ${v}; labels are integers in [0, ${data.numClasses})`,
      );
    y[i] = v;
  }
  if (data.classNames && data.classNames.length !== data.numClasses)
    throw new UsageError(
      `${name}.classNames`,
      `has ${data.classNames.length} names for ${data.numClasses} classes`,
    );
  const source: DataSource = {
    name,
    sampleShape: [...data.sampleShape],
    x: data.x,
    scale: data.x instanceof Uint8Array ? 1 / 255 : 1,
    y,
    numClasses: data.numClasses,
    ...(data.classNames && { classNames: [...data.classNames] }),
    meta: {},
  };
  return new Dataset(source, null, name);
}

function scaleFloats(
  src: Float32Array,
  off: number,
  x: Float32Array,
  dst: number,
  size: number,
  scale: number,
): void {
  for (let j = 0; j < size; j++) x[dst + j] = src[off + j] * scale;
}

function scaleBytes(
  src: Uint8Array,
  off: number,
  x: Float32Array,
  dst: number,
  size: number,
  scale: number,
): void {
  for (let j = 0; j < size; j++) x[dst + j] = src[off + j] * scale;
}
