/**
 * spatter (severity 4: loc 0.65, scale 0.3, σ 1, threshold 0.65, σ_mask 1.5, mud): a blurred
 * Gaussian noise layer is thresholded into blobs; the blobs' blurred mask m (zeroed below 0.8)
 * blends each pixel toward mud grey 63/255: x·(1 − m) + (63/255)·m.
 */
import type { Rng } from '../../core/rng.ts';
import { gaussianBlur } from './gaussian.ts';

const LOC = 0.65;
const SCALE = 0.3;
const SIGMA = 1;
const THRESHOLD = 0.65;
const MASK_SIGMA = 1.5;
const MASK_FLOOR = 0.8;
export const MUD = 63 / 255;

export function spatter(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const layer = new Float64Array(h * w);
  for (let i = 0; i < layer.length; i++) layer[i] = rng.normal(LOC, SCALE);
  const liquid = gaussianBlur(layer, h, w, SIGMA);
  const blobs = new Float64Array(h * w);
  for (let i = 0; i < blobs.length; i++) blobs[i] = liquid[i]! > THRESHOLD ? 1 : 0;
  const m = gaussianBlur(blobs, h, w, MASK_SIGMA);
  const out = new Float64Array(h * w);
  for (let i = 0; i < out.length; i++) {
    const mi = m[i]! < MASK_FLOOR ? 0 : m[i]!;
    out[i] = x[i]! * (1 - mi) + MUD * mi;
  }
  return out;
}
