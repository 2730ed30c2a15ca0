/** rotate (severity 2): rotate by 0.4 rad (≈ 22.9°) with a random sign about the image centre. */
import type { Rng } from '../../core/rng.ts';
import { randomSign } from './pixels.ts';
import { aboutCentre, warpAffine } from './warp.ts';

const ANGLE = 0.4;

export function rotate(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const t = ANGLE * randomSign(rng);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // skimage AffineTransform(rotation=t): [[cos, −sin], [sin, cos]] on (col, row), used as the inverse map.
  return warpAffine(x, h, w, aboutCentre(cos, -sin, sin, cos, h, w));
}
