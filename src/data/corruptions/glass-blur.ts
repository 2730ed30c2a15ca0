/**
 * glass_blur (severity 1: σ 0.7, max_delta 1, 2 iterations): blur, round down to bytes, shuffle
 * pixels locally, blur again.
 *
 * MNIST-C calls skimage's `gaussian(x, σ, multichannel=True)` on a 2-D image, which takes the
 * last axis for channels: both blurs run down the columns only (axis 0). We keep that, as the
 * released data has it.
 */
import type { Rng } from '../../core/rng.ts';
import { gaussianBlur } from './gaussian.ts';

const SIGMA = 0.7;
const MAX_DELTA = 1;
const ITERATIONS = 2;

/** The vertical-only blur both passes use. */
export function glassPassBlur(x: Float64Array, h: number, w: number): Float64Array {
  return gaussianBlur(x, h, w, [SIGMA, 0]);
}

/**
 * In place, `iterations` times: for rows h−δ…δ+1 and columns w−δ…δ+1, both descending, with
 * probability ½ swap the pixel with the one at offset (dy, dx), dx, dy ∈ [−δ, δ) (dx drawn first).
 */
export function shufflePixels(
  bytes: Uint8Array,
  h: number,
  w: number,
  maxDelta: number,
  iterations: number,
  rng: Rng,
): void {
  for (let it = 0; it < iterations; it++) {
    for (let r = h - maxDelta; r > maxDelta; r--) {
      for (let c = w - maxDelta; c > maxDelta; c--) {
        if (rng.next() >= 0.5) continue;
        const dx = rng.int(-maxDelta, maxDelta);
        const dy = rng.int(-maxDelta, maxDelta);
        const i = r * w + c;
        const j = (r + dy) * w + (c + dx);
        const t = bytes[i]!;
        bytes[i] = bytes[j]!;
        bytes[j] = t;
      }
    }
  }
}

export function glassBlur(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const first = glassPassBlur(x, h, w);
  // np.uint8(v·255) truncates; the 1e-9 keeps a flat white area (v = 1 − ulp) at 255.
  const bytes = new Uint8Array(h * w);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(first[i]! * 255 + 1e-9);
  shufflePixels(bytes, h, w, MAX_DELTA, ITERATIONS, rng);
  const y = new Float64Array(h * w);
  for (let i = 0; i < y.length; i++) y[i] = bytes[i]! / 255;
  return glassPassBlur(y, h, w);
}
