/**
 * scale (severity 3): the inverse map scales by 1/0.7 about the centre, so the digit shrinks to
 * 70 % of its size.
 */
import { aboutCentre, warpAffine } from './warp.ts';

const FACTOR = 1 / 0.7;

export function scale(x: Float64Array, h: number, w: number): Float64Array {
  return warpAffine(x, h, w, aboutCentre(FACTOR, 0, 0, FACTOR, h, w));
}
