/** shot_noise (severity 5): Poisson(3·x) / 3 per pixel, so values lie on the lattice k/3. */
import type { Rng } from '../../core/rng.ts';

const RATE = 3;

/** Knuth's multiplication sampler: exact and fast for λ ≤ 3. */
export function poisson(lambda: number, rng: Rng): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

export function shotNoise(x: Float64Array, _h: number, _w: number, rng: Rng): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // Poisson(0) is always 0: skipping the draw keeps black pixels (most of MNIST) cheap.
    out[i] = x[i] === 0 ? 0 : poisson(x[i]! * RATE, rng) / RATE;
  }
  return out;
}
