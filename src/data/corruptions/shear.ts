/** shear (severity 2): shear by 0.4 with a random sign about the image centre. */
import type { Rng } from '../../core/rng.ts';
import { randomSign } from './pixels.ts';
import { aboutCentre, warpAffine } from './warp.ts';

const SHEAR = 0.4;

export function shear(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const s = SHEAR * randomSign(rng);
  // skimage AffineTransform(shear=s): [[1, −sin s], [0, cos s]] on (col, row), used as the inverse map.
  return warpAffine(x, h, w, aboutCentre(1, -Math.sin(s), 0, Math.cos(s), h, w));
}
