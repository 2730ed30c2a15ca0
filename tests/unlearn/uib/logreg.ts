/** Float64 reference for L2-regularised multinomial logistic regression: Σ_i ℓ_i + (λ/2)‖θ‖². */
import type { Dataset } from '../../../src/data/dataset.ts';

/** θ laid out like a Dense layer: kernel [d, k] row-major, then bias [k]. */
export function objective(data: Dataset, theta: Float64Array, lambda: number) {
  const d = data.sampleShape[0];
  const k = data.numClasses;
  const dim = (d + 1) * k;
  const g = new Float64Array(dim);
  const H = new Float64Array(dim * dim);
  const all = data.gather(Array.from({ length: data.length }, (_, i) => i));
  for (let i = 0; i < data.length; i++) {
    const xa = [...all.x.subarray(i * d, (i + 1) * d), 1];
    const z = new Float64Array(k);
    for (let c = 0; c < k; c++) for (let j = 0; j <= d; j++) z[c] += xa[j] * theta[j * k + c];
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    for (let j1 = 0; j1 <= d; j1++)
      for (let c1 = 0; c1 < k; c1++) {
        g[j1 * k + c1] += (p[c1] - (all.y[i] === c1 ? 1 : 0)) * xa[j1];
        for (let j2 = 0; j2 <= d; j2++)
          for (let c2 = 0; c2 < k; c2++)
            H[(j1 * k + c1) * dim + j2 * k + c2] +=
              ((c1 === c2 ? p[c1] : 0) - p[c1] * p[c2]) * xa[j1] * xa[j2];
      }
  }
  for (let j = 0; j < dim; j++) {
    g[j] += lambda * theta[j];
    H[j * dim + j] += lambda;
  }
  return { g, H, dim };
}

export function solve(H: Float64Array, b: Float64Array, n: number): Float64Array {
  // Gaussian elimination with partial pivoting (small n).
  const a = Float64Array.from(H);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[piv * n + c])) piv = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[piv * n + j]] = [a[piv * n + j], a[c * n + j]];
    [x[c], x[piv]] = [x[piv], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let j = r + 1; j < n; j++) x[r] -= a[r * n + j] * x[j];
    x[r] /= a[r * n + r];
  }
  return x;
}

/** The optimum by Newton's method from 0. */
export function fit(data: Dataset, lambda: number): Float64Array {
  const dim = (data.sampleShape[0] + 1) * data.numClasses;
  let theta = new Float64Array(dim);
  for (let it = 0; it < 50; it++) {
    const { g, H } = objective(data, theta, lambda);
    const step = solve(H, g, dim);
    theta = theta.map((v, j) => v - step[j]);
    if (Math.sqrt(g.reduce((s, v) => s + v * v, 0)) < 1e-12) break;
  }
  return theta;
}
