/**
 * Kernels tfjs-wasm 4.22 lacks and no uib model needs fast: the gradients of a depthwise
 * convolution (DepthwiseConv2D, SeparableConv2D in a user's model). They run tfjs's own cpu kernel
 * on copies of the inputs and write the result back to the wasm heap: correct by construction (the
 * cpu kernel is the reference every uib kernel is tested against), at the price of two copies,
 * small beside a depthwise layer's work. Written here because tfjs has no cross-backend fallback.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelBackend } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

function viaCpu(kernelName: string): tf.KernelConfig {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: BackendWasm;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo => {
    const cpuKernel = tf.getKernel(kernelName, 'cpu');
    const cpu = tf.findBackend('cpu') as KernelBackend | null;
    if (cpuKernel === undefined || cpu === null)
      throw new Error(`wasm runs ${kernelName} on the cpu backend, which is not registered`);
    const moved: tf.NamedTensorInfoMap = {};
    for (const [name, t] of Object.entries(args.inputs)) {
      if (t === undefined) continue;
      const values = (args.backend.readSync(t.dataId) as Float32Array).slice();
      moved[name] = { dataId: cpu.write(values, t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    }
    try {
      const out = cpuKernel.kernelFunc({
        inputs: moved,
        backend: cpu,
        attrs: args.attrs ?? {},
      }) as tf.TensorInfo;
      const values = cpu.readSync(out.dataId);
      cpu.disposeData(out.dataId);
      return args.backend.makeOutput(out.shape, out.dtype, undefined, values);
    } finally {
      for (const t of Object.values(moved)) if (t) cpu.disposeData(t.dataId);
    }
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

export const depthwiseBackpropInputConfig = viaCpu(tf.DepthwiseConv2dNativeBackpropInput);
export const depthwiseBackpropFilterConfig = viaCpu(tf.DepthwiseConv2dNativeBackpropFilter);
