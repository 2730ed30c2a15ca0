/**
 * The kernels uib registers for tfjs-wasm 4.22, one file each. Two kinds:
 *
 *   missing   kernels the stock backend lacks, without which training fails
 *             ("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'")
 *   faster    stock kernels replaced by a faster route (through XNNPACK, or plain heap copies);
 *             the stock kernel stays reachable (base.ts `runStock`) and its setup still runs
 *
 * Each is tested against the cpu backend in tests/backend/wasm/ and tests/backend/native/. Found by
 * running training steps of the project's models (tests/backend/wasm/train-step.test.ts) and by
 * profiling them (src/backend/profile.ts). A user's model with DepthwiseConv2D or SeparableConv2D
 * needs DepthwiseConv2dNativeBackpropFilter/Input, which tfjs-wasm also lacks: they run tfjs's cpu
 * kernel on copies (./via-cpu.ts). Einsum is missing too and needed by nothing, so not registered.
 *
 * Over these, on Node with the native addon built, ../native/route.ts passes the native kernels
 * of ../native/kernels.ts as an overlay; each falls back to the kernel below it (uib's or stock)
 * for the cases it does not handle. This module imports nothing of the native route (a page
 * registers the wasm kernels alone).
 *
 * Registering also installs, once, what works above the kernels while wasm runs: a fused conv2d
 * whose gradient skips inputs that need none (./fused-conv2d.ts), a relu gradient of one kernel
 * (./relu-grad.ts), and on the native route BatchNorm's moments and gradient
 * (../native/batch-norm.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native/addon.ts';
import type { NATIVE_KERNELS } from '../native/kernels.ts';
import { patchesAllowed } from '../patch-guard.ts';
import { captureStock, markUib } from './base.ts';
import { batchMatMulConfig } from './batch-mat-mul.ts';
import { castConfig } from './cast.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { installFusedConv2d } from './fused-conv2d.ts';
import { fusedMatMulConfig } from './fused-mat-mul.ts';
import { identityConfig } from './identity.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { installReluGrad, reluGradConfig } from './relu-grad.ts';
import { tileConfig } from './tile.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './via-cpu.ts';

export const WASM_KERNELS: readonly { config: tf.KernelConfig; kind: 'missing' | 'faster' }[] = [
  { config: conv2DBackpropFilterConfig, kind: 'missing' },
  { config: unsortedSegmentSumConfig, kind: 'missing' },
  { config: depthwiseBackpropInputConfig, kind: 'missing' },
  { config: depthwiseBackpropFilterConfig, kind: 'missing' },
  { config: conv2DBackpropInputConfig, kind: 'faster' },
  { config: batchMatMulConfig, kind: 'faster' },
  { config: fusedMatMulConfig, kind: 'faster' },
  { config: maxPoolGradConfig, kind: 'faster' },
  { config: tileConfig, kind: 'faster' },
  { config: identityConfig, kind: 'faster' },
  { config: castConfig, kind: 'faster' },
  { config: reluGradConfig, kind: 'faster' },
];

/** Native kernels to register over the wasm ones (Node's ../native/route.ts builds it). */
export interface NativeOverlay {
  addon: NativeAddon;
  kernels: typeof NATIVE_KERNELS;
  /** What the native route installs above the kernels (BatchNorm's moments and gradient). */
  install(): void;
}

let nativeRegistered = false;

/** Whether native kernels are registered for wasm now. */
export function nativeKernelsActive(): boolean {
  return nativeRegistered;
}

/**
 * Registers (or re-registers) every uib wasm kernel, and the `native` overlay's kernels over them
 * when given; idempotent. Needs tfjs-backend-wasm imported.
 */
export function registerWasmKernels(native?: NativeOverlay): void {
  // On a tfjs release the patches were not written for, only the kernels wasm lacks (no patch).
  const patch = patchesAllowed();
  if (patch) {
    installFusedConv2d();
    installReluGrad();
  }
  const overlay = patch ? native : undefined;
  overlay?.install();
  const addon = overlay?.addon;
  const nativeKernels = overlay?.kernels ?? [];
  const names = new Set([
    ...WASM_KERNELS.filter((k) => patch || k.kind === 'missing').map((k) => k.config.kernelName),
    ...nativeKernels.map((k) => k.kernelName),
  ]);
  for (const kernelName of names) {
    const stock = captureStock(kernelName);
    const base = WASM_KERNELS.find((k) => k.config.kernelName === kernelName)?.config ?? stock;
    const entry = nativeKernels.find((k) => k.kernelName === kernelName);
    if (base === undefined && !entry?.nativeOnly)
      throw new Error(`wasm has no kernel ${kernelName} to fall back on`);
    const nat = addon && entry;
    if (tf.getKernel(kernelName, 'wasm') !== undefined) tf.unregisterKernel(kernelName, 'wasm');
    if (base === undefined && !nat) continue; // a native-only kernel, without the native route
    const fallback: tf.KernelFunc =
      base?.kernelFunc ??
      (() => {
        throw new Error(`native kernel ${kernelName} got a case it does not handle`);
      });
    const config: tf.KernelConfig = nat
      ? {
          kernelName,
          backendName: 'wasm',
          kernelFunc: (args) =>
            nat.run(addon, args as Parameters<typeof nat.run>[1]) ?? fallback(args),
        }
      : (base as tf.KernelConfig);
    tf.registerKernel(markUib({ ...config, setupFunc: stock?.setupFunc ?? config.setupFunc }));
  }
  nativeRegistered = addon !== undefined;
}
