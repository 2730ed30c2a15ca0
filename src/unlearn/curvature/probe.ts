/**
 * The probe pass: the taps of a model, and δ_i = ∂ℓ_i/∂z_i of every tap for every example at once
 * (a zero probe on each layer's pre-activation output, one backward pass of the summed loss).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, layers } from '@tensorflow/tfjs-layers';
import type { LayerKind, ParamGroup } from '../../models/types.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';
import { convGeometry } from './patches.ts';
import type { Internals, Tap } from './types.ts';

export function tapsOf(model: LayersModel, groups: ParamGroup[]): Tap[] {
  const taps = new Map<string, Tap>();
  groups.forEach((g, gi) => {
    g.params.forEach((p, pi) => {
      let t = taps.get(p.layer);
      if (!t) {
        t = { layer: model.getLayer(p.layer), kind: p.layerKind, slots: [] };
        taps.set(p.layer, t);
      }
      t.slots.push({ weight: p.weight, group: gi, param: pi });
    });
  });
  // Forward order of the model's layers.
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  return [...taps.values()].sort((a, b) => order.get(a.layer.name)! - order.get(b.layer.name)!);
}

/** Whether a layer of this kind applies its own activation after z (Dense, Conv...). */
const ACTIVATED: ReadonlySet<LayerKind> = new Set([
  'dense',
  'conv',
  'conv1d',
  'depthwise',
  'separable',
]);

/**
 * The layer's output before its activation, z, with the probe added, and what the statistics
 * need from the forward pass: the input (Dense, convolutions; a Conv1D's as [b, 1, L, c]), x̂
 * (normalisations), the token ids (Embedding), and a SeparableConv2D's depthwise output h too.
 */
function probedForward(
  tap: Tap,
  x: tf.Tensor,
  probe: tf.Tensor,
): { z: tf.Tensor; kept: tf.Tensor[] } {
  const l = tap.layer as Internals;
  const name = tap.layer.name;
  const withBias = (z: tf.Tensor) => (l.useBias ? tf.add(z, l.bias.read()) : z);
  switch (tap.kind) {
    case 'dense': {
      // Dense acts on the last axis of any rank (a sequence of vectors: each position alike).
      const din = x.shape[x.rank - 1] as number;
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, din]);
      let z = tf.matMul(flat, l.kernel.read());
      if (x.rank !== 2) z = tf.reshape(z, [...x.shape.slice(0, -1), z.shape[1] as number]);
      return { z: tf.add(withBias(z), probe), kept: [x] };
    }
    case 'conv':
    case 'conv1d': {
      const g = convGeometry(tap.layer, tap.kind);
      const x4 = (tap.kind === 'conv1d' ? tf.expandDims(x, 1) : x) as tf.Tensor4D;
      const k = l.kernel.read() as tf.Tensor;
      const k4 = (tap.kind === 'conv1d' ? tf.expandDims(k, 0) : k) as tf.Tensor4D;
      let z: tf.Tensor = tf.conv2d(x4, k4, g.strides, g.padding, 'NHWC', g.dilations);
      if (tap.kind === 'conv1d') z = tf.squeeze(z, [1]);
      return { z: tf.add(withBias(z), probe), kept: [x4] };
    }
    case 'depthwise': {
      const z = depthwiseStep(tap, x);
      return { z: tf.add(withBias(z), probe), kept: [x] };
    }
    case 'separable': {
      // tf.separableConv2d is this depthwise step, then a 1×1 convolution.
      const h = depthwiseStep(tap, x);
      const z = tf.conv2d(h, l.pointwiseKernel.read(), 1, 'valid');
      return { z: tf.add(withBias(z), probe), kept: [x, h] };
    }
    case 'norm': {
      const axis =
        l.axis === -1 ||
        l.axis === x.rank - 1 ||
        (Array.isArray(l.axis) &&
          l.axis.length === 1 &&
          (l.axis[0] === -1 || l.axis[0] === x.rank - 1));
      if (!axis) throw new Error(`curvature: ${name}: BatchNorm must normalise the last axis`);
      const xh = tf.div(
        tf.sub(x, l.movingMean.read()),
        tf.sqrt(tf.add(l.movingVariance.read(), l.epsilon)),
      );
      let z: tf.Tensor = xh;
      if (l.scale) z = tf.mul(z, l.gamma.read());
      if (l.center) z = tf.add(z, l.beta.read());
      return { z: tf.add(z, probe), kept: [xh] };
    }
    case 'layernorm': {
      // Each example normalised by its own statistics: examples stay independent.
      const axes = layerNormAxes(tap.layer, x.rank);
      const { mean, variance } = tf.moments(x, axes, true);
      const xh = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.epsilon)));
      const shape = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
      let z: tf.Tensor = xh;
      if (l.scale) z = tf.mul(z, tf.reshape(l.gamma.read(), shape));
      if (l.center) z = tf.add(z, tf.reshape(l.beta.read(), shape));
      return { z: tf.add(z, probe), kept: [xh] };
    }
    case 'embedding': {
      const ids = tf.cast(x, 'int32');
      const e = l.embeddings.read() as tf.Tensor2D;
      const z = tf.reshape(tf.gather(e, tf.reshape(ids, [-1])), [...ids.shape, e.shape[1]]);
      return { z: tf.add(z, probe), kept: [ids] };
    }
  }
}

/** The depthwise convolution of a DepthwiseConv2D or SeparableConv2D tap, without bias. */
function depthwiseStep(tap: Tap, x: tf.Tensor): tf.Tensor4D {
  const g = convGeometry(tap.layer, tap.kind);
  const k = (tap.layer as Internals).depthwiseKernel.read();
  return tf.depthwiseConv2d(x as tf.Tensor4D, k, g.strides, g.padding, 'NHWC', g.dilations);
}

/** A LayerNormalization's axes, non-negative, in the order of its γ's axes. */
export function layerNormAxes(layer: layers.Layer, rank: number): number[] {
  const a = (layer as Internals).axis as number | number[];
  return (Array.isArray(a) ? a : [a]).map((v) => (v < 0 ? v + rank : v));
}

/**
 * Runs `model` in inference mode on `xs` with probes on the taps; returns the per-example
 * δ = ∂ℓ_i/∂z_i of every tap and what `probedForward` kept of each.
 * `labelsOf` maps the logits to the labels of the loss (it may read them: sampled labels) and,
 * optionally, per-example weights √w_i that scale δ_i (so the squared gradients by w_i); the
 * weights must be constants (built from read-back values), not functions of the logits.
 */
export function probePass(
  model: LayersModel,
  taps: Tap[],
  xs: tf.Tensor,
  labelsOf: (logits: tf.Tensor) => { labels: tf.Tensor1D; rootWeights?: tf.Tensor1D },
): { deltas: tf.Tensor[]; inputs: tf.Tensor[][] } {
  const b = xs.shape[0];
  const probes = taps.map((t) => {
    const shape = t.layer.outputShape as (number | null)[];
    return tf.zeros([b, ...(shape.slice(1) as number[])]);
  });
  const inputs: tf.Tensor[][] = new Array(taps.length);
  let current: tf.Tensor[] = probes;
  const originals = taps.map((t) => (t.layer as Internals).call);
  taps.forEach((t, i) => {
    const l = t.layer as Internals;
    l.call = (input: tf.Tensor | tf.Tensor[]) => {
      const x = Array.isArray(input) ? input[0] : input;
      const { z, kept } = probedForward(t, x, current[i]);
      inputs[i] = kept.map((k) => tf.keep(k.clone()));
      return ACTIVATED.has(t.kind) && l.activation ? l.activation.apply(z) : z;
    };
  });
  try {
    const deltas = tf.grads((...ps: tf.Tensor[]) => {
      current = ps;
      const logits = model.apply(xs, { training: false }) as tf.Tensor;
      const { labels, rootWeights } = labelsOf(logits);
      const losses = softmaxCrossEntropy(logits, labels, 'none');
      return tf.sum(rootWeights ? tf.mul(losses, rootWeights) : losses);
    })(probes);
    return { deltas, inputs };
  } catch (e) {
    tf.dispose(inputs.filter(Boolean).flat());
    throw e;
  } finally {
    taps.forEach((t, i) => {
      (t.layer as Internals).call = originals[i];
    });
    tf.dispose(probes);
  }
}
