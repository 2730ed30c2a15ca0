/**
 * Gaussian blur with skimage/scipy semantics (`scipy.ndimage.gaussian_filter`): a separable
 * correlation, axis 0 (down the columns) first, then axis 1; kernel radius ⌊truncate·σ + 0.5⌋,
 * weights exp(−x²/2σ²) normalised to sum 1; an axis with σ = 0 is left alone.
 */

/** 'nearest' repeats the edge pixel (skimage's default); 'constant' pads with zeros. */
export type BlurMode = 'nearest' | 'constant';

export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Blur an h×w image. `sigma` is one value for both axes or `[σ_rows, σ_cols]`: σ_rows smooths
 * along axis 0 (vertically), σ_cols along axis 1.
 */
export function gaussianBlur(
  x: Float64Array,
  h: number,
  w: number,
  sigma: number | readonly [number, number],
  mode: BlurMode = 'nearest',
): Float64Array {
  const [sr, sc] = typeof sigma === 'number' ? [sigma, sigma] : sigma;
  let out: Float64Array = Float64Array.from(x);
  if (sr > 1e-15) out = correlateAxis(out, h, w, gaussianKernel(sr), 0, mode);
  if (sc > 1e-15) out = correlateAxis(out, h, w, gaussianKernel(sc), 1, mode);
  return out;
}

function correlateAxis(
  x: Float64Array,
  h: number,
  w: number,
  k: Float64Array,
  axis: 0 | 1,
  mode: BlurMode,
): Float64Array {
  const out = new Float64Array(h * w);
  const radius = (k.length - 1) >> 1;
  const n = axis === 0 ? h : w; // length along the axis
  const lines = axis === 0 ? w : h;
  const stride = axis === 0 ? w : 1; // step between neighbours along the axis
  const lineStep = axis === 0 ? 1 : w;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = -radius; t <= radius; t++) {
        let j = i + t;
        if (j < 0 || j >= n) {
          if (mode === 'constant') continue;
          j = j < 0 ? 0 : n - 1;
        }
        s += k[t + radius]! * x[base + j * stride]!;
      }
      out[base + i * stride] = s;
    }
  }
  return out;
}
