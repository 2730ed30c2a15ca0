/**
 * Native Add, Sub, Multiply and RealDiv for the wasm backend in two cases: operands of one shape
 * (a ResNet's residual sums and their gradients; the stock kernels run on one thread), and one
 * operand broadcast over the other's leading axes ([B, H, W, C] with [C] or [1, 1, 1, C]:
 * BatchNorm's per-channel terms and their gradients; the stock kernels index such broadcasts
 * element by element). Other broadcasts, small tensors and other dtypes return undefined (the
 * stock kernels).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';

const OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };

/** Below this many elements the stock kernel is as fast (no split pays for itself there). */
const MIN_NATIVE = 4096;

/** The trailing-axes size of `vec` within `full`'s shape, or 0 when vec is not such a broadcast. */
function rowWidth(full: number[], vec: number[]): number {
  if (vec.length > full.length) return 0; // the output would gain leading axes
  let v = vec;
  while (v.length > 0 && v[0] === 1) v = v.slice(1);
  if (v.length === 0 || v.length >= full.length) return 0;
  const tail = full.slice(full.length - v.length);
  return tail.every((d, i) => d === v[i]) ? tail.reduce((p, d) => p * d, 1) : 0;
}

export function binary(kernelName: string) {
  const op = OPS[kernelName];
  return (addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined => {
    const { backend } = args;
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
    if (a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
      const n = size(a.shape);
      if (n < MIN_NATIVE) return undefined;
      const out = backend.makeOutput(a.shape, 'float32');
      const [ai, bi, o] = [a, b, out].map((t) => heapIndex(backend, t));
      addon.elementwise(heap(backend), op, ai, bi, o, n);
      return out;
    }
    let full = a;
    let vec = b;
    let cols = rowWidth(a.shape, b.shape);
    if (cols === 0) {
      full = b;
      vec = a;
      cols = rowWidth(b.shape, a.shape);
    }
    if (cols === 0 || size(full.shape) < MIN_NATIVE) return undefined;
    const out = backend.makeOutput(full.shape, 'float32');
    // Every index before the heap view: an input still held by another backend moves onto the wasm
    // heap when first indexed, which can grow the heap and detach a view taken earlier.
    const [f, v, o] = [full, vec, out].map((t) => heapIndex(backend, t));
    addon.broadcastRows(
      heap(backend),
      op,
      f,
      v,
      o,
      size(full.shape) / cols,
      cols,
      vec === a ? 1 : 0,
    );
    return out;
  };
}
