/**
 * The native addon (native/uib_native.cc + uib's threads), built by `npm ci` when the machine has
 * a C++ compiler: its matrix products are OpenBLAS sgemm where libopenblas-dev is installed, else
 * uib's own GEMM (native/sgemm.cc); `nativeBlas()` says which (native/build.mjs picks). Optional:
 * when it is absent, fails to load, or UIB_NATIVE=0, `nativeAddon()` is undefined and the wasm
 * kernels run instead. UIB_NATIVE_ADDON=path loads another build of it (tests, benchmarks: e.g.
 * native/build-builtin/build/Release/uib_native.node from `UIB_BLAS=builtin node native/build.mjs
 * --out native/build-builtin`).
 *
 * Every function works in place on the wasm heap: `heap` is the backend's HEAPF32 and each tensor
 * is passed as the index of its first float in it.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../../core/errors.ts';

export interface NativeAddon {
  /** c[i] = op(a[i])·op(b[i]) (+ bias per column) (relu); strides 0 broadcast over the batch. */
  matMul(
    heap: Float32Array,
    transposeA: number,
    transposeB: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    strideA: number,
    strideB: number,
    bias: number,
    relu: number,
  ): void;
  conv2d(
    heap: Float32Array,
    x: number,
    filter: number,
    y: number,
    bias: number,
    relu: number,
    ...geometry: number[]
  ): void;
  conv2dBackpropInput(
    heap: Float32Array,
    dy: number,
    filter: number,
    dx: number,
    ...geometry: number[]
  ): void;
  conv2dBackpropFilter(
    heap: Float32Array,
    x: number,
    dy: number,
    dw: number,
    ...geometry: number[]
  ): void;
  maxPoolGrad(heap: Float32Array, x: number, dy: number, dx: number, ...geometry: number[]): void;
  /** The maximum of each window (NaN never wins), geometry as maxPoolGrad's. */
  maxPool(heap: Float32Array, x: number, out: number, ...geometry: number[]): void;
  /** out = a ∘ b over n floats of one shape; ∘ = + − × ÷ for op 0..3. */
  elementwise(heap: Float32Array, op: number, a: number, b: number, out: number, n: number): void;
  /** out = max(0, x) over n floats, as Math.max: NaN stays NaN, −0 becomes 0. */
  relu(heap: Float32Array, x: number, out: number, n: number): void;
  /** out[c] = scale · Σ_r x[r, c]. */
  sumRows(
    heap: Float32Array,
    x: number,
    out: number,
    rows: number,
    cols: number,
    scale: number,
  ): void;
  /** out[r, c] = full[r, c] ∘ vec[c] (vec[c] ∘ full[r, c] when vecFirst); ∘ = + − × ÷ for op 0..3. */
  broadcastRows(
    heap: Float32Array,
    op: number,
    full: number,
    vec: number,
    out: number,
    rows: number,
    cols: number,
    vecFirst: number,
  ): void;
  /** Per column of x (rows × cols): mean and biased variance. */
  moments(
    heap: Float32Array,
    x: number,
    mean: number,
    variance: number,
    rows: number,
    cols: number,
  ): void;
  /** dx = dmean/N + dvariance · 2(x − mean)/N, per column. */
  momentsGrad(heap: Float32Array, dmean: number, dvariance: number, ...rest: number[]): void;
  /** y = (x − mean) · rsqrt(variance + eps) · scale + offset (−1: none), per column. */
  batchNorm(heap: Float32Array, x: number, mean: number, variance: number, ...rest: number[]): void;
  /** The gradients of batchNorm for x, mean, variance, scale and offset (see uib_native.cc). */
  batchNormGrad(heap: Float32Array, ...rest: number[]): void;
  /** out = dy · step(x) over n floats (a relu's gradient; step is NaN at NaN, as in tfjs). */
  reluGrad(heap: Float32Array, dy: number, x: number, out: number, n: number): void;
  /** out = Σ_b (im2col(x_b)ᵀ·dy_b)²: per-example squared conv filter gradients, summed. */
  convSquaredGrad(
    heap: Float32Array,
    x: number,
    dy: number,
    out: number,
    ...geometry: number[]
  ): void;
  /**
   * One MaskedOptimizer step on one variable of n floats (kind 0 Adam, 1 SGD; m −1: no momentum),
   * m and v updated in place, the new θ written to `out`; `maskByte` is a bool mask's byte offset
   * in the heap (−1: none). Hyper-parameters: lr, weight decay, β1 (or momentum), β2, the bias
   * corrections c1 and c2, ε.
   */
  optimizerStep(
    heap: Float32Array,
    kind: number,
    n: number,
    theta: number,
    grad: number,
    m: number,
    v: number,
    out: number,
    maskByte: number,
    ...hyper: number[]
  ): void;
  /**
   * Threads for every later call, and the least work (multiply-adds or element visits, default
   * 2²²) worth splitting over them; tests pass 0 to split even tiny cases. Neither changes a
   * result's bits: the work is cut into pieces fixed by the shape (native/uib_native.cc).
   */
  setThreads(n: number, minParallelWork?: number): void;
  /**
   * LAPACK's dsyevd on the symmetric part of the row-major n×n `a`: `values` ascending, `vectors`
   * row-major with column j the eigenvector of values[j]; false (nothing written) without LAPACK
   * (uib's own GEMM), on a non-finite entry or a LAPACK failure. Absent from older builds.
   */
  symmetricEigen?(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): boolean;
  /**
   * Row-major float64 c[r×n] = op(a)·op(b) on one thread (cblas_dgemm); false (nothing written) on
   * uib's own GEMM or an empty dimension. Absent from older builds.
   */
  dgemm?(
    a: Float64Array,
    b: Float64Array,
    c: Float64Array,
    r: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): boolean;
  /** The BLAS's description: OpenBLAS's build line (version, target CPU), or uib's GEMM and kernel. */
  config(): string;
  /** The BLAS the addon was built with (native/build.mjs): the system OpenBLAS or uib's own GEMM. */
  blas(): NativeBlas;
  /** The micro-kernel products run on: uib's `avx512`, `avx2` or `portable`, or OpenBLAS's core. */
  gemmKernel(): string;
  /**
   * uib's GEMM only (tests, benchmarks): run every later product on that micro-kernel; false (no
   * change) when the CPU lacks it or the addon is built with OpenBLAS.
   */
  selectGemmKernel(name: string): boolean;
  /**
   * One single-threaded row-major product c = op(a)·op(b) + beta·c (beta 0 does not read c)
   * through the addon's BLAS, as its kernels call it; lda, ldb, ldc are row strides in floats.
   */
  sgemm(
    heap: Float32Array,
    transposeA: number,
    transposeB: number,
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): void;
}

/** `openblas`: the system OpenBLAS; `builtin`: uib's own GEMM (native/sgemm.cc). */
export type NativeBlas = 'openblas' | 'builtin';

/** The build `npm ci` makes (native/build.mjs), relative to this file. */
const ADDON_PATH = '../../../native/build/Release/uib_native.node';

let loaded: { addon?: NativeAddon; reason?: string } | undefined;

/** The addon, or undefined (then `nativeUnavailableReason()` says why). Loads it once. */
export function nativeAddon(): NativeAddon | undefined {
  if (loaded === undefined) loaded = load();
  return loaded.addon;
}

export function nativeUnavailableReason(): string | undefined {
  nativeAddon();
  return loaded?.reason;
}

/** The BLAS of the addon in use, or undefined when there is none. */
export function nativeBlas(): NativeBlas | undefined {
  return nativeAddon()?.blas();
}

function load(): { addon?: NativeAddon; reason?: string } {
  if (process.env.UIB_NATIVE === '0') return { reason: 'disabled by UIB_NATIVE=0' };
  const chosen = process.env.UIB_NATIVE_ADDON;
  const file = chosen ? path.resolve(chosen) : ADDON_PATH;
  const shown = chosen ? `UIB_NATIVE_ADDON=${chosen}` : 'native/build/Release/uib_native.node';
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { reason: `${shown} did not load (${msg})` };
  }
  // A build from before the two BLAS routes has no blas(): it is OpenBLAS's.
  if (typeof addon.blas !== 'function') addon = { ...addon, blas: () => 'openblas' };
  const setThreads = addon.setThreads;
  // Every later setThreads (tests, benchmarks) also updates nativeThreads(), so that a record
  // names the thread count its kernels ran with.
  const tracked: NativeAddon = {
    ...addon,
    setThreads(n: number, minParallelWork?: number) {
      if (minParallelWork === undefined) setThreads(n);
      else setThreads(n, minParallelWork);
      threadsSet = n;
    },
  };
  tracked.setThreads(threadsFromEnv());
  return { addon: tracked };
}

let threadsSet = 1;

/** The addon's thread count: UIB_THREADS (else every core) at load, or its last setThreads. */
export function nativeThreads(): number {
  nativeAddon();
  return threadsSet;
}

/** UIB_THREADS (a positive integer), else every core this process may use. */
export function threadsFromEnv(): number {
  const env = process.env.UIB_THREADS;
  if (env === undefined || env === '') return os.availableParallelism();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      'UIB_THREADS',
      `must be a positive integer (threads for the native kernels); got "${env}"`,
    );
  }
  return n;
}
