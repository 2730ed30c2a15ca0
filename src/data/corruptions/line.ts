/**
 * MNIST-C's `line_from_points`: the soft line through (c0, r0) and (c1, r1), drawn in the columns
 * ⌊c0⌋ ≤ c < ⌈c1⌉. Each pixel's intensity is clip(log(1 − d/2.3) + 1, 0, 1), d its vertical
 * distance to the line (capped just below 2.3), so the line is about 3 px thick with soft edges.
 */
export function lineFromPoints(
  c0: number,
  r0: number,
  c1: number,
  r1: number,
  h: number,
  w: number,
): Float64Array {
  const out = new Float64Array(h * w);
  if (c1 === c0) return out;
  const slope = (r1 - r0) / (c1 - c0);
  const first = Math.max(0, Math.floor(c0));
  const end = Math.min(w, Math.ceil(c1));
  for (let c = first; c < end; c++) {
    const centre = slope * (c - c0) + r0;
    for (let r = 0; r < h; r++) {
      const d = Math.min(Math.abs(r - centre), 2.3 - 1e-10);
      const v = Math.log(1 - d / 2.3) + 1;
      out[r * w + c] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}
