/**
 * The 15 MNIST-C corruptions (Mu & Gilmer 2019, google-research/mnist-c), each at the severity of
 * its function's default, on greyscale uint8 images. One file per corruption; this module names
 * them, applies one to a uint8 image and seeds it per sample.
 */
import { UsageError } from '../../core/errors.ts';
import { type Rng, rngFor } from '../../core/rng.ts';
import { brightness } from './brightness.ts';
import { cannyEdges } from './canny-edges.ts';
import { dottedLine } from './dotted-line.ts';
import { fog } from './fog.ts';
import { glassBlur } from './glass-blur.ts';
import { impulseNoise } from './impulse-noise.ts';
import { motionBlur } from './motion-blur.ts';
import { type CorruptionFn, quantise, toUnit } from './pixels.ts';
import { rotate } from './rotate.ts';
import { scale } from './scale.ts';
import { shear } from './shear.ts';
import { shotNoise } from './shot-noise.ts';
import { spatter } from './spatter.ts';
import { stripe } from './stripe.ts';
import { translate } from './translate.ts';
import { zigzag } from './zigzag.ts';

export { type Corner, type PatchOptions, stampPatch } from './stamp-patch.ts';

/** Alphabetical, snake_case as in mnist-c. */
export const CORRUPTIONS = [
  'brightness',
  'canny_edges',
  'dotted_line',
  'fog',
  'glass_blur',
  'impulse_noise',
  'motion_blur',
  'rotate',
  'scale',
  'shear',
  'shot_noise',
  'spatter',
  'stripe',
  'translate',
  'zigzag',
] as const;

export type CorruptionName = (typeof CORRUPTIONS)[number];

const IMPLEMENTATIONS: Record<CorruptionName, CorruptionFn> = {
  brightness,
  canny_edges: cannyEdges,
  dotted_line: dottedLine,
  fog,
  glass_blur: glassBlur,
  impulse_noise: impulseNoise,
  motion_blur: motionBlur,
  rotate,
  scale,
  shear,
  shot_noise: shotNoise,
  spatter,
  stripe,
  translate,
  zigzag,
};

export function isCorruptionName(s: string): s is CorruptionName {
  return (CORRUPTIONS as readonly string[]).includes(s);
}

/**
 * Corrupt one greyscale image (uint8, row-major h·w; h = w = 28 for MNIST-C) with a generator
 * already seeded for this sample. Returns a new Uint8Array; never mutates the input.
 */
export function applyCorruption(
  name: CorruptionName,
  img: Uint8Array,
  h: number,
  w: number,
  rng: Rng,
): Uint8Array {
  // Names can arrive from configs and manifests as plain strings: check before indexing.
  if (!Object.hasOwn(IMPLEMENTATIONS, name)) {
    throw new UsageError('corruption', `must be one of ${CORRUPTIONS.join(', ')}; got "${name}"`);
  }
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || img.length !== h * w) {
    throw new UsageError(
      `corruption ${name}`,
      `needs a greyscale h×w image of ${h}×${w} = ${h * w} bytes; got ${img.length}`,
    );
  }
  return quantise(IMPLEMENTATIONS[name](toUnit(img), h, w, rng));
}

/**
 * Deterministic per-sample corruption: seeds `rngFor(seed, split, index, name)`, so the result does
 * not depend on iteration order or batch size.
 */
export function corruptSample(
  name: CorruptionName,
  img: Uint8Array,
  h: number,
  w: number,
  seed: number,
  split: string,
  index: number,
): Uint8Array {
  return applyCorruption(name, img, h, w, rngFor(seed, split, index, name));
}
