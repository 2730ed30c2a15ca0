/**
 * MaxPoolGrad for wasm: the stock kernel took ~70 of ~280 ms of a CNN training step here. This one
 * walks each pooling window once with the channels innermost (contiguous in NHWC), keeps the running
 * maximum and its position per channel, and adds dy there. Ties go to the first maximum in row-major
 * window order, as on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs, maxPoolGradInfo } from './base.ts';

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as tf.TensorInfo;
  const input = args.inputs.input as tf.TensorInfo;
  const info = maxPoolGradInfo(input, args.attrs);
  const {
    batchSize: B,
    inHeight: H,
    inWidth: W,
    inChannels: C,
    outHeight: OH,
    outWidth: OW,
  } = info;
  const {
    strideHeight: sh,
    strideWidth: sw,
    effectiveFilterHeight: FH,
    effectiveFilterWidth: FW,
  } = info;
  const { top: pt, left: pl } = info.padInfo;
  const dx = backend.makeOutput(input.shape, 'float32');
  // Offsets first (looking a tensor up can move it onto the wasm heap and grow it), then the
  // view, after the last allocation: heap growth detaches earlier views.
  const xAt = heapIndex(backend, input);
  const dyAt = heapIndex(backend, dy);
  const dxAt = heapIndex(backend, dx);
  const mem = heap(backend);
  mem.fill(0, dxAt, dxAt + B * H * W * C);
  const maxVal = new Float32Array(C);
  const maxPos = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = Math.max(0, oh * sh - pt);
      const r1 = Math.min(H, oh * sh - pt + FH);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = Math.max(0, ow * sw - pl);
        const c1 = Math.min(W, ow * sw - pl + FW);
        maxVal.fill(Number.NEGATIVE_INFINITY);
        maxPos.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const at = ((b * H + r) * W + c) * C;
            for (let ch = 0; ch < C; ch++) {
              const v = mem[xAt + at + ch];
              if (v > maxVal[ch]) {
                maxVal[ch] = v;
                maxPos[ch] = at + ch;
              }
            }
          }
        }
        const dyRow = dyAt + ((b * OH + oh) * OW + ow) * C;
        for (let ch = 0; ch < C; ch++) {
          if (maxPos[ch] >= 0) mem[dxAt + maxPos[ch]] += mem[dyRow + ch];
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
