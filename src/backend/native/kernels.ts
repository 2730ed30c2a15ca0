/**
 * The native kernels (./addon.ts) that ../wasm/kernels.ts registers over the wasm backend's when
 * the addon is built. Each takes the kernel's arguments and returns its output, or undefined for
 * a case it does not handle, which then runs on the wasm kernel it replaced (uib's or stock).
 * Each is tested against the cpu backend in tests/backend/native/. A few have no wasm kernel
 * under them: only the native route calls them (./batch-norm.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';
import {
  BATCH_NORM_GRAD,
  batchNormGrad,
  fusedBatchNorm,
  MOMENTS,
  MOMENTS_GRAD,
  moments,
  momentsGrad,
} from './batch-norm.ts';
import { binary } from './binary.ts';
import {
  CONV_SQUARED_GRAD,
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  convSquaredGrad,
} from './conv2d.ts';
import { matMul } from './mat-mul.ts';
import { maxPool } from './max-pool.ts';
import { maxPoolGrad } from './max-pool-grad.ts';
import { relu } from './relu.ts';
import { reluGrad } from './relu-grad.ts';
import { mean, sum } from './sum.ts';

export type NativeKernel = (
  addon: NativeAddon,
  args: KernelArgs,
) => tf.TensorInfo | tf.TensorInfo[] | undefined;

/** `nativeOnly`: no wasm kernel of that name exists; only the native route calls it. */
export const NATIVE_KERNELS: readonly {
  kernelName: string;
  run: NativeKernel;
  nativeOnly?: true;
}[] = [
  { kernelName: 'Conv2D', run: conv2d },
  { kernelName: 'FusedConv2D', run: conv2d },
  { kernelName: 'Conv2DBackpropInput', run: conv2dBackpropInput },
  { kernelName: 'Conv2DBackpropFilter', run: conv2dBackpropFilter },
  { kernelName: 'BatchMatMul', run: matMul },
  { kernelName: '_FusedMatMul', run: matMul },
  { kernelName: 'MaxPool', run: maxPool },
  { kernelName: 'MaxPoolGrad', run: maxPoolGrad },
  { kernelName: 'Relu', run: relu },
  { kernelName: 'Sum', run: sum },
  { kernelName: 'Mean', run: mean },
  { kernelName: 'UibReluGrad', run: reluGrad },
  { kernelName: 'FusedBatchNorm', run: fusedBatchNorm },
  { kernelName: MOMENTS, run: moments, nativeOnly: true },
  { kernelName: MOMENTS_GRAD, run: momentsGrad, nativeOnly: true },
  { kernelName: BATCH_NORM_GRAD, run: batchNormGrad, nativeOnly: true },
  { kernelName: CONV_SQUARED_GRAD, run: convSquaredGrad, nativeOnly: true },
  ...['Add', 'Sub', 'Multiply', 'RealDiv'].map((kernelName) => ({
    kernelName,
    run: binary(kernelName),
  })),
];
