/**
 * Conv2DBackpropFilter for wasm (tfjs-wasm 4.22 has none, so no conv net can train on it).
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·sh − pt + kh, ow·sw − pl + kw, ci] · dy[b, oh, ow, co]
 *
 * Two routes, both ending in XNNPACK:
 *   few taps (KH·KW·Ci ≤ 32, a first layer): colsT (KH·KW·Ci, B·OH·OW), an im2col written straight
 *     in transposed layout, times dy (B·OH·OW, Co), one untransposed product.
 *   otherwise: the sum is itself a convolution, of x with channels as batch (Ci, H, W, B) by dy as
 *     the filter (OH, OW, B, Co), taps spaced by the stride (dilation), giving (Ci, KH, KW, Co).
 * (Measured on the CNN's first layer, 128×28×28×1: 11 ms vs 50 ms; the convolution route wins on
 * ResNet shapes.)
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendWasm,
  backpropConvInfo,
  free,
  heap,
  heapIndex,
  type KernelArgs,
  matMul2d,
  reshapeInfo,
  runStock,
  stockConv2d,
  transpose,
} from './base.ts';

/** Below this many filter taps (KH·KW·Ci) a plain im2col product beats the convolution route. */
const SMALL_K = 32;

export interface Im2colGeometry {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

export function geometryOf(info: tf.backend_util.Conv2DInfo): Im2colGeometry {
  return {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * The transposed im2col matrix, colsT[(kh·KW + kw)·Ci + ci, (b·OH + oh)·OW + ow] =
 * x[b, oh·sh − pt + kh, ow·sw − pl + kw, ci] (0 outside the image). x (NHWC) starts at heap[xAt],
 * colsT at heap[colsAt]; both live in the one wasm heap, so nothing is allocated.
 */
export function im2colT(
  heap: Float32Array,
  xAt: number,
  colsAt: number,
  g: Im2colGeometry,
  batch: number,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const n = batch * OH * OW;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      // Output columns whose tap (kh, kw) lands inside the image: ow in [owLo, owHi).
      const iw0 = kw * g.dilationWidth - g.padLeft;
      const owLo = Math.min(OW, Math.max(0, Math.ceil(-iw0 / sw)));
      const owHi = Math.max(owLo, Math.min(OW, Math.ceil((W - iw0) / sw)));
      for (let ci = 0; ci < C; ci++) {
        let dst = colsAt + ((kh * KW + kw) * C + ci) * n;
        for (let b = 0; b < batch; b++) {
          for (let oh = 0; oh < OH; oh++, dst += OW) {
            const ih = oh * sh - g.padTop + kh * g.dilationHeight;
            if (ih < 0 || ih >= H) {
              heap.fill(0, dst, dst + OW);
              continue;
            }
            for (let ow = 0; ow < owLo; ow++) heap[dst + ow] = 0;
            let src = xAt + ((b * H + ih) * W + iw0 + owLo * sw) * C + ci;
            for (let ow = owLo; ow < owHi; ow++, src += sw * C) heap[dst + ow] = heap[src];
            for (let ow = owHi; ow < OW; ow++) heap[dst + ow] = 0;
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const { filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = backpropConvInfo(x.shape, filterShape, args.attrs, 'Conv2DBackpropFilter');
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { top: pt, left: pl } = info.padInfo;
  if (KH * KW * info.inChannels <= SMALL_K) return viaIm2colT(backend, x, dy, info);
  // Pad bottom/right only as far as the last tap reaches; rows past it never meet dy.
  const pb = Math.max(0, KH + (info.outHeight - 1) * sh - info.inHeight - pt);
  const pr = Math.max(0, KW + (info.outWidth - 1) * sw - info.inWidth - pl);

  const xT = transpose(backend, x, [3, 1, 2, 0]); // (Ci, H, W, B): channels become the batch
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // (OH, OW, B, Co): dy becomes the filter
  // The original stride spaces the taps: it becomes the dilation.
  const conv = stockConv2d(backend, xT, dyT, [pt, pb, pl, pr], [sh, sw]); // (Ci, ≥KH, ≥KW, Co)
  free(backend, xT, dyT);
  let cropped = conv;
  if (conv.shape[1] !== KH || conv.shape[2] !== KW) {
    cropped = runStock(
      'Slice',
      backend,
      { x: conv },
      { begin: [0, 0, 0, 0], size: [-1, KH, KW, -1] },
    );
    free(backend, conv);
  }
  const dw = transpose(backend, cropped, [1, 2, 0, 3]); // (KH, KW, Ci, Co)
  free(backend, cropped);
  return dw;
}

function viaIm2colT(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.batchSize * info.outHeight * info.outWidth;
  const colsT = backend.makeOutput([K, n], 'float32');
  // Offsets before the heap view: looking x up can move it onto the heap and grow it.
  const xAt = heapIndex(backend, x);
  const colsAt = heapIndex(backend, colsT);
  im2colT(heap(backend), xAt, colsAt, geometryOf(info), info.batchSize);
  const dw = matMul2d(backend, colsT, reshapeInfo(dy, [n, info.outChannels])); // (K, Co)
  free(backend, colsT);
  return reshapeInfo(dw, [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels]);
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
