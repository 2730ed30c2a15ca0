/**
 * colour: Biased-MNIST (Bahng et al. 2020, ReBias recipe). Each class has a background colour; a
 * fraction rho of each class gets its own colour, the rest are split in equal chunks over the
 * other 9 colours. Foreground pixels (≠ 0) become white, background pixels the colour; 3-channel
 * output. b(x) = 1 when the colour is the class's own (bias-aligned). ΔD = the aligned samples
 * of one class, or all of them. The test set uses testRho (0.1: colour says nothing of the label).
 */

import { UsageError } from '../../core/errors.ts';
import { rngFor } from '../../core/rng.ts';
import { Dataset, sampleSize } from '../dataset.ts';
import type { HeldOutPool } from '../subset.ts';
import {
  type BuildContext,
  checkClass,
  requireImages,
  requireNonEmptyForget,
  type ScenarioKind,
} from './common.ts';
import type { ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'colour' }>;

export const COLOUR_MAP: readonly (readonly [number, number, number])[] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [225, 225, 0],
  [225, 0, 225],
  [0, 255, 255],
  [255, 128, 0],
  [255, 0, 128],
  [128, 0, 255],
  [128, 128, 128],
];
export const COLOUR_NAMES = [
  'red',
  'green',
  'blue',
  'yellow',
  'magenta',
  'cyan',
  'orange',
  'pink',
  'purple',
  'grey',
];

/**
 * ReBias's split of each class: its members (positions in `ds`) in a seeded order, of which the
 * first ⌊n·rho⌋ are bias-aligned. Shared with the shortcut kind, which splits a pattern's classes
 * the same way; `tag` keeps the two kinds' draws apart.
 */
export function alignedSplit(
  ds: Dataset,
  numClasses: number,
  rho: number,
  seed: number,
  tag: string,
  split: string,
): { members: number[]; aligned: number }[] {
  const byClass = Array.from({ length: numClasses }, (): number[] => []);
  for (let i = 0; i < ds.length; i++) byClass[ds.label(i)]?.push(i);
  return byClass.map((members, k) => {
    rngFor(seed, tag, split, k).shuffle(members);
    return { members, aligned: Math.floor(members.length * rho) };
  });
}

/** Colour id per position of `ds` (ReBias `_update_bias_indices`, with seeded shuffles). */
export function assignColours(ds: Dataset, rho: number, seed: number, split: string): number[] {
  const colours = new Array<number>(ds.length).fill(0);
  alignedSplit(ds, 10, rho, seed, 'colour', split).forEach(({ members, aligned }, k) => {
    const chunk = Math.ceil((members.length - aligned) / 9);
    const others = Array.from({ length: 9 }, (_, j) => (k + 1 + j) % 10);
    rngFor(seed, 'colour-others', split, k).shuffle(others);
    members.forEach((pos, j) => {
      colours[pos] = j < aligned ? k : others[Math.floor((j - aligned) / chunk)];
    });
  });
  return colours;
}

/** A 3-channel copy of a grey view: white strokes on the assigned background colour. */
export function colouredCopy(view: Dataset, name: string, colours: readonly number[]): Dataset {
  const [h, w] = view.sampleShape;
  const src = view.source;
  const inSize = sampleSize(src.sampleShape);
  const n = view.length;
  const x = new Uint8Array(n * h * w * 3);
  const y = new Uint8Array(n);
  const bias = new Uint8Array(n);
  const group = Uint8Array.from(colours);
  for (let i = 0; i < n; i++) {
    const s = view.at(i);
    const [r, g, b] = COLOUR_MAP[colours[i]];
    y[i] = src.y[s];
    bias[i] = colours[i] === y[i] ? 1 : 0;
    for (let p = 0; p < h * w; p++) {
      const o = (i * h * w + p) * 3;
      const fg = src.x[s * inSize + p] !== 0;
      x[o] = fg ? 255 : r;
      x[o + 1] = fg ? 255 : g;
      x[o + 2] = fg ? 255 : b;
    }
  }
  return new Dataset({
    name,
    sampleShape: [h, w, 3],
    x,
    scale: src.scale,
    y,
    numClasses: src.numClasses,
    classNames: src.classNames,
    meta: { sourceIndex: view.sourceIndices(), bias, group, groupNames: COLOUR_NAMES },
  });
}

/**
 * Held-out data coloured as the test set is (ReBias's rule at the test set's `rho`), with draws
 * of its own ('held-out') so that the test set's colours do not depend on it.
 */
export function colouredPool(ctx: BuildContext, rho: number): HeldOutPool {
  return {
    raw: ctx.test,
    transform: (view, name) =>
      colouredCopy(view, name, assignColours(view, rho, ctx.seed, 'held-out')),
  };
}

export function requireGrey10(ctx: BuildContext, kind = 'colour'): void {
  requireImages(ctx, kind);
  const [, , c] = ctx.trainSource.sampleShape;
  if (c !== 1 || ctx.trainSource.numClasses !== 10) {
    throw new UsageError(
      '--kind',
      `${kind} needs a grey 10-class image set (mnist, fashion-mnist); ${ctx.datasetId} is not`,
    );
  }
}

export const colour: ScenarioKind<P> = {
  id: 'colour',
  summary: 'Biased-MNIST background colour (ReBias); ΔD = bias-aligned samples of class k or all',
  plan(ctx, p) {
    requireGrey10(ctx);
    if (p.forgetClass !== null) checkClass(ctx, p.forgetClass, '--class');
    const train = assignColours(ctx.train, p.rho, ctx.seed, 'train');
    const test = assignColours(ctx.test, p.testRho, ctx.seed, 'test');
    const forget: number[] = [];
    for (let i = 0; i < ctx.train.length; i++) {
      const y = ctx.train.label(i);
      if (train[i] === y && (p.forgetClass === null || y === p.forgetClass))
        forget.push(ctx.train.at(i));
    }
    requireNonEmptyForget(forget, 'no bias-aligned training samples');
    return { forget, patterned: null, colours: { train, test } };
  },
  materialise(ctx, p, m) {
    const colours = m.colours!;
    return {
      train: colouredCopy(ctx.train, `${ctx.datasetId}/train+colour`, colours.train),
      test: colouredCopy(ctx.test, `${ctx.datasetId}/test+colour`, colours.test),
      heldOut: colouredPool(ctx, p.testRho),
    };
  },
};
