/**
 * motion_blur (severity 1): ImageMagick's MotionBlurImage(radius 10, σ 3, angle ~ U(−45°, 45°)).
 * That is a one-sided line kernel of 2·⌈radius⌉ + 1 = 21 taps with weights ∝ exp(−i²/2σ²),
 * i = 0…20, normalised; tap i reads the pixel at the integer offset
 * (⌈i·cos a − ½⌉, ⌈i·sin a − ½⌉) (x right, y down), and reads past the border repeat the edge
 * pixel (ImageMagick's default virtual-pixel method).
 */
import type { Rng } from '../../core/rng.ts';

const RADIUS = 10;
const SIGMA = 3;
const MAX_ANGLE_DEG = 45;

export interface LineKernel {
  readonly weights: Float64Array;
  readonly dx: Int32Array;
  readonly dy: Int32Array;
}

export function motionKernel(radius: number, sigma: number, angleDeg: number): LineKernel {
  const width = 2 * Math.ceil(radius) + 1;
  const weights = new Float64Array(width);
  const dx = new Int32Array(width);
  const dy = new Int32Array(width);
  const a = (angleDeg * Math.PI) / 180;
  let sum = 0;
  for (let i = 0; i < width; i++) {
    weights[i] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += weights[i]!;
    dx[i] = Math.ceil(i * Math.cos(a) - 0.5);
    dy[i] = Math.ceil(i * Math.sin(a) - 0.5);
  }
  for (let i = 0; i < width; i++) weights[i]! /= sum;
  return { weights, dx, dy };
}

/** Motion blur at a given angle (degrees). */
export function motionBlurAt(
  x: Float64Array,
  h: number,
  w: number,
  angleDeg: number,
): Float64Array {
  const { weights, dx, dy } = motionKernel(RADIUS, SIGMA, angleDeg);
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let s = 0;
      for (let i = 0; i < weights.length; i++) {
        const rr = Math.min(h - 1, Math.max(0, r + dy[i]!));
        const cc = Math.min(w - 1, Math.max(0, c + dx[i]!));
        s += weights[i]! * x[rr * w + cc]!;
      }
      out[r * w + c] = s;
    }
  }
  return out;
}

export function motionBlur(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  return motionBlurAt(x, h, w, rng.uniform(-MAX_ANGLE_DEG, MAX_ANGLE_DEG));
}
