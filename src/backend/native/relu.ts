/** Native Relu for the wasm backend: one pass split over threads (the stock kernel runs on one). */
import type * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';

export function relu(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  const n = x.shape.reduce((p, d) => p * d, 1);
  if (x.dtype !== 'float32' || n < 4096) return undefined;
  const out = backend.makeOutput(x.shape, 'float32');
  const [xi, o] = [x, out].map((t) => heapIndex(backend, t));
  addon.relu(heap(backend), xi, o, n);
  return out;
}
