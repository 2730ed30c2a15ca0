/**
 * What fixes a result's bits besides the seed: the backend, the kernel route inside it, the
 * thread count of that route, and the versions. Every record and result carries this block
 * (docs/reliability.md, "Reproducibility"): the same seed on the same four gives the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeAddon, nativeThreads } from './native/addon.ts';
import { nativeKernelsActive } from './wasm/kernels.ts';

export interface ComputeEnvironment {
  /** The tfjs backend in use: wasm, cpu, webgpu, tensorflow. */
  backend: string;
  /**
   * The kernels the heavy ops run on: `native` (uib's addon over OpenBLAS, wasm backend),
   * `wasm` (XNNPACK and uib's wasm kernels), or the backend's own (`cpu`, `webgpu`, `tensorflow`).
   */
  route: string;
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
    threads: addon ? nativeThreads() : 1,
    addon,
    tfjs: tf.version_core,
    node: process.versions.node,
  };
}

/** "wasm with the native addon", "wasm with the wasm kernels", "cpu". */
export function describeRoute(e: Pick<ComputeEnvironment, 'backend' | 'route'>): string {
  if (e.route === e.backend) return e.backend;
  return `${e.backend} with ${e.route === 'native' ? 'the native addon' : `the ${e.route} kernels`}`;
}

/** "wasm with the native addon, 2 threads": one line for messages and reports. */
export function describeEnvironment(
  e: Pick<ComputeEnvironment, 'backend' | 'route' | 'threads'>,
): string {
  return `${describeRoute(e)}, ${e.threads} thread${e.threads === 1 ? '' : 's'}`;
}
