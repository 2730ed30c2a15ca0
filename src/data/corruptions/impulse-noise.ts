/**
 * impulse_noise (severity 4): skimage's salt-and-pepper noise with amount 0.17 and
 * salt_vs_pepper 0.5: each pixel, with probability 0.17, becomes 0 or 1 with equal odds.
 */
import type { Rng } from '../../core/rng.ts';

const AMOUNT = 0.17;

export function impulseNoise(x: Float64Array, _h: number, _w: number, rng: Rng): Float64Array {
  const out = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    if (rng.next() < AMOUNT) out[i] = rng.next() < 0.5 ? 1 : 0;
  }
  return out;
}
