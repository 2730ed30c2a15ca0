/**
 * Aggregation over seeds: mean ± the 95 % Student-t interval, mean ± t_{(1+level)/2, n−1} · s/√n,
 * with s the sample standard deviation (n − 1 in the denominator). The t quantile is computed
 * exactly (to double precision) by inverting the t CDF, itself the regularised incomplete beta
 * function, evaluated by its continued fraction.
 */
import type { MetricValue } from './types.ts';

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a + 1)/(a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    // even step
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // odd step
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** Regularised incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront =
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  // Use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where the fraction converges faster.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** CDF of Student's t with `dof` degrees of freedom. */
export function studentTCdf(t: number, dof: number): number {
  const tail = 0.5 * regularizedBeta(dof / (dof + t * t), dof / 2, 0.5); // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile t_{p, dof}: the t with P(T ≤ t) = p, for p in (0, 1), by bisection on the CDF. */
export function studentTQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p = ${p}; must be in (0, 1)`);
  if (!(dof > 0)) throw new Error(`studentTQuantile: dof = ${dof}; must be positive`);
  if (p < 0.5) return -studentTQuantile(1 - p, dof);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Summary {
  /** Seeds with a defined value. */
  n: number;
  /** Seeds whose value was undefined (left out of the mean). */
  undefinedCount: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null for n < 2. */
  sd: number | null;
  /** Half-width of the interval; null for n < 2 (one seed gives no spread to estimate). */
  halfWidth: number | null;
  lo: number | null;
  hi: number | null;
  level: number;
}

/** Mean ± `level` Student-t interval of the defined values (undefined ones are counted, not used). */
export function summarize(values: readonly (number | MetricValue | null)[], level = 0.95): Summary {
  const xs: number[] = [];
  let undefinedCount = 0;
  for (const v of values) {
    const x = v === null ? null : typeof v === 'number' ? v : v.value;
    if (x === null || !Number.isFinite(x)) undefinedCount++;
    else xs.push(x);
  }
  const n = xs.length;
  const none = { n, undefinedCount, sd: null, halfWidth: null, lo: null, hi: null, level };
  if (n === 0) return { ...none, mean: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { ...none, mean };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const halfWidth = (studentTQuantile((1 + level) / 2, n - 1) * sd) / Math.sqrt(n);
  return {
    n,
    undefinedCount,
    mean,
    sd,
    halfWidth,
    lo: mean - halfWidth,
    hi: mean + halfWidth,
    level,
  };
}
