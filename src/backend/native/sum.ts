/**
 * Native Sum and Mean over leading axes for the wasm backend (a bias gradient, BatchNorm's
 * moments: NHWC summed to its channels). The stock kernels transpose the reduced axes innermost
 * first, which took ~8% of a CNN step and ~20% of a ResNet step. Other reductions (innermost axes,
 * which the stock kernel does without a transpose; ints) return undefined and the wasm kernel runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';

export function sum(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  return reduceLeading(addon, args, false);
}

export function mean(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  return reduceLeading(addon, args, true);
}

function reduceLeading(
  addon: NativeAddon,
  args: KernelArgs,
  isMean: boolean,
): tf.TensorInfo | undefined {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') return undefined;
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs | tf.MeanAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const lead = axes.length;
  if (
    lead === 0 ||
    lead === x.shape.length ||
    (isMean && tf.util.sizeFromShape(x.shape.slice(0, lead)) === 0) ||
    axes.some((ax, i) => ax !== i)
  )
    return undefined;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, lead));
  const cols = tf.util.sizeFromShape(x.shape.slice(lead));
  const shape = keepDims ? x.shape.map((d, i) => (i < lead ? 1 : d)) : x.shape.slice(lead);
  const out = backend.makeOutput(shape, 'float32');
  // Every index before the heap view: an input still held by another backend moves onto the wasm
  // heap when first indexed, which can grow the heap and detach a view taken earlier.
  const [xi, oi] = [x, out].map((t) => heapIndex(backend, t));
  addon.sumRows(heap(backend), xi, oi, rows, cols, isMean ? 1 / rows : 1);
  return out;
}
