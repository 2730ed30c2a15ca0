/**
 * Distance to Retrain (uib-method.md, "Metrics"): the mean Jensen–Shannon divergence between the
 * model's and Retrain's predictive distributions (on test and on ΔD), the ℓ2 distance between their
 * weights, and Avg. Gap = mean |m − m_Retrain| over UA, RA, TA and MIA-Efficacy.
 */
import { defined, type MetricValue, undefinedBecause } from './types.ts';

/**
 * Textbook Jensen–Shannon divergence in bits: JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = (P + Q)/2,
 * log base 2, so it lies in [0, 1]; 0 · log 0 = 0.
 */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length)
    throw new Error(`jsDivergence: lengths ${p.length} and ${q.length} differ`);
  let js = 0;
  for (let c = 0; c < p.length; c++) {
    const m = (p[c] + q[c]) / 2;
    if (p[c] > 0) js += 0.5 * p[c] * Math.log2(p[c] / m);
    if (q[c] > 0) js += 0.5 * q[c] * Math.log2(q[c] / m);
  }
  // Rounding can leave a hair below 0 or above 1.
  return Math.min(1, Math.max(0, js));
}

/** Mean over samples of JS(P_i, Q_i) for two row-major `[n × k]` probability matrices. */
export function meanJsDivergence(p: Float32Array, q: Float32Array, k: number): MetricValue {
  if (p.length !== q.length || p.length % k !== 0) {
    throw new Error(
      `meanJsDivergence: shapes ${p.length} and ${q.length} are not the same [n × ${k}]`,
    );
  }
  const n = p.length / k;
  if (n === 0) return undefinedBecause('empty set');
  let sum = 0;
  for (let i = 0; i < n; i++)
    sum += jsDivergence(p.subarray(i * k, (i + 1) * k), q.subarray(i * k, (i + 1) * k));
  return defined(sum / n);
}

/** ℓ2 distance √Σ (a − b)² between two models' weights, given as lists of flat tensors in the same order. */
export function weightDistance(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
): number {
  if (a.length !== b.length) throw new Error(`weightDistance: ${a.length} tensors vs ${b.length}`);
  let s = 0;
  for (let t = 0; t < a.length; t++) {
    if (a[t].length !== b[t].length) {
      throw new Error(`weightDistance: tensor ${t} has ${a[t].length} vs ${b[t].length} values`);
    }
    for (let i = 0; i < a[t].length; i++) s += (a[t][i] - b[t][i]) ** 2;
  }
  return Math.sqrt(s);
}

/** The metrics Avg. Gap averages over, each a fraction in [0, 1]. */
export const AVG_GAP_METRICS = ['ua', 'ra', 'ta', 'mia-efficacy'] as const;
export type AvgGapMetric = (typeof AVG_GAP_METRICS)[number];

/**
 * Avg. Gap = mean over UA, RA, TA, MIA-Efficacy of |m − m_Retrain|, in **percentage points**
 * (fractions × 100), the unit of the tables in Jia et al. 2023 and SalUn. Undefined when any of the
 * four is undefined for the model or for Retrain (a partial mean would not compare across methods).
 */
export function avgGap(
  model: Record<AvgGapMetric, MetricValue>,
  retrain: Record<AvgGapMetric, MetricValue>,
): MetricValue {
  let sum = 0;
  for (const id of AVG_GAP_METRICS) {
    const m = model[id].value;
    const r = retrain[id].value;
    if (m === null) return undefinedBecause(`${id} is undefined: ${model[id].reason}`);
    if (r === null) return undefinedBecause(`Retrain's ${id} is undefined: ${retrain[id].reason}`);
    sum += Math.abs(m - r) * 100;
  }
  return defined(sum / AVG_GAP_METRICS.length);
}
