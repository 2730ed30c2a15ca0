/**
 * UIB-IF — the Unlearning Information Bottleneck's algorithm (docs/method.md):
 *   1. g_f over ΔD; F_r (subsample of D_r, or cached F_D minus F_f); λ_l per group;
 *   2. the dynamic prior μ^(l), Λ^(l) with the per-tensor trust region and the α line search;
 *   3. start at μ and minimise CE(D_r) + (β/n_r)·Σ_l R^(l) for E epochs or S steps.
 * E = 0 returns θ_u = μ (the one-shot step; small checks found it unusable alone).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel, paramGroups } from '../../models/index.ts';
import type { Penalty } from '../../train/types.ts';
import type { UnlearnMethod } from '../types.ts';
import { assignPriorMean, buildPrior } from '../uib/prior.ts';
import { type PriorParams, priorOptionsFrom, priorParamsShape } from '../uib/prior-params.ts';
import { boundValue, type DisposablePenalty, uibRegularizer } from '../uib/regularizer.ts';
import { fineTuneOnRetain, trainingParams } from './common.ts';

const params = z.strictObject({
  ...priorParamsShape,
  ...trainingParams({ epochs: 0.1, lr: 0.01, batchSize: 128 }),
  // The repair after the step needs a number of optimiser steps, not a share of D_r: a fixed
  // budget keeps UIB-IF's cost independent of n (docs/method.md §7 — 0.1 epoch was 14 steps at
  // n = 20k and 5 at n = 6k, where it erased class 3).
  steps: z
    .number()
    .int()
    .min(0)
    .default(40)
    .describe('fine-tuning steps on D_r from μ; 0 = θ_u = μ (the one-shot step)'),
  epochs: z
    .number()
    .min(0)
    .max(1000)
    .optional()
    .describe('fine-tuning passes over D_r instead of steps; 0 = θ_u = μ'),
  beta: z
    .number()
    .min(0)
    .max(1e9)
    .default(1)
    .describe('β: weight of the bound R (scaled by 1/n_r)'),
  l2: z
    .number()
    .min(0)
    .default(0)
    .describe(
      'L2 coefficient (mean-loss form) of the original objective, added to the fine-tuning loss',
    ),
});

/** (l2/2)·‖θ‖² over the model's trainable weights. */
function l2Penalty(vars: tf.Variable[], l2: number): Penalty {
  return {
    name: 'l2',
    value: () =>
      tf.tidy(() => tf.mul(l2 / 2, tf.addN(vars.map((v) => tf.sum(tf.square(v))))) as tf.Scalar),
  };
}

export const uibIf: UnlearnMethod<typeof params> = {
  id: 'uib-if',
  summary: 'UIB-IF: dynamic Laplace prior step from θ̂, then fine-tune on D_r under the UIB bound',
  params,
  readsRetain: true,
  supportsUib: false, // the bound is already part of its loss
  async run(ctx, p) {
    const model = cloneModel(ctx.original);
    const groups = paramGroups(model);
    const opts = priorOptionsFrom(p as PriorParams, groups, {
      rng: ctx.rng.fork('uib-prior'),
      cost: ctx.cost,
      fisherCache: ctx.fisherCache,
      model: ctx.original,
    });
    const prior = await buildPrior(model, groups, ctx.data, opts);
    const phases: Record<string, number> = { ...prior.record.timeMs, finetune: 0 };
    assignPriorMean(groups, prior);

    const nRetain = ctx.data.retain.length;
    const details: Record<string, unknown> = {
      prior: prior.record,
      boundAtMean: boundValue(prior, model, p.centre),
    };
    const budget =
      p.epochs !== undefined ? { epochs: p.epochs } : { steps: p.steps > 0 ? p.steps : undefined };
    if ((budget.epochs ?? 0) > 0 || budget.steps !== undefined) {
      const bound: DisposablePenalty = uibRegularizer(prior, model, {
        beta: p.beta,
        nRetain,
        centre: p.centre,
        groups,
      });
      const penalties: Penalty[] = p.beta > 0 ? [bound] : [];
      if (p.l2 > 0)
        penalties.push(
          l2Penalty(
            model.trainableWeights.map((w) => w.read() as tf.Variable),
            p.l2,
          ),
        );
      try {
        const run = await fineTuneOnRetain(ctx, model, p, budget, 'uib-if', penalties);
        phases.finetune = run.timeMs;
        details.steps = run.steps;
        details.history = run.history;
      } finally {
        bound.dispose();
      }
      details.boundAtEnd = boundValue(prior, model, p.centre);
    }
    return { model, phases, details };
  },
};
