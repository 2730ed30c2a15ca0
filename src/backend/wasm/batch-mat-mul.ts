/**
 * BatchMatMul for wasm: the stock kernel multiplies untransposed operands with XNNPACK but falls
 * back to a loop ~7x slower when transposeA/transposeB is set, which is how every dense layer's
 * gradients (xᵀ·dy, dy·Wᵀ) arrive. Transposing the operand explicitly first is far cheaper.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, runUntransposed } from './base.ts';

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) =>
    runUntransposed(tf.BatchMatMul, backend as BackendWasm, inputs, attrs ?? {}),
};
