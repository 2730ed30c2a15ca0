/** random: forget a seeded random fraction of the training set. */
import { UsageError } from '../../core/errors.ts';
import { rngFor } from '../../core/rng.ts';
import { type ScenarioKind, toSource } from './common.ts';
import type { ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'random' }>;

export const random: ScenarioKind<P> = {
  id: 'random',
  summary: 'a seeded random fraction of the training set',
  plan(ctx, p) {
    const n = ctx.train.length;
    const k = Math.round(p.forgetFraction * n);
    if (k === 0 || k === n) {
      throw new UsageError(
        '--forget-fraction',
        `${p.forgetFraction} of ${n} training samples leaves an empty ${k === 0 ? 'forget' : 'retain'} set`,
      );
    }
    const perm = rngFor(ctx.seed, 'random-forget').permutation(n);
    const forget = toSource(ctx.train, Array.from(perm.subarray(0, k)));
    return { forget, patterned: null, colours: null };
  },
  materialise: (ctx) => ({ train: ctx.train, test: ctx.test }),
};
