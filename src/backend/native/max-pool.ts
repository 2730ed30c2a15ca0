/**
 * Native MaxPool for the wasm backend (NHWC float32): the window maxima as on the cpu backend (a
 * NaN never wins), split over the batch; the stock kernel (XNNPACK) runs on one thread.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs, maxPoolGradInfo } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';
import { poolGeometry } from './max-pool-grad.ts';

export function maxPool(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = maxPoolGradInfo(x, args.attrs);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  // Every index before the heap view (allocations can grow the heap and detach older views).
  const [xi, o] = [x, out].map((t) => heapIndex(backend, t));
  addon.maxPool(heap(backend), xi, o, ...poolGeometry(info));
  return out;
}
