/** translate (severity 3): shift by 3 px in x and in y, each with a random sign; zeros come in. */
import type { Rng } from '../../core/rng.ts';
import { randomSign } from './pixels.ts';
import { warpAffine } from './warp.ts';

const SHIFT = 3;

export function translate(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const dx = SHIFT * randomSign(rng);
  const dy = SHIFT * randomSign(rng);
  // An inverse map with translation (dx, dy) reads input(c + dx, r + dy): the digit moves by −(dx, dy).
  return warpAffine(x, h, w, [1, 0, dx, 0, 1, dy]);
}
