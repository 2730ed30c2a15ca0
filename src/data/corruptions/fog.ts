/**
 * fog (severity 5: strength 3, wibble decay 1.4): add a plasma fractal, then rescale by
 * max(x) / (max(x) + 3) so the brightest pixel of the original stays the brightest possible.
 */
import { UsageError } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';

const STRENGTH = 3;
const WIBBLE_DECAY = 1.4;
const MAPSIZE = 256;

/**
 * Diamond–square height map (MNIST-C's `plasma_fractal`) on a torus of side `mapsize` (a power of
 * two), normalised to [0, 1]. Each level sets square centres, then edge midpoints, to the mean of
 * their four neighbours plus wibble·U(−wibble, wibble); wibble starts at 100 and is divided by
 * `wibbleDecay` per level. Draws are taken row by row, as numpy fills each grid.
 */
export function plasmaFractal(
  rng: Rng,
  mapsize = MAPSIZE,
  wibbleDecay = WIBBLE_DECAY,
): Float64Array {
  const a = new Float64Array(mapsize * mapsize);
  diamondSquare(a, mapsize, wibbleDecay, rng);
  const [min, max] = range(a);
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! - min) / (max - min);
  return a;
}

/** Raw heights into `a` (n·n values; every entry is overwritten). */
function diamondSquare(a: Float64Array, n: number, wibbleDecay: number, rng: Rng): void {
  const wrap = n - 1;
  a[0] = 0;
  let wibble = 100;
  for (let step = n; step >= 2; step >>= 1) {
    const half = step >> 1;
    // wibble·U(−wibble, wibble) = amp·next() − lift
    const amp = 2 * wibble * wibble;
    const lift = wibble * wibble;
    // Squares: centre = mean of the cell's four corners.
    for (let r = 0; r < n; r += step) {
      const rDown = (r + step) & wrap;
      for (let c = 0; c < n; c += step) {
        const cRight = (c + step) & wrap;
        const sum = a[r * n + c]! + a[rDown * n + c]! + a[r * n + cRight]! + a[rDown * n + cRight]!;
        a[(r + half) * n + c + half] = sum / 4 + (amp * rng.next() - lift);
      }
    }
    // Diamonds on the corner rows: centres above and below, corners left and right.
    for (let r = 0; r < n; r += step) {
      const rUp = (r - half + n) & wrap;
      for (let c = 0; c < n; c += step) {
        const cRight = (c + step) & wrap;
        const sum =
          a[(r + half) * n + c + half]! +
          a[rUp * n + c + half]! +
          a[r * n + c]! +
          a[r * n + cRight]!;
        a[r * n + c + half] = sum / 4 + (amp * rng.next() - lift);
      }
    }
    // Diamonds on the centre rows: centres left and right, corners above and below.
    for (let r = 0; r < n; r += step) {
      const rDown = (r + step) & wrap;
      for (let c = 0; c < n; c += step) {
        const cLeft = (c - half + n) & wrap;
        const sum =
          a[(r + half) * n + c + half]! +
          a[(r + half) * n + cLeft]! +
          a[r * n + c]! +
          a[rDown * n + c]!;
        a[(r + half) * n + c] = sum / 4 + (amp * rng.next() - lift);
      }
    }
    wibble /= wibbleDecay;
  }
}

function range(a: Float64Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

// One 512 KiB map reused by every fog call (corruption is synchronous): no allocation per image.
const scratch = new Float64Array(MAPSIZE * MAPSIZE);

export function fog(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  if (h > MAPSIZE || w > MAPSIZE) {
    throw new UsageError('fog', `images must be at most ${MAPSIZE}×${MAPSIZE}; got ${h}×${w}`);
  }
  let max = 0;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  diamondSquare(scratch, MAPSIZE, WIBBLE_DECAY, rng);
  // Normalise only the crop we use: plasma[:h, :w] of the map scaled to [0, 1].
  const [lo, hi] = range(scratch);
  const factor = max / (max + STRENGTH);
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const plasma = (scratch[r * MAPSIZE + c]! - lo) / (hi - lo);
      out[r * w + c] = (x[r * w + c]! + STRENGTH * plasma) * factor;
    }
  }
  return out;
}
