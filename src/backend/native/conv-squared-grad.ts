/**
 * Σ_b (∂ℓ_b/∂W)² for a convolution's kernel — the per-example squared filter gradients, summed over
 * the batch — in one native call (native/uib_native.cc, ConvSquaredGrad), for the diagonal Fisher
 * of unlearn/curvature/. Undefined off the native route: the caller then unfolds patches in tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from '../wasm/kernels.ts';
import { CONV_SQUARED_GRAD } from './conv2d.ts';

export function nativeConvSquaredGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: 'valid' | 'same',
  dilations: [number, number],
): tf.Tensor4D | undefined {
  if (tf.engine().backendName !== 'wasm' || !nativeKernelsActive()) return undefined;
  if (tf.getKernel(CONV_SQUARED_GRAD, 'wasm') === undefined) return undefined;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const attrs = { filterShape, strides, pad, dilations, dataFormat: 'NHWC' };
  return tf
    .engine()
    .runKernel(CONV_SQUARED_GRAD, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
