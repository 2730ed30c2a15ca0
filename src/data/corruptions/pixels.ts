/**
 * The float image every corruption works on: greyscale, row-major h·w, values in [0, 1] (MNIST-C
 * divides by 255 first). Corruptions compute in doubles and are quantised once, at the end.
 */
import type { Rng } from '../../core/rng.ts';

/** A corruption on a [0,1] image; returns a new array (values may leave [0,1]: `quantise` clips). */
export type CorruptionFn = (x: Float64Array, h: number, w: number, rng: Rng) => Float64Array;

export function toUnit(img: Uint8Array): Float64Array {
  const x = new Float64Array(img.length);
  for (let i = 0; i < img.length; i++) x[i] = img[i]! / 255;
  return x;
}

/** `Math.round(255·clip(v, 0, 1))` per pixel. */
export function quantise(x: Float64Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(255 * v);
  }
  return out;
}

/** ±1 with equal probability (numpy `choice([-1, 1])`). */
export function randomSign(rng: Rng): number {
  return rng.next() < 0.5 ? -1 : 1;
}
