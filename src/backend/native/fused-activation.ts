/**
 * What the native fused kernels (Conv2D and FusedConv2D, BatchMatMul and _FusedMatMul) run: float32
 * tensors and a linear or relu activation without PReLU weights; other cases stay on wasm.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from '../wasm/base.ts';

/** Whether every given tensor is float32 (an absent optional input, e.g. no bias, passes). */
export const allFloat = (...ts: (tf.TensorInfo | undefined)[]) =>
  ts.every((t) => t === undefined || t.dtype === 'float32');

/**
 * The addon's relu flag for the kernel's activation (1 relu, 0 linear), or undefined where the
 * native kernel does not run: another activation, PReLU weights, or one of `ts` not float32.
 */
export function fusedRelu(
  args: KernelArgs,
  ...ts: (tf.TensorInfo | undefined)[]
): 0 | 1 | undefined {
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  if (args.inputs.preluActivationWeights !== undefined || !allFloat(...ts)) return undefined;
  return activation === 'relu' ? 1 : 0;
}

/**
 * The two operands and the optional bias of a fused kernel (Conv2D: x and filter; MatMul: a and
 * b) with its relu flag, or undefined where the native kernel does not run (`fusedRelu`).
 */
export function fusedOperands(
  args: KernelArgs,
  first: string,
  second: string,
): { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; relu: 0 | 1 } | undefined {
  const a = args.inputs[first] as tf.TensorInfo;
  const b = args.inputs[second] as tf.TensorInfo;
  const bias = args.inputs.bias as tf.TensorInfo | undefined;
  const relu = fusedRelu(args, a, b, bias);
  return relu === undefined ? undefined : { a, b, bias, relu };
}
