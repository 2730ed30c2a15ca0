/**
 * What uib's wasm kernels are built from: the stock tfjs-wasm kernels (XNNPACK convolutions and
 * matrix products, transposes, …), called at the backend level on `TensorInfo`s, and plain loops
 * over the wasm heap for the data movement no stock kernel does (im2col, col2im, segment sums).
 * Intermediates are freed with `free` as soon as they are used, so a kernel leaves only its output.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export type { BackendWasm };
export type Attrs = tf.NamedAttrMap;
/** What tfjs hands a wasm kernel (and a native kernel over it, ../native/kernels.ts). */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Attrs };

/** The stock kernels that uib replaces, captured before they are replaced (see kernels.ts). */
const stock = new Map<string, tf.KernelConfig>();

export function captureStock(kernelName: string): tf.KernelConfig | undefined {
  const current = tf.getKernel(kernelName, 'wasm');
  if (!stock.has(kernelName) && current !== undefined && !isUib(current)) {
    stock.set(kernelName, current);
  }
  return stock.get(kernelName);
}

const UIB = Symbol('uib-kernel');
export function markUib(config: tf.KernelConfig): tf.KernelConfig {
  return Object.assign(config, { [UIB]: true });
}
function isUib(config: tf.KernelConfig): boolean {
  return (config as unknown as Record<symbol, unknown>)[UIB] === true;
}

/** Runs the stock wasm kernel `name` (not uib's replacement of it). */
export function runStock(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: Attrs = {},
): tf.TensorInfo {
  const config = stock.get(name) ?? tf.getKernel(name, 'wasm');
  if (config === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/**
 * An output that shares `x`'s data under a reference count, without a copy (Identity, and Cast to
 * the dtype it has): no wasm kernel writes into its inputs.
 */
export function shareData(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function free(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/**
 * A Float32Array view of a tensor on the wasm heap. Take views only after the last allocation:
 * growing the heap detaches them.
 */
export function heapF32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** The whole wasm heap as floats; index of a tensor's first element in it. Same caveat as heapF32. */
export function heap(backend: BackendWasm): Float32Array {
  return (backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
}
export function heapIndex(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId) / 4;
}

export function reshapeInfo(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Rows [r0, r0 + n) of t seen as (rows, width); the tensor itself when that is all of it. */
export function sliceRows(
  backend: BackendWasm,
  t: tf.TensorInfo,
  r0: number,
  n: number,
  width: number,
): tf.TensorInfo {
  const total = tf.util.sizeFromShape(t.shape) / width;
  if (r0 === 0 && n === total) return reshapeInfo(t, [n, width]);
  return runStock(
    'Slice',
    backend,
    { x: reshapeInfo(t, [total, width]) },
    { begin: [r0, 0], size: [n, width] },
  );
}

/** a·b for 2-D operands, never transposed (XNNPACK; transposed products are ~7x slower). */
export function matMul2d(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const out = runStock(
    'BatchMatMul',
    backend,
    { a: reshapeInfo(a, [1, ...a.shape]), b: reshapeInfo(b, [1, ...b.shape]) },
    { transposeA: false, transposeB: false },
  );
  return reshapeInfo(out, [a.shape[0], b.shape[1]]);
}

export function transpose(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return runStock('Transpose', backend, { x }, { perm });
}

/** Batch chunk size that keeps an im2col buffer of `perSample` floats per sample under ~32 MB. */
export function batchChunk(batch: number, perSample: number): number {
  const maxFloats = 8 * 1024 * 1024;
  return Math.max(1, Math.min(batch, Math.floor(maxFloats / Math.max(1, perSample))));
}

/**
 * The geometry of a Conv2DBackpropInput/Filter call: `xShape` is the forward input's, dilation is
 * 1 (the attrs carry none). NHWC only.
 */
export function backpropConvInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  kernel: string,
): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') {
    throw new Error(`uib's wasm ${kernel} supports NHWC only; got dataFormat ${info.dataFormat}`);
  }
  return info;
}

/** The pooling windows of a MaxPoolGrad call on `input`. */
export function maxPoolGradInfo(input: tf.TensorInfo, attrs: Attrs): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  return tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
}

/** The stock (XNNPACK) NHWC Conv2D at stride 1, with explicit padding [top, bottom, left, right]. */
export function stockConv2d(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  [pt, pb, pl, pr]: number[],
  dilations: [number, number],
): tf.TensorInfo {
  return runStock(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      dilations,
      pad: [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined as unknown as string,
    },
  );
}

/** Swaps the last two axes: a transpose that XNNPACK's untransposed product can then consume. */
export function swapLastTwo(backend: BackendWasm, t: tf.TensorInfo): tf.TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose(backend, t, perm);
}

/**
 * Runs the stock matrix-product kernel `name` with transposeA/transposeB made explicit: the
 * flagged operands are transposed first (cheap, memory-bound) and the product runs untransposed.
 */
export function runUntransposed(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: Attrs,
): tf.TensorInfo {
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  if (!attrs.transposeA && !attrs.transposeB) return runStock(name, backend, inputs, attrs);
  const a2 = attrs.transposeA ? swapLastTwo(backend, a) : a;
  const b2 = attrs.transposeB ? swapLastTwo(backend, b) : b;
  const out = runStock(
    name,
    backend,
    { ...inputs, a: a2, b: b2 },
    { ...attrs, transposeA: false, transposeB: false },
  );
  if (a2 !== a) free(backend, a2);
  if (b2 !== b) free(backend, b2);
  return out;
}
