/**
 * Native MaxPoolGrad for the wasm backend: as ../wasm/max-pool-grad.ts (dy to the first maximum
 * of each window, row-major, like the cpu backend), split over the batch.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs, maxPoolGradInfo } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';

export function maxPoolGrad(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const dy = args.inputs.dy as tf.TensorInfo;
  const input = args.inputs.input as tf.TensorInfo;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') return undefined;
  const info = maxPoolGradInfo(input, args.attrs);
  const dx = backend.makeOutput(input.shape, 'float32');
  // Every index before the heap view: an input still held by another backend moves onto the wasm
  // heap when first indexed, which can grow the heap and detach a view taken earlier.
  const at = [input, dy, dx].map((t) => heapIndex(backend, t));
  addon.maxPoolGrad(heap(backend), ...(at as [number, number, number]), ...poolGeometry(info));
  return dx;
}

/** A pooling's geometry as native/uib_native.cc's maxPool and maxPoolGrad take it. */
export function poolGeometry(info: tf.backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.effectiveFilterHeight,
    info.effectiveFilterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}
