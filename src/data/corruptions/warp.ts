/**
 * Affine warps as skimage's `transform.warp(x, inverse_map=AffineTransform(...))` does them:
 * the matrix maps each *output* pixel (col, row) to the input point it reads, which is sampled
 * bilinearly (order 1) with zeros outside the image (mode 'constant', cval 0).
 */

/** Top two rows of a homogeneous 3×3 matrix: input = [a·c + b·r + tx, d·c + e·r + ty]. */
export type Affine = readonly [a: number, b: number, tx: number, d: number, e: number, ty: number];

/**
 * The affine map with linear part [[a, b], [d, e]] that keeps the image centre fixed: MNIST-C
 * sets the translation to centre·(1 − row sum), centre = 13.5 on 28×28, i.e. ((w−1)/2, (h−1)/2).
 */
export function aboutCentre(
  a: number,
  b: number,
  d: number,
  e: number,
  h: number,
  w: number,
): Affine {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  return [a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy];
}

/** Bilinear sample at (col, row); pixels outside the image count as 0. */
export function sampleBilinear(
  x: Float64Array,
  h: number,
  w: number,
  c: number,
  r: number,
): number {
  const r0 = Math.floor(r);
  const c0 = Math.floor(c);
  const r1 = Math.ceil(r);
  const c1 = Math.ceil(c);
  const dr = r - r0;
  const dc = c - c0;
  const in0 = r0 >= 0 && r0 < h;
  const in1 = r1 >= 0 && r1 < h;
  const inC0 = c0 >= 0 && c0 < w;
  const inC1 = c1 >= 0 && c1 < w;
  const v00 = in0 && inC0 ? x[r0 * w + c0]! : 0;
  const v01 = in0 && inC1 ? x[r0 * w + c1]! : 0;
  const v10 = in1 && inC0 ? x[r1 * w + c0]! : 0;
  const v11 = in1 && inC1 ? x[r1 * w + c1]! : 0;
  const top = (1 - dc) * v00 + dc * v01;
  const bottom = (1 - dc) * v10 + dc * v11;
  return (1 - dr) * top + dr * bottom;
}

export function warpAffine(x: Float64Array, h: number, w: number, m: Affine): Float64Array {
  const [a, b, tx, d, e, ty] = m;
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      out[r * w + c] = sampleBilinear(x, h, w, a * c + b * r + tx, d * c + e * r + ty);
    }
  }
  return out;
}
