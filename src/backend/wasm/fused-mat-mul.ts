/**
 * _FusedMatMul (matrix product + bias + activation) for wasm: as batch-mat-mul.ts, transposed
 * operands are transposed explicitly so that the product runs on XNNPACK's fast path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, runUntransposed } from './base.ts';

export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: tf._FusedMatMul,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) =>
    runUntransposed(tf._FusedMatMul, backend as BackendWasm, inputs, attrs ?? {}),
};
