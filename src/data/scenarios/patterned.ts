/**
 * Shared by `pattern` and `bias`: pick which training samples of class k (fraction rho) and of the
 * other classes (fraction q) carry the pattern, and which half of the test set does; then build
 * the patterned copies. ΔD = the patterned samples of class k; labels never change.
 */
import { rngFor } from '../../core/rng.ts';
import { Dataset } from '../dataset.ts';
import {
  type BuildContext,
  checkClass,
  type Parts,
  type Plan,
  patternedCopy,
  positionsByClass,
  requireNonEmptyForget,
  requirePatternFits,
  toSource,
} from './common.ts';
import type { Manifest } from './manifest.ts';

function pick(
  positions: readonly number[],
  fraction: number,
  seed: number,
  ...parts: (string | number)[]
): number[] {
  const k = Math.round(fraction * positions.length);
  const perm = rngFor(seed, ...parts).permutation(positions.length);
  return Array.from(perm.subarray(0, k), (j) => positions[j]);
}

/** The plan of a patterned scenario, after checking that class k exists and `corruption` fits. */
export function planPatterned(
  ctx: BuildContext,
  corruption: string,
  k: number,
  rho: number,
  q: number,
  testFraction: number,
): Plan {
  checkClass(ctx, k, '--class');
  requirePatternFits(ctx, corruption);
  const { inK, notK } = positionsByClass(ctx.train, k);
  const forget = toSource(ctx.train, pick(inK, rho, ctx.seed, 'pattern', 'class-k'));
  requireNonEmptyForget(
    forget,
    `rho ${rho} of the ${inK.length} training samples of class ${k} rounds to 0`,
  );
  const others = toSource(ctx.train, pick(notK, q, ctx.seed, 'pattern', 'others'));
  const allTest = Array.from({ length: ctx.test.length }, (_, i) => i);
  const test = toSource(ctx.test, pick(allTest, testFraction, ctx.seed, 'pattern', 'test'));
  return {
    forget,
    patterned: { train: [...forget, ...others].sort((a, b) => a - b), test },
    colours: null,
  };
}

export function materialisePatterned(ctx: BuildContext, corruption: string, m: Manifest): Parts {
  const patterned = m.patterned!;
  const ds = ctx.datasetId;
  const train = patternedCopy(
    ctx.train,
    `${ds}/train+${corruption}`,
    corruption,
    patterned.train,
    ctx.seed,
    'train',
  );
  const biased = patternedCopy(
    ctx.test,
    `${ds}/test+${corruption}@50%`,
    corruption,
    patterned.test,
    ctx.seed,
    'test',
  );
  return { train: new Dataset(train), test: ctx.test, biasedTest: new Dataset(biased) };
}
