/**
 * Native convolutions for the wasm backend (NHWC, HWIO filters): Conv2D, FusedConv2D (bias and
 * relu/linear only), Conv2DBackpropInput and Conv2DBackpropFilter, each im2col + OpenBLAS sgemm
 * split over the batch in native/uib_native.cc. Anything else (NCHW, other activations, PReLU,
 * non-float32) returns undefined and the caller runs the wasm kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import type { NativeAddon } from './addon.ts';
import { allFloat, fusedOperands } from './fused-activation.ts';

/** The geometry as native/uib_native.cc's readConv takes it. */
function geometry(info: tf.backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo | undefined {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } =
    attrs as unknown as tf.Conv2DAttrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const empty = [info.batchSize, info.outHeight, info.outWidth, info.outChannels, info.inChannels];
  return empty.every((d) => d > 0) ? info : undefined;
}

/**
 * One of the kernels without bias (the gradients): `a`, `b` and a new float32 output of
 * `outShape` as heap indices, then the geometry.
 */
function runUnbiased(
  addon: NativeAddon,
  kernel: 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'convSquaredGrad',
  backend: BackendWasm,
  [a, b]: [tf.TensorInfo, tf.TensorInfo],
  outShape: number[],
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const at = [a, b, out].map((t) => heapIndex(backend, t)); // before the heap view (conv2d)
  addon[kernel](heap(backend), ...(at as [number, number, number]), ...geometry(info));
  return out;
}

export function conv2d(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend, attrs } = args;
  const operands = fusedOperands(args, 'x', 'filter');
  if (operands === undefined) return undefined;
  const { a: x, b: filter, bias, relu } = operands;
  const info = convInfo(x.shape, filter.shape, attrs);
  if (info === undefined) return undefined;
  if (bias !== undefined && tf.util.sizeFromShape(bias.shape) !== info.outChannels)
    return undefined;
  const y = backend.makeOutput(info.outShape, 'float32');
  // Every index before the heap view: an input still held by another backend moves onto the wasm
  // heap when first indexed, which can grow the heap and detach a view taken earlier.
  const at = [x, filter, y].map((t) => heapIndex(backend, t));
  const biasAt = bias === undefined ? -1 : heapIndex(backend, bias);
  addon.conv2d(heap(backend), ...(at as [number, number, number]), biasAt, relu, ...geometry(info));
  return y;
}

/**
 * A convolution gradient: the two inputs it reads and the attribute that gives the shape of its
 * output (Conv2DBackpropInput: dy and the filter, the input's shape; Conv2DBackpropFilter: x and
 * dy, the filter's shape).
 */
const BACKPROP = {
  conv2dBackpropInput: { inputs: ['dy', 'filter'], shape: 'inputShape' },
  conv2dBackpropFilter: { inputs: ['x', 'dy'], shape: 'filterShape' },
} as const;

function convBackprop(
  addon: NativeAddon,
  args: KernelArgs,
  kernel: keyof typeof BACKPROP,
): tf.TensorInfo | undefined {
  const { backend, attrs } = args;
  const { inputs, shape } = BACKPROP[kernel];
  const [a, b] = inputs.map((n) => args.inputs[n] as tf.TensorInfo);
  if (!allFloat(a, b)) return undefined;
  const outShape = attrs[shape] as unknown as number[];
  const [xShape, filterShape] =
    kernel === 'conv2dBackpropInput' ? [outShape, b.shape] : [a.shape, outShape];
  const info = convInfo(xShape, filterShape, { ...attrs, dilations: 1 });
  if (info === undefined) return undefined;
  const out = kernel === 'conv2dBackpropInput' ? info.inShape : outShape;
  return runUnbiased(addon, kernel, backend, [a, b], out, info);
}

export const conv2dBackpropInput = (addon: NativeAddon, args: KernelArgs) =>
  convBackprop(addon, args, 'conv2dBackpropInput');

export const conv2dBackpropFilter = (addon: NativeAddon, args: KernelArgs) =>
  convBackprop(addon, args, 'conv2dBackpropFilter');

/** Kernel name of the per-example squared filter gradient, summed (native route only). */
export const CONV_SQUARED_GRAD = 'UibConvSquaredGrad';

export function convSquaredGrad(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend, attrs } = args;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  if (!allFloat(x, dy)) return undefined;
  const { filterShape } = attrs as unknown as { filterShape: number[] };
  const info = convInfo(x.shape, filterShape, attrs);
  if (info === undefined) return undefined;
  return runUnbiased(addon, 'convSquaredGrad', backend, [x, dy], filterShape, info);
}
