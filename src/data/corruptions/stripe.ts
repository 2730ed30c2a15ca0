/** stripe: invert the 7 leftmost and 7 rightmost columns (x[:, :7], x[:, 21:] on 28×28). */
const WIDTH = 7;

export function stripe(x: Float64Array, h: number, w: number): Float64Array {
  const out = Float64Array.from(x);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (c < WIDTH || c >= w - WIDTH) out[r * w + c] = 1 - x[r * w + c]!;
    }
  }
  return out;
}
