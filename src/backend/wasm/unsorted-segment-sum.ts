/**
 * UnsortedSegmentSum for wasm (missing in tfjs-wasm 4.22; it is the gradient of tf.gather, so any
 * loss that gathers, e.g. the logit of each sample's label, needs it to train).
 *
 *   out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]     ids outside [0, numSegments) are dropped
 *
 * segmentIds may have any shape that prefixes x's shape; one pass over x on the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from './base.ts';

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  const ids = args.inputs.segmentIds as tf.TensorInfo;
  const numSegments = args.attrs.numSegments as number;
  const idRank = ids.shape.length;
  const rows = tf.util.sizeFromShape(ids.shape);
  const width = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idRank)], x.dtype);
  // Views after the last allocation (heap growth detaches them).
  const xs = backend.typedArrayFromHeap(x);
  const is = backend.typedArrayFromHeap(ids);
  const os = backend.typedArrayFromHeap(out);
  os.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = is[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * width;
    const dst = s * width;
    for (let j = 0; j < width; j++) os[dst + j] += xs[src + j];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
