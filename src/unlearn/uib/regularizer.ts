/**
 * The UIB bound as a loss term: (β / n_r) · Σ_l R^(l)(θ^(l)) with
 *   R^(l)(θ) = ½ (θ^(l) − μ^(l))ᵀ Λ^(l) (θ^(l) − μ^(l))
 * (the KL of the per-group Gaussian posterior to the dynamic prior, up to constants; see
 * docs/method.md). It is a `Penalty` of the training loop, so `<method>+uib` is the method's loss
 * plus this term. The centre is μ (default) or θ̂ (`centre: 'original'`, the ablation).
 * Quadratic forms per block: diagonal Σ (λ + n_r·F) d²; K-FAC λ‖D‖² + n_r·Σ (A D) ⊙ (D G) with D the
 * kernel (and bias row) as a [fan-in(+1), units] matrix; dense λ‖d‖² + dᵀ(n_r·H)d.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { cloneModel, paramGroups } from '../../models/index.ts';
import type { ParamGroup } from '../../models/types.ts';
import type { Penalty } from '../../train/types.ts';
import type { UnlearnContext } from '../types.ts';
import { buildPrior, checkMatch, type Prior } from './prior.ts';
import { type PriorParams, priorOptionsFrom, priorParamsShape } from './prior-params.ts';

export type PenaltyCentre = 'prior' | 'original';

/** A penalty that owns tensors (μ, Λ): call `dispose()` when training is over. */
export interface DisposablePenalty extends Penalty {
  dispose(): void;
}

/** (β / n_r)·Σ_l R^(l) over `model`'s variables, matched to the prior's groups by order and shape. */
export function uibRegularizer(
  prior: Prior,
  model: LayersModel,
  opts: { beta: number; nRetain: number; centre?: PenaltyCentre; groups?: ParamGroup[] },
): DisposablePenalty {
  const groups = opts.groups ?? paramGroups(model);
  checkMatch(groups, prior);
  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  const centreOf = (t: Prior['groups'][number]['tensors'][number]) =>
    opts.centre === 'original' ? t.theta : t.mean;
  // Per group: closures computing ½ dᵀΛd from the live variables.
  const terms = groups.map((g, gi) => {
    const pg = prior.groups[gi];
    const vars = g.params.map((p) => p.variable.read() as tf.Variable);
    const centres = pg.tensors.map((t) => keep(tf.tensor(centreOf(t), t.shape)));
    const diagPrec = pg.tensors.map((t) =>
      t.diag ? keep(tf.tidy(() => tf.add(tf.tensor(t.diag!, t.shape), pg.lambda))) : null,
    );
    const kfac = pg.kfac.map((b) => ({
      b,
      A: keep(tf.tensor2d(Float32Array.from(b.A), [b.dimA, b.dimA])),
      G: keep(tf.tensor2d(Float32Array.from(b.G), [b.dimG, b.dimG])),
    }));
    const dense = pg.dense
      ? keep(tf.tensor2d(Float32Array.from(pg.dense.H), [pg.dense.dim, pg.dense.dim]))
      : null;
    return () => {
      const d = vars.map((v, i) => tf.sub(v, centres[i]));
      const parts: tf.Scalar[] = [];
      if (dense) {
        const flat = tf.concat(d.map((x) => tf.reshape(x, [-1])));
        parts.push(
          tf.add(
            tf.mul(pg.lambda, tf.sum(tf.square(flat))),
            tf.sum(tf.mul(flat, tf.squeeze(tf.matMul(dense, tf.reshape(flat, [-1, 1]))))),
          ) as tf.Scalar,
        );
      } else {
        d.forEach((x, i) => {
          if (diagPrec[i]) parts.push(tf.sum(tf.mul(diagPrec[i]!, tf.square(x))));
        });
        for (const { b, A, G } of kfac) {
          const rows = [tf.reshape(d[b.kernel], [b.dimA - (b.bias !== undefined ? 1 : 0), b.dimG])];
          if (b.bias !== undefined) rows.push(tf.reshape(d[b.bias], [1, b.dimG]));
          const D = rows.length > 1 ? tf.concat(rows, 0) : rows[0];
          const quad = tf.sum(tf.mul(tf.matMul(A, D), tf.matMul(D, G)));
          parts.push(
            tf.add(
              tf.mul(pg.lambda, tf.sum(tf.square(D))),
              tf.mul(opts.nRetain, quad),
            ) as tf.Scalar,
          );
        }
      }
      return tf.mul(0.5, parts.length ? tf.addN(parts) : tf.scalar(0)) as tf.Scalar;
    };
  });
  const scale = opts.beta / opts.nRetain;
  return {
    name: opts.centre === 'original' ? 'uib-original-centre' : 'uib',
    value: () => tf.tidy(() => tf.mul(scale, tf.addN(terms.map((t) => t()))) as tf.Scalar),
    dispose: () => tf.dispose(owned),
  };
}

/**
 * The plug-in every `<method>+uib` uses: `uibPenalty(prior, beta, nRetain)(model)` is the bound
 * over the model being trained (`UnlearnContext.uibPenalty`). Call `dispose()` on the result after
 * the run.
 */
export function uibPenalty(
  prior: Prior,
  beta: number,
  nRetain: number,
  centre: PenaltyCentre = 'prior',
): (model: LayersModel) => DisposablePenalty {
  return (model) => uibRegularizer(prior, model, { beta, nRetain, centre });
}

/** The bound's value Σ_l R^(l) at the model's current weights (unscaled), for records and tests. */
export function boundValue(
  prior: Prior,
  model: LayersModel,
  centre: PenaltyCentre = 'prior',
): number {
  const p = uibRegularizer(prior, model, { beta: 1, nRetain: 1, centre });
  try {
    const v = p.value({ step: 0, epoch: 0, totalSteps: 1, progress: 0 });
    const out = v.dataSync()[0];
    v.dispose();
    return out;
  } finally {
    p.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The plug-in the registry loads for `<id>+uib` (see unlearn/registry.ts).

/** The prior's hyper-parameters, merged into every `<id>+uib` variant's (β is the registry's). */
export const priorParams = priorParamsShape;

/** The dynamic prior of a `<id>+uib` run and the penalty factory over it. */
export interface UibPlugin {
  prior: Prior;
  beta: number;
  centre: PenaltyCentre;
  /** The bound over `model` (the model being trained); each penalty owns tensors: dispose it. */
  penalty: (model: LayersModel) => DisposablePenalty;
}

/** Builds the dynamic prior for the request in `ctx` (at θ̂, on a clone) and the penalty factory. */
export async function buildUibPlugin(
  ctx: UnlearnContext,
  params: Record<string, unknown>,
): Promise<UibPlugin> {
  const p = z.object(priorParamsShape).parse(params) as PriorParams;
  const beta = typeof params.beta === 'number' ? params.beta : 1;
  const work = cloneModel(ctx.original);
  try {
    const groups = paramGroups(work);
    const opts = priorOptionsFrom(p, groups, {
      // Its own stream: building the prior must not shift the base method's draws.
      rng: ctx.stream('uib-prior'),
      cost: ctx.cost,
      fisherCache: ctx.fisherCache,
      model: ctx.original,
    });
    const prior = await buildPrior(work, groups, ctx.data, opts);
    return {
      prior,
      beta,
      centre: p.centre,
      penalty: uibPenalty(prior, beta, ctx.data.retain.length, p.centre),
    };
  } finally {
    work.dispose();
  }
}
