/**
 * Identity for wasm: the stock kernel copies the tensor, and gradients and `tf.clone` run it on
 * every activation (33 calls, ~6% of a CNN step here). As on the cpu backend, the output shares the
 * input's data under a reference count; no wasm kernel writes into its inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, runStock, shareData } from './base.ts';

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return runStock(tf.Identity, args.backend, args.inputs);
  return shareData(args.backend, x);
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
