/**
 * Conv2DBackpropInput for wasm. The stock kernel is a plain loop (≈2.4 GFLOP/s here); this one
 * routes the work through XNNPACK.
 *
 * Stride 1: dx is a forward convolution of dy with the filter rotated 180° and its channels
 * swapped, W'[kh, kw, co, ci] = W[KH−1−kh, KW−1−kw, ci, co], padded by KH−1−pt on top and
 * whatever makes the output H high at the bottom (likewise for width).
 *
 * Stride > 1: cols = dy (B·OH·OW, Co) · Wᵀ (Co, KH·KW·Ci) as one untransposed product, then col2im
 * adds each column block back where im2col took it from.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendWasm,
  backpropConvInfo,
  batchChunk,
  free,
  heapF32,
  type KernelArgs,
  matMul2d,
  reshapeInfo,
  runStock,
  sliceRows,
  stockConv2d,
  transpose,
} from './base.ts';
import { geometryOf, type Im2colGeometry } from './conv2d-backprop-filter.ts';

/** Adds cols (laid out as im2col makes it, for samples b0..b0+nb) into dx (NHWC, not cleared). */
export function col2imAdd(
  cols: Float32Array,
  dx: Float32Array,
  g: Im2colGeometry,
  b0: number,
  nb: number,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW } = g;
  let src = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const xb = b * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * g.strideWidth - g.padLeft + kw * g.dilationWidth;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              const dst = xb + (ih * W + iw) * C;
              for (let c = 0; c < C; c++) dx[dst + c] += cols[src + c];
            }
            src += C;
          }
        }
      }
    }
  }
}

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as tf.TensorInfo;
  const filter = args.inputs.filter as tf.TensorInfo;
  const { inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = backpropConvInfo(inputShape, filter.shape, args.attrs, 'Conv2DBackpropInput');
  const { filterHeight: KH, filterWidth: KW } = info;
  const pt = KH - 1 - info.padInfo.top;
  const pl = KW - 1 - info.padInfo.left;
  const pb = info.inHeight + KH - 1 - info.outHeight - pt;
  const pr = info.inWidth + KW - 1 - info.outWidth - pl;
  if (info.strideHeight === 1 && info.strideWidth === 1 && Math.min(pt, pl, pb, pr) >= 0) {
    return viaForwardConv(backend, dy, filter, [pt, pb, pl, pr]);
  }
  return viaCol2im(backend, dy, filter, info);
}

function viaForwardConv(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  [pt, pb, pl, pr]: number[],
): tf.TensorInfo {
  const rotated = runStock('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const swapped = transpose(backend, rotated, [0, 1, 3, 2]);
  free(backend, rotated);
  const dx = stockConv2d(backend, dy, swapped, [pt, pb, pl, pr], [1, 1]);
  free(backend, swapped);
  return dx;
}

function viaCol2im(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const g = geometryOf(info);
  const B = info.batchSize;
  const Co = info.outChannels;
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const perSample = info.outHeight * info.outWidth;
  const wT = transpose(backend, reshapeInfo(filter, [K, Co]), [1, 0]); // (Co, K)
  const dx = backend.makeOutput(info.inShape, 'float32');
  heapF32(backend, dx).fill(0);
  const chunk = batchChunk(B, perSample * K);
  for (let b0 = 0; b0 < B; b0 += chunk) {
    const nb = Math.min(chunk, B - b0);
    const dyChunk = sliceRows(backend, dy, b0 * perSample, nb * perSample, Co);
    const cols = matMul2d(backend, dyChunk, wT); // (n, K)
    col2imAdd(heapF32(backend, cols), heapF32(backend, dx), g, b0, nb);
    free(backend, cols);
    if (dyChunk.dataId !== dy.dataId) free(backend, dyChunk);
  }
  free(backend, wT);
  return dx;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
