/**
 * The kernels uib registers for tfjs-wasm 4.22, one file each. Two kinds:
 *
 *   missing   kernels the stock backend lacks, without which training fails
 *             ("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'")
 *   faster    stock kernels replaced by a faster route through XNNPACK; the stock kernel stays
 *             reachable (base.ts `runStock`) and its setup still runs
 *
 * Each is tested against the cpu backend in tests/backend/wasm/. Found by running training steps of
 * the project's models (tests/backend/wasm/train-step.test.ts). Also missing in tfjs-wasm but not
 * needed by any uib model, so not registered: DepthwiseConv2dNativeBackpropFilter/Input, Einsum.
 */
import * as tf from '@tensorflow/tfjs-core';
import { captureStock, markUib } from './base.ts';
import { batchMatMulConfig } from './batch-mat-mul.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { fusedMatMulConfig } from './fused-mat-mul.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

export const WASM_KERNELS: readonly { config: tf.KernelConfig; kind: 'missing' | 'faster' }[] = [
  { config: conv2DBackpropFilterConfig, kind: 'missing' },
  { config: unsortedSegmentSumConfig, kind: 'missing' },
  { config: conv2DBackpropInputConfig, kind: 'faster' },
  { config: batchMatMulConfig, kind: 'faster' },
  { config: fusedMatMulConfig, kind: 'faster' },
  { config: maxPoolGradConfig, kind: 'faster' },
];

/** Registers (or re-registers) every uib wasm kernel; idempotent. Needs tfjs-backend-wasm imported. */
export function registerWasmKernels(): void {
  for (const { config } of WASM_KERNELS) {
    const stock = captureStock(config.kernelName);
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) {
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(markUib({ ...config, setupFunc: stock?.setupFunc ?? config.setupFunc }));
  }
}
