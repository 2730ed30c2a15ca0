/**
 * Native BatchMatMul and _FusedMatMul (bias, relu/linear) for the wasm backend: OpenBLAS sgemm,
 * which takes transposed operands as they come (the stock wasm kernel is ~7x slower on those).
 * Batch dimensions must match or be 1 (broadcast); other cases return undefined (wasm kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';
import { fusedOperands } from './fused-activation.ts';

export function matMul(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend, attrs } = args;
  const operands = fusedOperands(args, 'a', 'b');
  if (operands === undefined) return undefined;
  const { a, b, bias, relu } = operands;
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((tb ? b.shape[rb - 1] : b.shape[rb - 2]) !== k || m * n * k === 0) return undefined;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batch = tf.util.sizeFromShape(outer);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (batch === 0 || (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    return undefined;
  }
  // Bias per output column only (what dense layers pass); other broadcasts go to the wasm kernel.
  if (bias !== undefined && (tf.util.sizeFromShape(bias.shape) !== n || bias.shape.at(-1) !== n)) {
    return undefined;
  }
  const c = backend.makeOutput([...outer, m, n], 'float32');
  // Every index before the heap view: an input still held by another backend moves onto the wasm
  // heap when first indexed, which can grow the heap and detach a view taken earlier.
  const [ai, bi, ci] = [a, b, c].map((t) => heapIndex(backend, t));
  const biasAt = bias === undefined ? -1 : heapIndex(backend, bias);
  addon.matMul(
    heap(backend),
    ta ? 1 : 0,
    tb ? 1 : 0,
    batch,
    m,
    n,
    k,
    ai,
    bi,
    ci,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
    biasAt,
    relu,
  );
  return c;
}
