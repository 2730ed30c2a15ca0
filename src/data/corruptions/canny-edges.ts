/**
 * canny_edges: skimage's `feature.canny` with its defaults (σ 1, thresholds 0.1 and 0.2 on the
 * [0, 1] scale), output 1 on edges and 0 elsewhere.
 *
 * 1. Smooth with a zero-padded Gaussian, divided by the same blur of an all-ones image (skimage's
 *    masked smoothing), so the border is not darkened.
 * 2. Sobel derivatives (scipy `ndimage.sobel`, mode 'reflect'): gi along rows, gj along columns.
 * 3. Non-maximum suppression: an interior pixel with non-zero magnitude is kept when it is at
 *    least the magnitude interpolated at both neighbours along the gradient direction (4 sectors,
 *    interpolating between the axis and the diagonal neighbour; where sectors overlap the last
 *    one wins, as in skimage).
 * 4. Hysteresis: keep the 8-connected components of (maximum ≥ low) that contain a pixel ≥ high.
 */
import { gaussianBlur } from './gaussian.ts';

const SIGMA = 1;
const LOW = 0.1;
const HIGH = 0.2;
const EPS = 2.220446049250313e-16; // np.finfo(float).eps

function sobel(s: Float64Array, h: number, w: number): { gi: Float64Array; gj: Float64Array } {
  // 'reflect' repeats the edge pixel for a one-pixel overrun.
  const at = (r: number, c: number): number =>
    s[(r < 0 ? 0 : r >= h ? h - 1 : r) * w + (c < 0 ? 0 : c >= w ? w - 1 : c)]!;
  const gi = new Float64Array(h * w);
  const gj = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let di = 0;
      let dj = 0;
      for (let t = -1; t <= 1; t++) {
        const k = t === 0 ? 2 : 1;
        di += k * (at(r + 1, c + t) - at(r - 1, c + t));
        dj += k * (at(r + t, c + 1) - at(r + t, c - 1));
      }
      gi[r * w + c] = di;
      gj[r * w + c] = dj;
    }
  }
  return { gi, gj };
}

/** Edge map (0/1) of a [0, 1] image. */
export function cannyEdges(x: Float64Array, h: number, w: number): Float64Array {
  const blurred = gaussianBlur(x, h, w, SIGMA, 'constant');
  const bleed = gaussianBlur(new Float64Array(h * w).fill(1), h, w, SIGMA, 'constant');
  const smoothed = new Float64Array(h * w);
  for (let i = 0; i < smoothed.length; i++) smoothed[i] = blurred[i]! / (bleed[i]! + EPS);

  const { gi, gj } = sobel(smoothed, h, w);
  const mag = new Float64Array(h * w);
  for (let i = 0; i < mag.length; i++) mag[i] = Math.sqrt(gi[i]! * gi[i]! + gj[i]! * gj[i]!);

  const maxima = new Uint8Array(h * w);
  const M = (r: number, c: number): number => mag[r * w + c]!;
  for (let r = 1; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++) {
      const i = r * w + c;
      const m = mag[i]!;
      if (!(m > 0)) continue;
      const a = gi[i]!;
      const b = gj[i]!;
      const aa = Math.abs(a);
      const ab = Math.abs(b);
      const sameSign = (a >= 0 && b >= 0) || (a <= 0 && b <= 0);
      const oppositeSign = (a <= 0 && b >= 0) || (a >= 0 && b <= 0);
      let keep: boolean;
      // Sectors checked last-to-first, so the first match is the one skimage writes last.
      if (oppositeSign && aa >= ab) {
        const t = ab / aa; // 135–180°: mix of the vertical and the anti-diagonal neighbour
        keep =
          M(r - 1, c + 1) * t + M(r - 1, c) * (1 - t) <= m &&
          M(r + 1, c - 1) * t + M(r + 1, c) * (1 - t) <= m;
      } else if (oppositeSign && aa <= ab) {
        const t = aa / ab; // 90–135°: horizontal and anti-diagonal
        keep =
          M(r - 1, c + 1) * t + M(r, c + 1) * (1 - t) <= m &&
          M(r + 1, c - 1) * t + M(r, c - 1) * (1 - t) <= m;
      } else if (sameSign && aa <= ab) {
        const t = aa / ab; // 45–90°: horizontal and diagonal
        keep =
          M(r + 1, c + 1) * t + M(r, c + 1) * (1 - t) <= m &&
          M(r - 1, c - 1) * t + M(r, c - 1) * (1 - t) <= m;
      } else {
        const t = ab / aa; // 0–45°: vertical and diagonal
        keep =
          M(r + 1, c + 1) * t + M(r + 1, c) * (1 - t) <= m &&
          M(r - 1, c - 1) * t + M(r - 1, c) * (1 - t) <= m;
      }
      if (keep) maxima[i] = 1;
    }
  }

  // Hysteresis: flood the weak maxima from every strong one (8-connectivity).
  const out = new Float64Array(h * w);
  const stack: number[] = [];
  for (let i = 0; i < mag.length; i++) {
    if (maxima[i] && mag[i]! >= HIGH && out[i] === 0) {
      out[i] = 1;
      stack.push(i);
      while (stack.length > 0) {
        const j = stack.pop()!;
        const r = Math.floor(j / w);
        const c = j - r * w;
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            const rr = r + dr;
            const cc = c + dc;
            if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
            const k = rr * w + cc;
            if (maxima[k] && out[k] === 0 && mag[k]! >= LOW) {
              out[k] = 1;
              stack.push(k);
            }
          }
        }
      }
    }
  }
  return out;
}
