/**
 * Retrain — the gold standard: a fresh model of the original architecture, trained on D_r alone
 * with the recipe the original was trained with. Its initial weights and its data order come from
 * a seed of its own, drawn from the run's stream (and recorded): a Retrain that started from the
 * original's initial weights and shuffle would flatter every method that stays near θ̂ in the
 * weight and prediction distances. `independent: false` restores that coupling, for comparison.
 * A model uib did not build (no spec) starts from its own architecture and initialisers, reseeded.
 */
import { z } from 'zod';
import { freshModelLike } from '../../models/describe.ts';
import { buildModel } from '../../models/index.ts';
import { trainModel } from '../../train/train.ts';
import type { UnlearnMethod } from '../types.ts';
import { timed } from './common.ts';

const params = z.strictObject({
  epochs: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe("override the recipe's epochs (default: the recipe's)"),
  independent: z
    .boolean()
    .default(true)
    .describe("own initialisation and data order (false: the original's, coupled)"),
});

export const retrain: UnlearnMethod<typeof params> = {
  id: 'retrain',
  summary: 'Retrain from scratch on D_r with the original recipe (the gold standard)',
  params,
  readsRetain: true,
  supportsUib: false,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    // A model of the user's own has no spec: its own config, its initialisers reseeded.
    const seed = p.independent ? ctx.rng.nextUint32() : (ctx.spec?.seed ?? ctx.recipe.seed);
    const model = ctx.spec ? buildModel({ ...ctx.spec, seed }) : freshModelLike(ctx.original, seed);
    const recipe = {
      ...ctx.recipe,
      seed: p.independent ? seed : ctx.recipe.seed,
      ...(p.epochs !== undefined && { epochs: p.epochs }),
    };
    const result = await timed(phases, 'train', () =>
      trainModel(model, ctx.data.retain, recipe, {
        cost: ctx.cost,
        quiet: ctx.quiet,
        label: 'retrain',
      }),
    );
    return {
      model,
      phases,
      details: { epochs: result.epochs, steps: result.steps, seed, shuffleSeed: recipe.seed },
    };
  },
};
