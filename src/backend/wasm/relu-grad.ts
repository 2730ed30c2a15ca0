/**
 * A relu's gradient as one kernel, `UibReluGrad` (dy · step(x)), where tfjs's is three (Step, Cast,
 * Multiply), each a pass over the whole activation. tfjs's gradient registry holds one gradient
 * per op for every backend: the one registered here runs the kernel on wasm and tfjs's own
 * gradient elsewhere. On the wasm route the kernel is the stock Step and Multiply; the native
 * route (../native/relu-grad.ts) does it in one pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BackendWasm, free, runStock } from './base.ts';

export const RELU_GRAD = 'UibReluGrad';

function reluGrad(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm }): tf.TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as tf.TensorInfo;
  const x = args.inputs.x as tf.TensorInfo;
  const step = runStock(tf.Step, backend, { x }, { alpha: 0 });
  const out = runStock(tf.Multiply, backend, { a: dy, b: step });
  free(backend, step);
  return out;
}

export const reluGradConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as tf.KernelFunc,
};

/** dy · step(x) through UibReluGrad (wasm only). */
export function reluGradOp(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
}

let installed = false;

/** Registers Relu's gradient (once per process; needs tfjs's own registered, by tfjs-layers). */
export function installReluGrad(): void {
  if (installed) return;
  const stock = tf.getGradient(tf.Relu);
  if (stock === undefined) return; // no gradients registered yet: nothing to replace
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (tf.engine().backendName !== 'wasm' || (dy as tf.Tensor).dtype !== 'float32')
        return stock.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => reluGradOp(dy as tf.Tensor, x) };
    },
  });
  installed = true;
}
