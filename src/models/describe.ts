/**
 * What uib needs to know about any tfjs-layers model, read off its layer graph (never its layer
 * names): the layers in topological order with their kinds, which layer is the classifier (the
 * last trainable one), and whether the output carries a softmax or sigmoid (the losses then take
 * the logits before it). `checkSupported` refuses, before any work, a model with a layer no
 * method can handle, naming every one. `logitsTwin` / `restoreOutputActivation` move a user model
 * to uib's logits convention and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
// Its layer classes must be registered before the patch below.
import '@tensorflow/tfjs-layers';
import { UsageError } from '../core/errors.ts';
import { hashSeed } from '../core/rng.ts';
import type { LayerKind } from './types.ts';

// biome-ignore lint/suspicious/noExplicitAny: tfjs-layers keeps these fields protected.
type Internals = any;

// tfjs 4.22 leaves `depthMultiplier` out of DepthwiseConv2D's and SeparableConv2D's configs, so a
// clone (fromConfig) or a save of such a layer with a multiplier ≠ 1 rebuilds with 1 and its
// weights no longer fit: put it back, once, for every model of the process.
for (const name of ['DepthwiseConv2D', 'SeparableConv2D']) {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
  const proto = (entry?.[0] as unknown as { prototype: Internals } | undefined)?.prototype;
  if (!proto || proto.__uibDepthMultiplier) continue;
  const original = proto.getConfig as () => Record<string, unknown>;
  proto.getConfig = function (this: Internals) {
    return { ...original.call(this), depthMultiplier: this.depthMultiplier };
  };
  proto.__uibDepthMultiplier = true;
}

/** tfjs class name → the curvature kind of a layer with weights. */
export const WEIGHTED_LAYERS: Readonly<Record<string, LayerKind>> = Object.freeze({
  Dense: 'dense',
  Conv1D: 'conv1d',
  Conv2D: 'conv',
  DepthwiseConv2D: 'depthwise',
  SeparableConv2D: 'separable',
  BatchNormalization: 'norm',
  LayerNormalization: 'layernorm',
  Embedding: 'embedding',
});

/** Layers without weights that every method handles (they run as tfjs runs them). */
export const PLAIN_LAYERS: readonly string[] = Object.freeze([
  'InputLayer',
  'MaxPooling1D',
  'MaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'Activation',
  'Add',
  'Concatenate',
]);

export const SUPPORTED_LAYERS: readonly string[] = Object.freeze([
  ...Object.keys(WEIGHTED_LAYERS),
  ...PLAIN_LAYERS,
]);

/** The output activations uib can see through (anything else at the output is refused). */
export type OutputActivation = 'linear' | 'softmax' | 'sigmoid';

export interface LayerInfo {
  name: string;
  /** tfjs class name (`Dense`, `Conv2D`...). */
  className: string;
  /** The curvature kind for a layer with weights, null for the others. */
  kind: LayerKind | null;
  /** Holds trainable weights (a frozen layer, `trainable: false`, does not). */
  trainable: boolean;
  /** Names of the layers feeding it, in call order. */
  inputs: string[];
}

export interface ModelDescription {
  /** Every layer, input layers included, in topological order. */
  layers: LayerInfo[];
  /** The classifier: the last trainable layer in topological order (null: nothing trainable). */
  outputLayer: string | null;
  /** The activation at the model's output, seen through trailing Dropout / linear layers. */
  outputActivation: string;
  /** The layer whose activation `outputActivation` is, null when linear. */
  activationLayer: string | null;
  /** Width of the output's last axis (classes; 1 for a binary sigmoid). */
  outputUnits: number;
  /** One sample's input shape (batch axis dropped). */
  inputShape: (number | null)[];
  /** What no method can handle, one entry per fault ("lstm_1 (LSTM)"). Empty when supported. */
  problems: string[];
}

/** The layers feeding `layer` at its first node. */
function inboundOf(layer: tfl.layers.Layer): tfl.layers.Layer[] {
  const nodes = (layer as Internals).inboundNodes as { inboundLayers: tfl.layers.Layer[] }[];
  return nodes.length > 0 ? nodes[0].inboundLayers : [];
}

/**
 * The model's layers in topological order, its input layers included (a Sequential's
 * `model.layers` leaves its InputLayer out). tfjs lists a functional model's layers by depth,
 * which is topological; checked rather than assumed.
 */
export function orderedLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  const out: tfl.layers.Layer[] = [];
  const seen = new Set<tfl.layers.Layer>();
  for (const t of model.inputs) {
    const l = t.sourceLayer as tfl.layers.Layer;
    if (!seen.has(l)) {
      seen.add(l);
      out.push(l);
    }
  }
  for (const l of model.layers) {
    if (seen.has(l)) continue;
    for (const src of inboundOf(l)) {
      if (!seen.has(src))
        throw new Error(`describeModel: layer ${l.name} comes before its input ${src.name}`);
    }
    seen.add(l);
    out.push(l);
  }
  return out;
}

function activationOf(layer: tfl.layers.Layer): string {
  const a = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof a === 'string' ? a : 'linear';
}

/** Gradient kernels a layer needs that not every backend has (tfjs-wasm 4.22 lacks these). */
const GRADIENT_KERNELS: Readonly<Record<string, readonly string[]>> = {
  DepthwiseConv2D: ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
  SeparableConv2D: ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
};

/** Faults of one layer no method can handle, or []. */
function layerProblems(layer: tfl.layers.Layer): string[] {
  const cls = layer.getClassName();
  const l = layer as Internals;
  const at = `${layer.name} (${cls})`;
  if (!SUPPORTED_LAYERS.includes(cls)) return [at];
  const out: string[] = [];
  const nodes = (l.inboundNodes as unknown[]).length;
  if (nodes > 1) out.push(`${at} is applied ${nodes} times (shared layers are not supported)`);
  if (
    WEIGHTED_LAYERS[cls] &&
    ['conv', 'conv1d', 'depthwise', 'separable'].includes(WEIGHTED_LAYERS[cls])
  ) {
    if (l.dataFormat !== 'channelsLast') out.push(`${at} is channelsFirst (channelsLast only)`);
    if (l.padding === 'causal') out.push(`${at} has causal padding (tfjs cannot run it)`);
    const dil = [l.dilationRate ?? 1].flat() as number[];
    // tfjs 4.22 has no gradient for dilated convolutions: no method could train the model.
    if (WEIGHTED_LAYERS[cls] !== 'depthwise' && dil.some((v) => v !== 1))
      out.push(`${at} is dilated (tfjs cannot differentiate dilated convolutions)`);
  }
  // Training backpropagates through the layer: the backend in use must have its gradient kernels.
  const backend = tf.getBackend();
  const lacking = (GRADIENT_KERNELS[cls] ?? []).filter((k) => !tf.getKernel(k, backend));
  if (lacking.length > 0)
    out.push(`${at} needs ${lacking.join(' and ')}, which the ${backend} backend lacks (use cpu)`);
  if (cls === 'BatchNormalization') {
    const rank = (layer.inputSpec?.[0]?.ndim as number | undefined) ?? null;
    const axis = l.axis as number;
    if (!(axis === -1 || (rank !== null && axis === rank - 1)))
      out.push(`${at} normalises axis ${axis}, not the last`);
  }
  if (cls === 'LayerNormalization') {
    const axes = (Array.isArray(l.axis) ? l.axis : [l.axis]) as number[];
    if (axes.includes(0)) out.push(`${at} normalises over the batch axis`);
  }
  return out;
}

/**
 * The graph-derived description of `model` (see ModelDescription). Never throws for an
 * unsupported model: `problems` lists what `checkSupported` would refuse.
 */
export function describeModel(model: tfl.LayersModel): ModelDescription {
  const problems: string[] = [];
  if (model.inputs.length !== 1)
    problems.push(`the model has ${model.inputs.length} inputs (one only)`);
  if (model.outputs.length !== 1)
    problems.push(`the model has ${model.outputs.length} outputs (one only)`);
  const ordered = orderedLayers(model);
  const layers: LayerInfo[] = ordered.map((l) => {
    problems.push(...layerProblems(l));
    const cls = l.getClassName();
    return {
      name: l.name,
      className: cls,
      kind: WEIGHTED_LAYERS[cls] ?? null,
      trainable: l.trainableWeights.length > 0,
      inputs: inboundOf(l).map((s) => s.name),
    };
  });
  const trainable = layers.filter((l) => l.trainable);
  const outputLayer = trainable.length > 0 ? trainable[trainable.length - 1].name : null;
  if (!outputLayer) problems.push('the model has no trainable weights');

  // The output's activation: walk back from the output through layers that leave it unchanged
  // at inference (Dropout, a linear Activation).
  const out = model.outputs[0];
  let layer = out.sourceLayer as tfl.layers.Layer;
  let activation = 'linear';
  let activationLayer: string | null = null;
  for (;;) {
    const cls = layer.getClassName();
    const a = cls === 'Activation' || WEIGHTED_LAYERS[cls] ? activationOf(layer) : 'linear';
    if (a !== 'linear') {
      activation = a;
      activationLayer = layer.name;
      break;
    }
    const from = inboundOf(layer);
    if (!(cls === 'Dropout' || cls === 'Activation') || from.length !== 1) break;
    layer = from[0];
  }
  const shape = out.shape;
  const units = (shape[shape.length - 1] as number | null) ?? 0;
  if (shape.length !== 2)
    problems.push(`the output has shape [${shape.map((d) => d ?? 'b')}]; must be [b, classes]`);
  if (activation !== 'linear' && activation !== 'softmax' && activation !== 'sigmoid')
    problems.push(
      `the output layer ${activationLayer} has activation ${activation}; allowed: linear (logits), softmax, sigmoid`,
    );
  if (activation === 'sigmoid' && units !== 1)
    problems.push(
      `the output layer ${activationLayer} is a ${units}-unit sigmoid (multi-label); uib's losses are single-label: use softmax or one sigmoid unit`,
    );
  if (activation !== 'sigmoid' && units < 2 && shape.length === 2)
    problems.push(`the output has ${units} unit(s); must give logits of ≥ 2 classes`);
  return {
    layers,
    outputLayer,
    outputActivation: activation,
    activationLayer,
    outputUnits: units,
    inputShape: model.inputs[0]?.shape.slice(1) ?? [],
    problems,
  };
}

/**
 * Throws one UsageError naming every layer (name and class) or property of `model` that uib
 * cannot unlearn, and what is allowed; returns the description otherwise.
 */
export function checkSupported(model: tfl.LayersModel, where = 'model'): ModelDescription {
  const d = describeModel(model);
  if (d.problems.length > 0) {
    throw new UsageError(
      where,
      `uib cannot unlearn this model: ${d.problems.join('; ')}; supported layers: ${SUPPORTED_LAYERS.join(', ')}`,
    );
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// The logits convention: a model ending in softmax / sigmoid is unlearned through a twin that
// outputs the logits before it, and handed back with its activation restored.

/** Name of the fixed layer a binary sigmoid twin ends with: z ↦ [0, z], whose softmax is [1−σ(z), σ(z)]. */
const BINARY_LOGITS = 'uib_binary_logits';

interface LayerEntry {
  className: string;
  name?: string;
  config: Record<string, unknown>;
  inboundNodes?: unknown[];
}

/** The model's config (Sequential: a layer list; functional: a graph), as plain JSON. */
function configOf(model: tfl.LayersModel): {
  config: { layers: LayerEntry[]; outputLayers?: unknown[] } & Record<string, unknown>;
  functional: boolean;
} {
  const config = JSON.parse(JSON.stringify(model.getConfig())) as {
    layers: LayerEntry[];
  } & Record<string, unknown>;
  return { config, functional: Array.isArray(config.outputLayers) };
}

function fromConfig(like: tfl.LayersModel, config: unknown): tfl.LayersModel {
  const cls = like.constructor as typeof tfl.LayersModel;
  return cls.fromConfig(cls, config as tf.serialization.ConfigDict, {}, true) as tfl.LayersModel;
}

/** Copy every weight of `to` from the layer of the same name in `from` (shapes must agree). */
function copyWeightsByLayer(from: tfl.LayersModel, to: tfl.LayersModel): void {
  tf.tidy(() => {
    for (const layer of to.layers) {
      if (layer.weights.length === 0 || layer.name === BINARY_LOGITS) continue;
      layer.setWeights(from.getLayer(layer.name).getWeights());
    }
  });
}

/**
 * A new model computing `model`'s logits: the output activation (softmax, or a one-unit sigmoid
 * followed by the fixed z ↦ [0, z]) replaced by linear. Same layer and weight names, weights
 * copied; the caller owns it. A model whose output is already linear is cloned as it is.
 */
export function logitsTwin(model: tfl.LayersModel): tfl.LayersModel {
  const d = describeModel(model);
  const { config, functional } = configOf(model);
  if (d.activationLayer) {
    const entry = config.layers.find((e) => (e.name ?? e.config.name) === d.activationLayer);
    if (!entry) throw new Error(`logitsTwin: no layer ${d.activationLayer} in the config`);
    entry.config.activation = 'linear';
  }
  if (d.outputActivation === 'sigmoid') {
    const dense = {
      units: 2,
      activation: 'linear',
      useBias: false,
      trainable: false,
      kernelInitializer: { className: 'Zeros', config: {} },
      name: BINARY_LOGITS,
    };
    if (functional) {
      const [out] = config.outputLayers as [string, number, number][];
      config.layers.push({
        name: BINARY_LOGITS,
        className: 'Dense',
        config: dense,
        inboundNodes: [[[out[0], out[1], out[2], {}]]],
      });
      config.outputLayers = [[BINARY_LOGITS, 0, 0]];
    } else {
      config.layers.push({ className: 'Dense', config: dense });
    }
  }
  // A Sequential grows a functional twin only through its own class: keep the class.
  const twin = fromConfig(model, config);
  try {
    copyWeightsByLayer(model, twin);
    if (d.outputActivation === 'sigmoid') {
      tf.tidy(() => twin.getLayer(BINARY_LOGITS).setWeights([tf.tensor2d([[0, 1]])]));
    }
  } catch (e) {
    twin.dispose();
    throw e;
  }
  return twin;
}

/**
 * `like`'s architecture (its output activation included) with the weights of `twin`, a logits
 * twin of it (or a model trained from one): what `unlearn` hands back for a softmax model.
 */
export function restoreOutputActivation(
  twin: tfl.LayersModel,
  like: tfl.LayersModel,
): tfl.LayersModel {
  const out = fromConfig(like, configOf(like).config);
  try {
    copyWeightsByLayer(twin, out);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * A fresh model of `model`'s architecture, its weights drawn by the model's own initialisers
 * reseeded from `seed` and each weight's name (the same seed gives the same weights): Retrain's
 * starting point for a model uib did not build. Frozen layers keep `model`'s weights.
 */
export function freshModelLike(model: tfl.LayersModel, seed: number): tfl.LayersModel {
  const { config } = configOf(model);
  for (const entry of config.layers) {
    const name = String(entry.name ?? entry.config.name);
    for (const [k, v] of Object.entries(entry.config)) {
      if (!k.endsWith('Initializer') || typeof v !== 'object' || v === null) continue;
      // Only initialisers that draw (they carry a `seed`, null when unseeded).
      const init = v as { config?: Record<string, unknown> };
      if (init.config && 'seed' in init.config) init.config.seed = hashSeed(seed, name, k);
    }
  }
  const cls = model.constructor as typeof tfl.LayersModel;
  const fresh = cls.fromConfig(
    cls,
    config as unknown as tf.serialization.ConfigDict,
  ) as tfl.LayersModel;
  try {
    tf.tidy(() => {
      for (const layer of fresh.layers) {
        const src = model.getLayer(layer.name);
        if (layer.weights.length > 0 && src.trainableWeights.length === 0)
          layer.setWeights(src.getWeights());
      }
    });
  } catch (e) {
    fresh.dispose();
    throw e;
  }
  return fresh;
}
