/**
 * shortcut: the shortcut-learning protocol of the debiasing field (LfF's Colored MNIST, CUPID's
 * "unlearning under bias"). Every sample is bias-aligned or bias-conflicting: in training a share
 * `alignedFraction` (99.5 %) of every class is aligned, in the test set `testAlignedFraction`
 * (50 %), so the test set tells a model that reads the shape from one that reads the shortcut.
 *
 * - attribute `colour`: the ReBias background colours (colour.ts); aligned = the class's own colour.
 * - attribute a pattern (an MNIST-C corruption or the patch): the pattern marks `biasClass`;
 *   aligned = patterned for `biasClass`, clean for every other class.
 *
 * ΔD = the aligned training samples of `biasClass`, the samples that carry its shortcut (why, and
 * what Retrain then is: docs/experiments.md). meta.bias = 1[aligned] on every split, so the
 * aligned / conflicting metrics read the test set's; a pattern's biased test set is the same
 * images with b(x) = the pattern, as in the bias kind.
 */
import { Dataset } from '../dataset.ts';
import {
  alignedSplit,
  assignColours,
  colouredCopy,
  colouredPool,
  requireGrey10,
} from './colour.ts';
import {
  applyPattern,
  type BuildContext,
  checkClass,
  compactCopy,
  type Plan,
  requireNonEmptyForget,
  requirePatternFits,
  type ScenarioKind,
} from './common.ts';
import type { Manifest, ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'shortcut' }>;

/** 1[aligned] per position of `ds`: per class, ReBias's split at `fraction`. */
function alignedFlags(ds: Dataset, fraction: number, seed: number, split: string): Uint8Array {
  const flags = new Uint8Array(ds.length);
  const classes = alignedSplit(ds, ds.numClasses, fraction, seed, 'shortcut', split);
  for (const { members, aligned } of classes)
    for (const pos of members.slice(0, aligned)) flags[pos] = 1;
  return flags;
}

/** Source indices of the patterned samples: aligned ones of class k, conflicting ones elsewhere. */
function patternedOf(ds: Dataset, k: number, aligned: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < ds.length; i++)
    if ((ds.label(i) === k) === (aligned[i] === 1)) out.push(ds.at(i));
  return out.sort((a, b) => a - b);
}

/** A copy of `view` with the pattern on `patterned`; meta.bias = 1[aligned], meta.corruption the pattern. */
function shortcutCopy(
  view: Dataset,
  name: string,
  p: P,
  patterned: readonly number[],
  seed: number,
  split: string,
): Dataset {
  const marked = new Set(patterned);
  const bias = new Uint8Array(view.length);
  const corruption = new Uint8Array(view.length);
  const shape = view.sampleShape;
  const src = compactCopy(view, name, {
    meta: { bias, corruption, corruptionNames: ['clean', p.attribute] },
    edit: (pos, sample) => {
      const s = view.at(pos);
      const on = marked.has(s);
      bias[pos] = (view.label(pos) === p.biasClass) === on ? 1 : 0;
      if (on) {
        corruption[pos] = 1;
        applyPattern(p.attribute, sample, shape, seed, split, s);
      }
      return undefined;
    },
  });
  return new Dataset(src);
}

function checkFits(ctx: BuildContext, p: P): void {
  if (p.attribute === 'colour') requireGrey10(ctx, 'shortcut on colour');
  else
    requirePatternFits(ctx, p.attribute, {
      flag: '--attribute',
      kind: 'shortcut',
      others: 'patch or colour',
    });
  checkClass(ctx, p.biasClass, '--class');
}

export const shortcut: ScenarioKind<P> = {
  id: 'shortcut',
  summary:
    'colour or pattern aligned with the class on a share of each class (99.5 % train, 50 % test); ΔD = aligned samples of class k',
  plan(ctx, p) {
    checkFits(ctx, p);
    const k = p.biasClass;
    let aligned: (i: number) => boolean;
    let attribute: Pick<Plan, 'patterned' | 'colours'>;
    if (p.attribute === 'colour') {
      const train = assignColours(ctx.train, p.alignedFraction, ctx.seed, 'train');
      const test = assignColours(ctx.test, p.testAlignedFraction, ctx.seed, 'test');
      aligned = (i) => train[i] === ctx.train.label(i);
      attribute = { patterned: null, colours: { train, test } };
    } else {
      const train = alignedFlags(ctx.train, p.alignedFraction, ctx.seed, 'train');
      const test = alignedFlags(ctx.test, p.testAlignedFraction, ctx.seed, 'test');
      aligned = (i) => train[i] === 1;
      attribute = {
        patterned: {
          train: patternedOf(ctx.train, k, train),
          test: patternedOf(ctx.test, k, test),
        },
        colours: null,
      };
    }
    const forget: number[] = [];
    for (let i = 0; i < ctx.train.length; i++)
      if (ctx.train.label(i) === k && aligned(i)) forget.push(ctx.train.at(i));
    requireNonEmptyForget(forget, `no bias-aligned training samples of class ${k}`);
    return { forget, ...attribute };
  },
  materialise(ctx, p, m: Manifest) {
    const ds = ctx.datasetId;
    if (p.attribute === 'colour') {
      const colours = m.colours!;
      return {
        train: colouredCopy(ctx.train, `${ds}/train+colour`, colours.train),
        test: colouredCopy(ctx.test, `${ds}/test+colour`, colours.test),
        heldOut: colouredPool(ctx, p.testAlignedFraction),
      };
    }
    const patterned = m.patterned!;
    const tag = `${p.attribute}@${p.biasClass}`;
    const test = shortcutCopy(ctx.test, `${ds}/test+${tag}`, p, patterned.test, ctx.seed, 'test');
    // The same images with b(x) = the pattern, for ρ and ΔP: at testAlignedFraction 0.5 the
    // pattern is on half of every class, so it is label-independent as those metrics assume.
    const { meta } = test.source;
    const biasedTest = new Dataset({
      ...test.source,
      name: `${test.source.name}:pattern`,
      meta: { ...meta, bias: meta.corruption },
    });
    return {
      train: shortcutCopy(ctx.train, `${ds}/train+${tag}`, p, patterned.train, ctx.seed, 'train'),
      test,
      biasedTest,
      heldOut: {
        raw: ctx.test,
        // Aligned at testAlignedFraction by draws of its own ('held-out'); the pattern keyed by
        // split 'test' as the test set's is, since these are test-split images too.
        transform: (view, name) => {
          const flags = alignedFlags(view, p.testAlignedFraction, ctx.seed, 'held-out');
          const on = patternedOf(view, p.biasClass, flags);
          return shortcutCopy(view, name, p, on, ctx.seed, 'test');
        },
      },
    };
  },
};
