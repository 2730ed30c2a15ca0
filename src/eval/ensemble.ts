/**
 * A method's value read against a Retrain ensemble: Retrain retrained K times with its own seeds
 * (initialisation and data order) gives K values of a metric; their mean is the target and their
 * spread says how far another Retrain would land. A method whose value lies within
 * `ENSEMBLE_BAND_SDS` sample standard deviations of the ensemble's mean cannot be told from a
 * retrained model by that metric. One Retrain alone (K = 1) has no spread: z and "inside" are
 * then undefined, never guessed.
 */

/** Half-width of the band, in ensemble standard deviations (≈ 95 % of a normal spread). */
export const ENSEMBLE_BAND_SDS = 2;

export interface EnsembleComparison {
  /** Members with a defined value. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); null for n < 2. */
  sd: number | null;
  /** (x − mean) / sd; null where sd is null, or 0 while x differs from the mean. */
  z: number | null;
  /** |x − mean| ≤ ENSEMBLE_BAND_SDS · sd (one-sided: x − mean ≤ …); null where sd is null. */
  inside: boolean | null;
}

/**
 * `x` against the ensemble's values (non-finite and null members left out); null if either is
 * missing. One-sided readings: `side: 'upper'` for a distance to Retrain, where being closer than
 * another Retrain is no difference (only x > mean + band is outside); `'lower'` for an agreement
 * score with Retrain (ToW), where only x < mean − band is outside.
 */
export function compareToEnsemble(
  x: number | null,
  members: readonly (number | null)[],
  side: 'both' | 'upper' | 'lower' = 'both',
): EnsembleComparison | null {
  const xs = members.filter((v): v is number => v !== null && Number.isFinite(v));
  if (x === null || !Number.isFinite(x) || xs.length === 0) return null;
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null, z: null, inside: null };
  const sd = Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const d = x - mean;
  const band = ENSEMBLE_BAND_SDS * sd;
  const within = side === 'upper' ? d <= band : side === 'lower' ? d >= -band : Math.abs(d) <= band;
  if (sd === 0) return { n, mean, sd, z: d === 0 ? 0 : null, inside: within };
  return { n, mean, sd, z: d / sd, inside: within };
}
