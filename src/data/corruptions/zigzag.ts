/**
 * zigzag: a zigzag (teeth 2 px long and 2 px high) from column 2 to column w−3 (25 on 28×28),
 * starting at row r0 ∈ [0, h−1) and heading to r1 = r0 + [−5, 5). The tooth tips are laid out on
 * a straight baseline of length d, rotated by θ = atan((r1 − r0)/(c1 − c0)); each segment is a
 * soft `line_from_points` added to the image and clipped. The last endpoint follows MNIST-C's
 * formula (d, r_last / (2·(d − max_c))) as released.
 */
import type { Rng } from '../../core/rng.ts';
import { lineFromPoints } from './line.ts';

const TOOTH_LENGTH = 2;
const TOOTH_HEIGHT = 2;
const FIRST_COLUMN = 2;
const MARGIN_RIGHT = 2; // c1 = w − 1 − 2

/** Endpoints (columns, rows) of the zigzag's segments, in image coordinates. */
export function zigzagPoints(
  r0: number,
  r1: number,
  w: number,
): { cs: Float64Array; rs: Float64Array } {
  const a = TOOTH_LENGTH;
  const b = TOOTH_HEIGHT;
  const c0 = FIRST_COLUMN;
  const c1 = w - 1 - MARGIN_RIGHT;
  const theta = Math.atan((r1 - r0) / (c1 - c0));
  const d = (c1 - c0) / Math.cos(theta);
  const pts: [number, number][] = [[0, 0]];
  let rLast = 0;
  const teeth = Math.floor((d - a) / (2 * a)) + 1;
  for (let i = 0; i < teeth; i++) {
    rLast = (i % 2 === 0 ? 1 : -1) * b;
    pts.push([(2 * i + 1) * a, rLast]);
  }
  const maxC = 2 * a * Math.floor(d / (2 * a));
  if (d !== maxC) pts.push([d, rLast / (2 * (d - maxC))]);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cs = new Float64Array(pts.length);
  const rs = new Float64Array(pts.length);
  pts.forEach(([c, r], i) => {
    cs[i] = cos * c - sin * r + c0;
    rs[i] = sin * c + cos * r + r0;
  });
  return { cs, rs };
}

export function zigzag(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const r0 = rng.int(0, h - 1);
  const r1 = r0 + rng.int(-5, 5);
  const { cs, rs } = zigzagPoints(r0, r1, w);
  const out = Float64Array.from(x);
  for (let i = 1; i < cs.length; i++) {
    const seg = lineFromPoints(cs[i - 1]!, rs[i - 1]!, cs[i]!, rs[i]!, h, w);
    for (let j = 0; j < out.length; j++) out[j] = Math.min(1, Math.max(0, out[j]! + seg[j]!));
  }
  return out;
}
