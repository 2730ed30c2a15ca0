/**
 * Cast for wasm: to the dtype the tensor already has, the stock kernel copies it, and tfjs's relu
 * gradient casts a float32 step to float32 on every activation (3 copies of ~11 MB a CNN step).
 * That case shares the data under a reference count, as Identity does (./identity.ts); real
 * conversions go to the stock kernel, except to bool: the stock kernel truncates to a byte
 * (−2 → 254, 0.1 → 0), where tfjs means x ≠ 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { free, type KernelArgs, runStock, shareData } from './base.ts';

function cast(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
    const zero = args.backend.makeOutput([], x.dtype, undefined, new Int32Array(1));
    const out = runStock(tf.NotEqual, args.backend, { a: x, b: zero });
    free(args.backend, zero);
    return out;
  }
  if (dtype !== x.dtype || x.dtype === 'string' || x.dtype === 'complex64')
    return runStock(tf.Cast, args.backend, args.inputs, args.attrs);
  return shareData(args.backend, x);
}

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as tf.KernelFunc,
};
