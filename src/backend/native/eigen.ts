/**
 * The K-FAC prior's symmetric eigendecompositions (../accel.ts's symmetricEigen) through the
 * addon's LAPACK (dsyevd, one thread): the JS solver (src/unlearn/uib/linalg.ts) took ~3 s
 * of a 1,000-row Gram matrix, most of UIB-IF kfac's prior. Same layout and order as the JS one;
 * undefined where the addon has no LAPACK (uib's own GEMM, an older build) or declines (a
 * non-finite entry, a LAPACK failure), so the caller runs the JS solver.
 */
import type { Accelerations } from '../accel.ts';
import { nativeAddon } from './addon.ts';

let wanted = true;

/** Turns these paths off (or on again) for comparisons. */
export function useNativeEigen(on: boolean): void {
  wanted = on;
}

export const nativeSymmetricEigen: Accelerations['symmetricEigen'] = (a, n) => {
  const addon = nativeAddon();
  if (!wanted || addon?.symmetricEigen === undefined || addon.blas() !== 'openblas')
    return undefined;
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) return undefined; // the JS one says why
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  return addon.symmetricEigen(a, n, values, vectors) ? { values, vectors } : undefined;
};

/** linalg.ts's matmul through OpenBLAS's dgemm; undefined where the addon has none (the JS one runs). */
export const nativeMatmul64: Accelerations['matmul64'] = (a, b, r, k, c, transA, transB) => {
  const addon = nativeAddon();
  if (!wanted || addon?.dgemm === undefined || addon.blas() !== 'openblas') return undefined;
  if (a.length !== r * k || b.length !== k * c) return undefined; // the JS one says why
  const out = new Float64Array(r * c);
  return addon.dgemm(a, b, out, r, k, c, transA, transB) ? out : undefined;
};
