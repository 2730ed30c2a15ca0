/**
 * What fixes a result's bits besides the seed: the backend, the kernel route inside it (and, on
 * the native route, the BLAS its products run on), the thread count of that route, and the
 * versions. Every record and result carries this block (docs/reliability.md, "Reproducibility"):
 * the same seed on the same four gives the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type NativeBlas, nativeAddon, nativeBlas, nativeThreads } from './native/addon.ts';
import { nativeKernelsActive } from './wasm/kernels.ts';

export interface ComputeEnvironment {
  /** The tfjs backend in use: wasm, cpu, webgpu, tensorflow. */
  backend: string;
  /**
   * The kernels the heavy ops run on: `native` (uib's addon, wasm backend), `wasm` (XNNPACK and
   * uib's wasm kernels), or the backend's own (`cpu`, `webgpu`, `tensorflow`).
   */
  route: string;
  /**
   * The native route's matrix products: `openblas` (the system OpenBLAS) or `builtin` (uib's own
   * GEMM, built where the machine has no OpenBLAS; native/build.mjs). Null off the native route.
   * The two differ in the last bits.
   */
  blas: NativeBlas | null;
  /** Threads of that route (1 where it runs on one). */
  threads: number;
  /** Whether the native addon ran the heavy kernels. */
  addon: boolean;
  tfjs: string;
  node: string;
}

export function computeEnvironment(): ComputeEnvironment {
  const backend = tf.engine().backendName ?? 'none';
  const addon = backend === 'wasm' && nativeKernelsActive() && nativeAddon() !== undefined;
  return {
    backend,
    route: backend === 'wasm' ? (addon ? 'native' : 'wasm') : backend,
    blas: addon ? (nativeBlas() ?? null) : null,
    threads: addon ? nativeThreads() : 1,
    addon,
    tfjs: tf.version_core,
    node: process.versions.node,
  };
}

/** A route as an environment block gives it; `blas` may be absent (blocks written before it). */
type RouteOf = Pick<ComputeEnvironment, 'backend' | 'route'> & {
  blas?: ComputeEnvironment['blas'];
};

const BLAS_NAMES: Record<NativeBlas, string> = { openblas: 'OpenBLAS', builtin: 'built-in GEMM' };

/**
 * "wasm with the native addon (OpenBLAS)", "wasm with the native addon (built-in GEMM)",
 * "wasm with the wasm kernels", "cpu". A block without `blas` gives "the native addon".
 */
export function describeRoute(e: RouteOf): string {
  if (e.route === e.backend && e.route !== 'wasm') return e.backend;
  if (e.route !== 'native') return `${e.backend} with the ${e.route} kernels`;
  const blas = e.blas ? BLAS_NAMES[e.blas] : undefined;
  return `${e.backend} with the native addon${blas ? ` (${blas})` : ''}`;
}

/** "wasm with the native addon (OpenBLAS), 2 threads": one line for messages and reports. */
export function describeEnvironment(e: RouteOf & Pick<ComputeEnvironment, 'threads'>): string {
  return `${describeRoute(e)}, ${e.threads} thread${e.threads === 1 ? '' : 's'}`;
}
