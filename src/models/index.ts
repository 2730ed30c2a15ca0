/**
 * The model API: build a model from its spec, split its parameters into the groups θ^(l),
 * clone it, count its parameters. Models map `[b, ...inputShape]` to logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../core/errors.ts';
import { buildCnn } from './cnn.ts';
import { buildMlp } from './mlp.ts';
import { buildResnet18 } from './resnet.ts';
import type { Architecture, ModelSpec, ParamGroup, ParamRole, ParamTensor } from './types.ts';

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

/** Group of a layer: `block{k}_*` → `block_k`, `stem_*` → `stem`, others their own name. */
function groupName(layer: string): string {
  const block = /^block(\d+)_/.exec(layer);
  if (block) return `block_${block[1]}`;
  if (layer.startsWith('stem_')) return 'stem';
  return layer;
}

function layerKind(layer: tfl.layers.Layer): ParamTensor['layerKind'] | null {
  const cls = layer.getClassName();
  if (cls === 'Dense') return 'dense';
  if (cls === 'Conv2D') return 'conv';
  if (cls === 'BatchNormalization') return 'norm';
  return null;
}

const ROLES: Record<string, ParamRole> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'scale',
  beta: 'shift',
};

/**
 * Trainable parameters split into θ^(1..L) in forward order: one group per Dense/Conv layer
 * (MLP, CNN), one per residual block (ResNet: `stem`, `block_1`..`block_8`, `output`).
 */
export function paramGroups(model: tfl.LayersModel): ParamGroup[] {
  const groups: ParamGroup[] = [];
  const byName = new Map<string, ParamGroup>();
  for (const layer of model.layers) {
    const kind = layerKind(layer);
    if (!kind) continue;
    for (const variable of layer.trainableWeights) {
      const short = variable.originalName.split('/').pop() ?? '';
      const role = ROLES[short];
      if (!role)
        throw new Error(`paramGroups: unexpected weight ${variable.originalName} in ${layer.name}`);
      const name = groupName(layer.name);
      let g = byName.get(name);
      if (!g) {
        g = { name, index: groups.length, isOutput: layer.name === 'output', params: [] };
        byName.set(name, g);
        groups.push(g);
      }
      g.params.push({ variable, role, layer: layer.name, layerKind: kind });
    }
  }
  return groups;
}
