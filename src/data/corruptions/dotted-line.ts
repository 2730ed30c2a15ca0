/**
 * dotted_line: a soft line from (column 0, row r0) to (column w−1, row r1), r0, r1 ∈ [0, h−1),
 * drawn only in the 2-column blocks with ⌊c/2⌋ odd (columns 2–3, 6–7, …), added and clipped.
 * `line_from_points` stops before column ⌈w−1⌉, so the last column stays clean.
 */
import type { Rng } from '../../core/rng.ts';
import { lineFromPoints } from './line.ts';

export function dottedLine(x: Float64Array, h: number, w: number, rng: Rng): Float64Array {
  const r0 = rng.int(0, h - 1);
  const r1 = rng.int(0, h - 1);
  const line = lineFromPoints(0, r0, w - 1, r1, h, w);
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      const dot = Math.floor(c / 2) % 2 === 1 ? line[i]! : 0;
      out[i] = Math.min(1, x[i]! + dot);
    }
  }
  return out;
}
