/**
 * Convolution geometry and the patches (im2col) a convolution sees, for the per-example gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../../models/types.ts';
import type { Internals } from './types.ts';

/**
 * Geometry of a convolution layer as a 2-D NHWC convolution: a Conv1D over [b, L, c] runs as a
 * Conv2D over [b, 1, L, c] with a [1, k, cin, cout] kernel (same numbers, same patch order).
 * DepthwiseConv2D ignores its dilation in tfjs 4.22 (it always runs undilated), so it does here.
 */
export function convGeometry(layer: layers.Layer, kind: LayerKind) {
  const l = layer as Internals;
  if (l.dataFormat !== 'channelsLast') {
    throw new Error(`curvature: ${layer.name}: only channelsLast convolutions are supported`);
  }
  const pair = (v: number | number[]) => (typeof v === 'number' ? [v, v] : v);
  if (kind === 'conv1d') {
    const dil = Array.isArray(l.dilationRate) ? l.dilationRate[0] : l.dilationRate;
    return {
      kh: 1,
      kw: l.kernelSize[0] as number,
      strides: [1, l.strides[0]] as [number, number],
      padding: l.padding as 'valid' | 'same',
      dilations: [1, dil] as [number, number],
    };
  }
  return {
    kh: l.kernelSize[0] as number,
    kw: l.kernelSize[1] as number,
    strides: pair(l.strides) as [number, number],
    padding: l.padding as 'valid' | 'same',
    dilations: (kind === 'depthwise' ? [1, 1] : pair(l.dilationRate)) as [number, number],
  };
}

/**
 * Patches of an NHWC input as seen by a convolution: [b, oh, ow, kh·kw·cin], feature order
 * (i, j, c) row-major — the order of a kernel [kh, kw, cin, cout] reshaped to [kh·kw·cin, cout].
 * Built as a convolution with a one-hot kernel, so strides, padding and dilation match exactly.
 */
export function unfoldPatches(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
  strides: [number, number],
  padding: 'valid' | 'same',
  dilations: [number, number] = [1, 1],
): tf.Tensor4D {
  return tf.tidy(() => {
    const cin = x.shape[3];
    const k = kh * kw * cin;
    const eye = new Float32Array(k * k);
    for (let i = 0; i < k; i++) eye[i * k + i] = 1;
    const kernel = tf.tensor4d(eye, [kh, kw, cin, k]);
    return tf.conv2d(x, kernel, strides, padding, 'NHWC', dilations);
  });
}
