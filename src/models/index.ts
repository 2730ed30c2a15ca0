/**
 * The model API: build a model from its spec, split its parameters into the groups θ^(l),
 * clone it, count its parameters. Models map `[b, ...inputShape]` to logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../core/errors.ts';
import { buildCnn } from './cnn.ts';
import { describeModel, orderedLayers, WEIGHTED_LAYERS } from './describe.ts';
import { buildMlp } from './mlp.ts';
import { buildResnet18 } from './resnet.ts';
import type { Architecture, ModelSpec, ParamGroup, ParamRole } from './types.ts';

export type { Architecture, ModelSpec, ParamGroup, ParamRole, ParamTensor } from './types.ts';
export const ARCHITECTURES: readonly Architecture[] = ['mlp', 'cnn', 'resnet18'];

// The spec each model was built from (checkpoints and Retrain read it back).
const specs = new WeakMap<tfl.LayersModel, ModelSpec>();

/** The spec `model` was built (or loaded, or cloned) from, if uib made it. */
export function specOf(model: tfl.LayersModel): ModelSpec | undefined {
  return specs.get(model);
}

/** Remember `spec` as the spec of `model` (used by the checkpoint loader). */
export function attachSpec(model: tfl.LayersModel, spec: ModelSpec): void {
  specs.set(model, structuredClone(spec));
}

/** Check a spec; throws UsageError naming the field (`where` prefixes it). */
export function validateSpec(spec: ModelSpec, where = 'model'): void {
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!ARCHITECTURES.includes(spec.arch)) {
    throw new UsageError(
      `${where}.arch`,
      `must be one of ${ARCHITECTURES.join(', ')}; got "${spec.arch}"`,
    );
  }
  if (
    !Array.isArray(spec.inputShape) ||
    spec.inputShape.length === 0 ||
    !spec.inputShape.every(posInt)
  ) {
    throw new UsageError(
      `${where}.inputShape`,
      `must be a non-empty list of positive integers; got ${JSON.stringify(spec.inputShape)}`,
    );
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new UsageError(`${where}.numClasses`, `must be an integer ≥ 2; got ${spec.numClasses}`);
  }
  if (!Number.isInteger(spec.seed)) {
    throw new UsageError(`${where}.seed`, `must be an integer; got ${spec.seed}`);
  }
  if (spec.hidden !== undefined && (!Array.isArray(spec.hidden) || !spec.hidden.every(posInt))) {
    throw new UsageError(
      `${where}.hidden`,
      `must be a list of positive integers; got ${JSON.stringify(spec.hidden)}`,
    );
  }
  if (spec.width !== undefined && !posInt(spec.width)) {
    throw new UsageError(`${where}.width`, `must be a positive integer; got ${spec.width}`);
  }
  if (spec.arch !== 'mlp') {
    const [h, w] = spec.inputShape;
    const minSide = spec.arch === 'cnn' ? 10 : 8;
    if (spec.inputShape.length !== 3 || h < minSide || w < minSide) {
      throw new UsageError(
        `${where}.inputShape`,
        `${spec.arch} needs an image shape [h, w, c] with h, w ≥ ${minSide}; got ${JSON.stringify(spec.inputShape)}`,
      );
    }
  }
}

/** A fresh model with seeded weights: the same spec gives the same weights. */
export function buildModel(spec: ModelSpec): tfl.LayersModel {
  validateSpec(spec);
  const model =
    spec.arch === 'mlp'
      ? buildMlp(spec)
      : spec.arch === 'cnn'
        ? buildCnn(spec)
        : buildResnet18(spec);
  attachSpec(model, spec);
  return model;
}

/** Same architecture and weights (moving statistics included), independent variables. */
export function cloneModel(model: tfl.LayersModel): tfl.LayersModel {
  // The model's own class rebuilds its config (a Sequential's config is a layer list, not a
  // graph); fastWeightInit skips the random init, the weights are copied right after.
  const cls = model.constructor as typeof tfl.LayersModel;
  const copy = cls.fromConfig(
    cls,
    model.getConfig() as unknown as tf.serialization.ConfigDict,
    {},
    true,
  ) as tfl.LayersModel;
  tf.tidy(() => copy.setWeights(model.getWeights().map((w) => w.clone())));
  const spec = specOf(model);
  if (spec) attachSpec(copy, spec);
  return copy;
}

/** Number of trainable scalars (`all`: moving statistics too). */
export function countParams(model: tfl.LayersModel, opts: { all?: boolean } = {}): number {
  const weights = opts.all ? model.weights : model.trainableWeights;
  return weights.reduce((n, w) => n + w.shape.reduce((a, b) => (a ?? 1) * (b ?? 1), 1)!, 0);
}

const ROLES: Record<string, ParamRole> = {
  kernel: 'weight',
  depthwise_kernel: 'weight',
  pointwise_kernel: 'weight',
  embeddings: 'weight',
  bias: 'bias',
  gamma: 'scale',
  beta: 'shift',
};

/**
 * Trainable parameters split into θ^(1..L) in forward order, from the layer graph alone: the
 * layers (in topological order) are cut wherever a single edge carries all the data onward; the
 * trainable layers between two cuts form one group (a residual block: both branches), and a
 * normalisation layer with nothing else trainable in its span joins the group before it (its
 * scale belongs to the layer it normalises). The group of the last trainable layer is the
 * output group. MLP, CNN: one group per Dense/Conv layer; ResNet: `stem`, `block_1`..`block_8`,
 * `output`. Names label the groups, they never shape them: a group is named after its first
 * layer, uib's ResNet's as it always was.
 */
export function paramGroups(model: tfl.LayersModel): ParamGroup[] {
  const d = describeModel(model);
  const layers = orderedLayers(model);
  const pos = new Map(layers.map((l, i) => [l.name, i]));
  // crossing[i]: edges from a layer at ≤ i to one at > i. One edge: a cut after position i.
  const crossing = new Int32Array(layers.length);
  for (const info of d.layers) {
    const to = pos.get(info.name)!;
    for (const from of info.inputs) for (let i = pos.get(from)!; i < to; i++) crossing[i]++;
  }
  const spans: tfl.layers.Layer[][] = [[]];
  layers.forEach((l, i) => {
    spans[spans.length - 1].push(l);
    if (crossing[i] === 1) spans.push([]);
  });
  const resnet = specOf(model)?.arch === 'resnet18';
  const groups: ParamGroup[] = [];
  const names = new Set<string>();
  for (const span of spans) {
    const members = span.filter((l) => l.trainableWeights.length > 0);
    if (members.length === 0) continue;
    const kinds = members.map((l) => WEIGHTED_LAYERS[l.getClassName()]);
    const normOnly = kinds.every((k) => k === 'norm' || k === 'layernorm');
    let g = normOnly ? groups[groups.length - 1] : undefined;
    if (!g) {
      let name = resnet ? resnetGroupName(members[0].name) : members[0].name;
      while (names.has(name)) name = `${name}_`;
      names.add(name);
      g = { name, index: groups.length, isOutput: false, params: [] };
      groups.push(g);
    }
    members.forEach((layer, li) => {
      const kind = kinds[li];
      if (!kind)
        throw new Error(`paramGroups: ${layer.name} (${layer.getClassName()}) is not supported`);
      if (layer.name === d.outputLayer) g.isOutput = true;
      for (const variable of layer.trainableWeights) {
        const weight = variable.originalName.split('/').pop() ?? '';
        const role = ROLES[weight];
        if (!role)
          throw new Error(
            `paramGroups: unexpected weight ${variable.originalName} in ${layer.name}`,
          );
        g.params.push({ variable, role, layer: layer.name, layerKind: kind, weight });
      }
    });
  }
  return groups;
}

/** uib's ResNet labels: `block{k}_*` → `block_k`, `stem_*` → `stem`, others their own name. */
function resnetGroupName(layer: string): string {
  const block = /^block(\d+)_/.exec(layer);
  if (block) return `block_${block[1]}`;
  if (layer.startsWith('stem_')) return 'stem';
  return layer;
}
