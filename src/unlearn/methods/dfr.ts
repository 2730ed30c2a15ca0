/**
 * DFR — Deep Feature Reweighting (Kirichenko, Izmailov & Wilson 2023, "Last layer re-training is
 * sufficient for robustness to spurious correlations"; their DFR on a balanced training subset):
 *
 *   1. groups over D_r: g = (y, a), a the group attribute the data carry (meta.bias, else
 *      meta.group), or g = y where they carry none;
 *   2. a group-balanced subset B ⊂ D_r: m samples of every non-empty group, m = the smallest
 *      group's size (a smaller group gives all it has when `groupSize` is set higher);
 *   3. θ̂'s feature extractor frozen — run in inference mode, only the classifier's variables
 *      handed to the loop, so every other weight and BatchNorm statistic stays bit-identical — the
 *      classifier (the last Dense layer) re-initialised to 0 (`init`: or kept at θ̂'s) and fitted
 *      on B:
 *        mean CE(B) + ‖s ⊙ w‖₁ / (C·|B|)   (ℓ1, the authors'; ℓ2: ‖s ⊙ w‖₂² / (2·C·|B|)),
 *      s the features' standard deviations over B: the authors' sklearn LogisticRegression(C) on
 *      StandardScaler output, written for the raw features (w_std = s ⊙ w), in mean-loss units;
 *   4. steps 2-3 on `subsets` independent draws of B, the fitted classifiers averaged (theirs: 10).
 *
 * "Group-balanced" in an unlearning request. A method is given D_r and ΔD; ΔD is to be forgotten,
 * so B is drawn from D_r alone and no sample of ΔD is ever trained on, under any label. The group a
 * bias request removes — (k, pattern present) — is therefore empty in D_r and cannot be balanced
 * towards: B holds the pattern only on the other classes' samples (the q share the scenarios put
 * there), now as often as their clean samples, so the refitted classifier learns "pattern ⇒ not k"
 * more strongly than D_r's own proportions teach it (Retrain learns it at D_r's proportions: its
 * ρ is below 0). Where the data carry no attribute (a user's own data, class or random requests),
 * B is class-balanced D_r: last-layer retraining on D_r with the classes reweighted. The record
 * names the groups of ΔD that D_r lacks.
 *
 * Departures, for a model trained by uib's loop instead of sklearn: the fit is a fixed number of
 * optimiser steps (Adam), not liblinear run to convergence; the bias is not penalised.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import { describeModel } from '../../models/describe.ts';
import { cloneModel } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';
import type { Penalty } from '../../train/types.ts';
import type { UnlearnMethod } from '../types.ts';
import { disposeOnThrow, frozenLogits, optimizerOf, timed, trainingParams } from './common.ts';

export const BALANCE_MODES = ['auto', 'group', 'class', 'none'] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];
export type GroupAttribute = 'bias' | 'group';

const params = z.strictObject({
  ...trainingParams({ epochs: 1, lr: 0.01, optimizer: 'adam' }),
  // A convex fit of one layer needs a number of optimiser steps, whatever |B| is (B can be a few
  // dozen samples): 300 Adam steps of lr 0.01 can move a weight from 0 by up to 3.
  steps: z
    .number()
    .int()
    .min(1)
    .max(1e6)
    .default(300)
    .describe('optimiser steps per fit of the classifier'),
  epochs: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe('passes over the balanced subset per fit, instead of steps'),
  balance: z
    .enum(BALANCE_MODES)
    .default('auto')
    .describe(
      'what B is balanced over: group (label × attribute), class, none (all of D_r); auto: group where D_r has an attribute, else class',
    ),
  attribute: z
    .enum(['bias', 'group'])
    .optional()
    .describe('the group attribute: meta.bias (b(x)) or meta.group; default bias, else group'),
  groupSize: z
    .number()
    .int()
    .min(1)
    .max(1e9)
    .optional()
    .describe('samples drawn per group (a smaller group gives all it has); default: the smallest'),
  penalty: z
    .enum(['l1', 'l2'])
    .default('l1')
    .describe("regularisation of the classifier's kernel (the authors': l1)"),
  C: z
    .number()
    .positive()
    .max(1e9)
    .default(1)
    .describe(
      "inverse regularisation strength, sklearn's C on standardised features (their grid 1 … 0.01)",
    ),
  init: z
    .enum(['zero', 'original'])
    .default('zero')
    .describe("the classifier's start: zero (re-initialised) or θ̂'s (re-fitted)"),
  subsets: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe('independent balanced subsets, one classifier fitted on each, averaged'),
});

/** The positions of D_r by group, and what the groups are. */
export interface RetainGroups {
  by: 'group' | 'class' | 'none';
  attribute: GroupAttribute | null;
  /** Positions by group key (`y/a` as worst-group accuracy keys them, `y`, `all`), first seen first. */
  members: Map<string, number[]>;
}

/** The attribute array (indexed by source sample) `which` names, or the default one, or null. */
function attributeOf(
  ds: Dataset,
  which: GroupAttribute | undefined,
): { name: GroupAttribute; values: Uint8Array } | null {
  const meta = ds.source.meta;
  if (which) {
    const values = meta[which];
    if (!values)
      throw new UsageError('dfr.attribute', `${ds.name} carries no meta.${which}; got "${which}"`);
    return { name: which, values };
  }
  if (meta.bias) return { name: 'bias', values: meta.bias };
  if (meta.group) return { name: 'group', values: meta.group };
  return null;
}

/** The groups of `ds` that DFR balances over (the header: the attribute as the data carry it). */
export function retainGroups(
  ds: Dataset,
  balance: BalanceMode,
  attribute?: GroupAttribute,
): RetainGroups {
  const grouped = balance === 'auto' || balance === 'group';
  if (attribute && !grouped)
    throw new UsageError(
      'dfr.attribute',
      `applies to balance group or auto; got balance ${balance}`,
    );
  const attr = grouped ? attributeOf(ds, attribute) : null;
  if (balance === 'group' && !attr)
    throw new UsageError(
      'dfr.balance',
      `group needs a group attribute (meta.bias or meta.group) on D_r; ${ds.name} carries none; use class`,
    );
  const by = balance === 'none' ? 'none' : attr ? 'group' : 'class';
  const members = new Map<string, number[]>();
  for (let i = 0; i < ds.length; i++) {
    const key = groupKey(ds, i, by, attr?.values);
    const list = members.get(key);
    if (list) list.push(i);
    else members.set(key, [i]);
  }
  return { by, attribute: attr?.name ?? null, members };
}

function groupKey(
  ds: Dataset,
  i: number,
  by: RetainGroups['by'],
  values: Uint8Array | undefined,
): string {
  if (by === 'none') return 'all';
  const y = ds.label(i);
  return by === 'group' ? `${y}/${values![ds.at(i)]}` : `${y}`;
}

/** B: up to `perGroup` positions of every group, drawn without replacement. */
export function drawPerGroup(members: Map<string, number[]>, perGroup: number, rng: Rng): number[] {
  const out: number[] = [];
  for (const list of members.values()) {
    const order = rng.permutation(list.length);
    const take = Math.min(perGroup, list.length);
    for (let i = 0; i < take; i++) out.push(list[order[i]]);
  }
  return out;
}

/** The classifier: the model's last trainable layer, which DFR re-fits; it must be Dense. */
export function classifierLayer(model: tfl.LayersModel): string {
  const name = describeModel(model).outputLayer;
  const cls = name ? model.getLayer(name).getClassName() : 'none';
  if (!name || cls !== 'Dense')
    throw new UsageError(
      'original model',
      `dfr re-fits the last trainable layer, which must be Dense; ${name ?? 'the model'} is ${cls}`,
    );
  return name;
}

/**
 * s: the standard deviation of each input feature of `layer` over `positions` of `ds` (inference
 * mode; population sd, StandardScaler's; 1 for a constant feature, as StandardScaler takes it).
 * Batch moments are merged exactly (Chan et al.), in float64.
 */
function featureScale(
  model: tfl.LayersModel,
  layer: string,
  ds: Dataset,
  positions: readonly number[],
  cost: CostCounter,
  batchSize = 256,
): Float32Array {
  // Shares the model's layers and owns no tensors: nothing to dispose.
  const features = tfl.model({
    inputs: model.inputs,
    outputs: model.getLayer(layer).input as tfl.SymbolicTensor,
  });
  let n = 0;
  let mean: Float64Array | null = null;
  let m2: Float64Array | null = null;
  for (let start = 0; start < positions.length; start += batchSize) {
    const pos = positions.slice(start, start + batchSize);
    const [bm, bv, rows] = tf.tidy(() => {
      const { xs } = ds.tensors(pos);
      const f = features.apply(xs, { training: false }) as tf.Tensor;
      const flat = tf.reshape(f, [-1, f.shape[f.rank - 1] as number]);
      const { mean, variance } = tf.moments(flat, 0);
      return [mean.dataSync(), variance.dataSync(), flat.shape[0]] as const;
    });
    cost.addForward(pos.length, 'retain');
    if (!mean || !m2) {
      mean = Float64Array.from(bm);
      m2 = Float64Array.from(bv, (v) => v * rows);
      n = rows;
      continue;
    }
    const total = n + rows;
    for (let j = 0; j < mean.length; j++) {
      const delta = bm[j] - mean[j];
      mean[j] += (delta * rows) / total;
      m2[j] += bv[j] * rows + (delta * delta * n * rows) / total;
    }
    n = total;
  }
  return Float32Array.from(m2 ?? [], (v) => {
    const sd = Math.sqrt(Math.max(0, v / n));
    return sd > 0 ? sd : 1;
  });
}

/** ‖s ⊙ w‖₁·weight (l1) or ‖s ⊙ w‖₂²·weight/2 (l2) on the kernel w [d, units], s [d]. */
function classifierPenalty(
  kernel: tf.Variable,
  scale: Float32Array,
  kind: 'l1' | 'l2',
  weight: number,
): Penalty & { dispose(): void } {
  const s = tf.keep(tf.tensor2d(scale, [scale.length, 1]));
  return {
    name: `dfr-${kind}`,
    value: () =>
      tf.tidy(() => {
        const w = tf.mul(kernel, s);
        return (
          kind === 'l1'
            ? tf.mul(tf.sum(tf.abs(w)), weight)
            : tf.mul(tf.sum(tf.square(w)), weight / 2)
        ) as tf.Scalar;
      }),
    dispose: () => s.dispose(),
  };
}

export const dfr: UnlearnMethod<typeof params> = {
  id: 'dfr',
  summary:
    "DFR: θ̂'s features frozen, its last Dense layer re-fitted on a group-balanced subset of D_r",
  params,
  readsRetain: true,
  // DFR discards θ̂'s classifier and fits a new one; a bound centred near θ̂'s would undo that,
  // and on the frozen groups R is a constant.
  supportsUib: false,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const name = classifierLayer(ctx.original);
    const retain = ctx.data.retain;
    if (retain.length === 0) throw new UsageError('retain set', 'is empty; dfr fits D_r');
    const groups = retainGroups(retain, p.balance, p.attribute);
    const smallest = Math.min(...[...groups.members.values()].map((m) => m.length));
    const perGroup = p.groupSize ?? smallest;
    const draws = ctx.rng.fork('dfr-subsets');
    const subsets = Array.from({ length: p.subsets }, () =>
      drawPerGroup(groups.members, perGroup, draws),
    );
    const model = cloneModel(ctx.original);
    const fitted = await disposeOnThrow(model, async () => {
      const head = model.getLayer(name);
      const vars = head.trainableWeights.map((w) => w.read() as tf.Variable);
      const kernel = head.trainableWeights.find((w) => w.originalName === `${name}/kernel`);
      if (!kernel) throw new Error(`dfr: ${name} has no kernel`);
      const union = [...new Set(subsets.flat())].sort((a, b) => a - b);
      const scale = await timed(phases, 'features', () =>
        featureScale(model, name, retain, union, ctx.cost),
      );
      const n = subsets[0].length;
      const penalty = classifierPenalty(
        kernel.read() as tf.Variable,
        scale,
        p.penalty,
        1 / (p.C * n),
      );
      // The start of every fit: zeros (a fresh logistic regression), or θ̂'s classifier.
      const start =
        p.init === 'zero'
          ? vars.map((v) => tf.keep(tf.zerosLike(v)))
          : ctx.original.getLayer(name).getWeights();
      const sums = vars.map((v) => new Float64Array(v.size));
      let steps = 0;
      try {
        for (const [s, subset] of subsets.entries()) {
          tf.tidy(() => head.setWeights(start));
          const data = retain.subset(subset, `${retain.name} balanced`);
          const run = await timed(phases, 'fit', () =>
            ctx.train({
              model,
              streams: { retain: { data, batchSize: p.batchSize } },
              epochOver: 'retain',
              ...(p.epochs !== undefined ? { epochs: p.epochs } : { steps: p.steps }),
              variables: vars,
              // Inference mode: the features are θ̂'s, BatchNorm statistics and Dropout untouched.
              loss: (b) => softmaxCrossEntropy(frozenLogits(model, b.retain.x), b.retain.y),
              penalties: [penalty],
              optimizer: optimizerOf(p),
              rng: ctx.rng.fork(`dfr-fit-${s}`),
              cost: ctx.cost,
              quiet: ctx.quiet,
              label: `dfr ${s + 1}/${subsets.length}`,
            }),
          );
          steps += run.steps;
          vars.forEach((v, i) => {
            const w = v.dataSync();
            for (let j = 0; j < w.length; j++) sums[i][j] += w[j];
          });
        }
        if (subsets.length > 1)
          tf.tidy(() =>
            head.setWeights(
              sums.map((sum, i) =>
                tf.tensor(
                  Float32Array.from(sum, (x) => x / subsets.length),
                  vars[i].shape,
                ),
              ),
            ),
          );
      } finally {
        penalty.dispose();
        if (p.init === 'zero') tf.dispose(start);
      }
      return steps;
    });
    // What the request removed that D_r cannot balance towards: ΔD's groups with no D_r sample
    // (labels and attributes read, no sample trained on).
    const forget = ctx.data.forget;
    const absent = new Set<string>();
    const attr = groups.attribute ? forget.source.meta[groups.attribute] : undefined;
    for (let i = 0; i < (groups.by !== 'group' || attr ? forget.length : 0); i++) {
      const key = groupKey(forget, i, groups.by, attr);
      if (!groups.members.has(key)) absent.add(key);
    }
    return {
      model,
      phases,
      details: {
        classifier: name,
        balance: groups.by,
        attribute: groups.attribute,
        groups: [...groups.members].map(([group, m]) => ({
          group,
          retain: m.length,
          taken: Math.min(perGroup, m.length),
        })),
        groupSize: perGroup,
        subsetSize: subsets[0].length,
        subsets: subsets.length,
        forgetGroupsAbsentFromRetain: [...absent],
        steps: fitted,
      },
    };
  },
};
