/**
 * The K-FAC prior's float64 linear algebra (../accel.ts's symmetricEigen and matmul64) through the
 * addon's LAPACK and BLAS (dsyevd, dgemm; one thread): the JS solver (src/unlearn/uib/linalg.ts)
 * took ~3 s of a 1,000-row Gram matrix, most of UIB-IF kfac's prior. Same layouts and order as
 * the JS functions; undefined where the addon has no LAPACK (uib's own GEMM, an older build) or
 * declines (a non-finite entry, a LAPACK failure, an empty dimension), so the caller runs the JS one.
 */
import type { Accelerations } from '../accel.ts';
import { nativeAddon } from './addon.ts';

export const nativeSymmetricEigen: Accelerations['symmetricEigen'] = (a, n) => {
  const addon = nativeAddon();
  if (addon?.symmetricEigen === undefined || addon.blas() !== 'openblas') return undefined;
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) return undefined; // the JS one says why
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  return addon.symmetricEigen(a, n, values, vectors) ? { values, vectors } : undefined;
};

/** linalg.ts's matmul through OpenBLAS's dgemm; undefined where the addon has none (the JS one runs). */
export const nativeMatmul64: Accelerations['matmul64'] = (a, b, r, k, c, transA, transB) => {
  const addon = nativeAddon();
  if (addon?.dgemm === undefined || addon.blas() !== 'openblas') return undefined;
  if (a.length !== r * k || b.length !== k * c) return undefined; // the JS one says why
  const out = new Float64Array(r * c);
  return addon.dgemm(a, b, out, r, k, c, transA, transB) ? out : undefined;
};
