/**
 * Retrain — the gold standard: a fresh model from the original architecture and seed, trained on
 * D_r alone with the recipe the original was trained with. Every metric is compared to it.
 */
import { z } from 'zod';
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
});

export const retrain: UnlearnMethod<typeof params> = {
  id: 'retrain',
  summary: 'Retrain from scratch on D_r with the original recipe (the gold standard)',
  params,
  readsRetain: true,
  supportsUib: false,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const model = buildModel(ctx.spec);
    const recipe = p.epochs === undefined ? ctx.recipe : { ...ctx.recipe, epochs: p.epochs };
    const result = await timed(phases, 'train', () =>
      trainModel(model, ctx.data.retain, recipe, {
        cost: ctx.cost,
        quiet: ctx.quiet,
        label: 'retrain',
      }),
    );
    return { model, phases, details: { epochs: result.epochs, steps: result.steps } };
  },
};
