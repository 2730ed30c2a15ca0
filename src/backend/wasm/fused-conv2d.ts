/**
 * A fused conv2d whose gradient is computed only for the inputs that need one. tfjs-core's
 * `fused.conv2d` (which tfjs-layers' Conv2D calls) records a custom gradient that always computes
 * the input gradient (Conv2DBackpropInput), and for a network's first layer, whose input is the
 * data, nobody uses it; with a relu it records no fused kernel at all (conv, add and relu apart).
 * While gradients are recorded on wasm, `fused.conv2d` here runs the FusedConv2D kernel directly,
 * so the tape records it with the gradient registered below, one function per input, and prunes
 * those of inputs off the path to the variables, as it does for plain ops.
 *
 * Every other case (no gradient being recorded, another backend, NCHW, dilations, PReLU and other
 * activations, a bias that is not one value per output channel) goes to tfjs's own function.
 */
import * as tf from '@tensorflow/tfjs-core';
import { reluGradOp } from './relu-grad.ts';

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];

const stock = tf.fused.conv2d;
let installed = false;
let wanted = true;

/** Turns this path off (or on again) for comparisons: off, tfjs's own `fused.conv2d` runs. */
export function useFusedConv2dGradient(on: boolean): void {
  wanted = on;
}

function conv2d(args: FusedConv2dArgs): tf.Tensor {
  const engine = tf.engine();
  const { x, filter, bias, preluActivationWeights } = args;
  const activation = args.activation ?? 'linear';
  const dilations = args.dilations ?? 1;
  if (
    !wanted ||
    engine.state.gradientDepth === 0 ||
    engine.backendName !== 'wasm' ||
    (activation !== 'linear' && activation !== 'relu') ||
    preluActivationWeights != null ||
    (args.dataFormat ?? 'NHWC') !== 'NHWC' ||
    !(typeof dilations === 'number' ? dilations === 1 : dilations.every((d) => d === 1)) ||
    !(x instanceof tf.Tensor && x.rank === 4 && x.dtype === 'float32') ||
    !(filter instanceof tf.Tensor && filter.rank === 4 && filter.dtype === 'float32') ||
    (bias != null &&
      !(bias instanceof tf.Tensor && bias.rank === 1 && bias.size === filter.shape[3]))
  ) {
    return stock(args);
  }
  const inputs: tf.NamedTensorMap = bias == null ? { x, filter } : { x, filter, bias };
  const attrs = {
    strides: args.strides,
    pad: args.pad,
    dataFormat: 'NHWC',
    dilations: [1, 1],
    dimRoundingMode: args.dimRoundingMode,
    activation,
  };
  return engine.runKernel(tf.FusedConv2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** FusedConv2D's gradient, per input: only the functions of inputs that need one are called. */
const fusedConv2dGrad: tf.GradConfig = {
  kernelName: tf.FusedConv2D,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad, dimRoundingMode, activation } = attrs as unknown as tf.FusedConv2DAttrs;
    // Shared by the functions below, so made here (each of them runs in its own tidy).
    // relu(pre) > 0 exactly where pre > 0: the output's step is the pre-activation's.
    const dyAct = activation === 'relu' ? reluGradOp(dy as tf.Tensor, y) : (dy as tf.Tensor);
    const conv = { strides, pad, dimRoundingMode, dataFormat: 'NHWC' };
    return {
      x: () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyAct, filter }, {
          ...conv,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dyAct }, {
          ...conv,
          filterShape: filter.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      bias: () => tf.sum(dyAct, [0, 1, 2]),
    };
  },
};

/**
 * Puts this `fused.conv2d` in place of tfjs-core's (the object tfjs-layers calls through) and
 * registers its gradient; once per process.
 */
export function installFusedConv2d(): void {
  if (installed) return;
  tf.registerGradient(fusedConv2dGrad);
  (tf.fused as { conv2d: typeof stock }).conv2d = conv2d as typeof stock;
  installed = true;
}
