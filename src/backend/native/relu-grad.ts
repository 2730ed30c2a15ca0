/** UibReluGrad (../wasm/relu-grad.ts) in one native pass; float32 of equal shapes only. */
import type * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';

export function reluGrad(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const dy = args.inputs.dy as tf.TensorInfo;
  const x = args.inputs.x as tf.TensorInfo;
  const n = dy.shape.reduce((p, d) => p * d, 1);
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || x.shape.join() !== dy.shape.join())
    return undefined;
  const out = backend.makeOutput(dy.shape, 'float32');
  // Every index before the heap view (allocations can grow the heap and detach older views).
  const [d, xi, o] = [dy, x, out].map((t) => heapIndex(backend, t));
  addon.reluGrad(heap(backend), d, xi, o, n);
  return out;
}
