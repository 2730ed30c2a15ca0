/**
 * The precision Λ of the UIB prior (docs/method.md §3): one frozen table of the curvature kinds —
 * which labels their per-example gradients take, whether F_r can come from a cached F_D, which
 * blocks they build — the per-group precision (λ_l and the n_r-scaled curvature blocks), and the
 * solve x = Λ⁻¹r that every step and every bound uses.
 */
import { accelerations } from '../../backend/accel.ts';
import { UsageError } from '../../core/errors.ts';
import type { ParamGroup, ParamRole } from '../../models/types.ts';
import type { Curvature, FisherLabels, KfacFactors } from '../curvature/index.ts';
import type { FactorRows } from '../curvature/types.ts';
import type { FisherCache } from './fisher-cache.ts';
import { cholesky, choleskySolve, gramOfRows, matmul, median, symmetricEigen } from './linalg.ts';

export const PRIOR_KINDS = [
  'fisher',
  'fisher-sampled',
  'fisher-stratified',
  'kfac',
  'isotropic',
  'hessian',
] as const;
export type PriorKind = (typeof PRIOR_KINDS)[number];

export interface PriorKindSpec {
  /**
   * The labels of the per-example gradients its curvature is taken with. Λ = λI takes its λ scale
   * from the default (stratified) Fisher, so that the ablation changes only the shape; K-FAC keeps
   * one sampled label per example (its input factor counts each example once).
   */
  readonly labels: FisherLabels;
  /** F_r can come from a cached F_D (the diagonal kinds). */
  readonly cacheable: boolean;
  /** The precision's blocks: diagonal, Kronecker factors, a dense Hessian, or λI alone. */
  readonly blocks: 'diagonal' | 'kfac' | 'dense' | 'isotropic';
}

export const PRIOR_KIND_SPECS: Readonly<Record<PriorKind, PriorKindSpec>> = Object.freeze({
  fisher: { labels: 'true', cacheable: true, blocks: 'diagonal' },
  'fisher-sampled': { labels: 'sampled', cacheable: true, blocks: 'diagonal' },
  'fisher-stratified': { labels: 'stratified', cacheable: true, blocks: 'diagonal' },
  kfac: { labels: 'sampled', cacheable: false, blocks: 'kfac' },
  isotropic: { labels: 'stratified', cacheable: true, blocks: 'isotropic' },
  hessian: { labels: 'true', cacheable: false, blocks: 'dense' },
});

export function fisherLabelsOf(kind: PriorKind): FisherLabels {
  return PRIOR_KIND_SPECS[kind].labels;
}

/** The F_D cache a prior kind reads. */
export function cacheKindOf(kind: PriorKind): FisherCache['kind'] {
  const labels = fisherLabelsOf(kind);
  return labels === 'true'
    ? 'fisher'
    : labels === 'stratified'
      ? 'fisher-stratified'
      : 'fisher-sampled';
}

/** Kronecker-factored precision block of one Dense/Conv layer: Λ = λ·I + n_r·(A ⊗ G). */
export interface KfacBlock {
  layer: string;
  /** Param indices (in the group) of the kernel and bias; rows of the block: fan-in, then bias. */
  kernel: number;
  bias?: number;
  A: Float64Array;
  dimA: number;
  G: Float64Array;
  dimG: number;
  eigA: FactorSpectrum;
  eigG: FactorSpectrum;
}

/** The spectrum of a K-FAC factor F (PSD), as the solve reads it: the dense or the Gram route. */
export type FactorSpectrum = FactorEigen | FactorGram;

/** Dense route: F = V diag(values) Vᵀ, V (`vectors`, dim × dim, row-major) orthonormal. */
export interface FactorEigen {
  values: Float64Array;
  vectors: Float64Array;
  gram?: undefined;
}

// The platform's float64 eigensolver and product where it has them (LAPACK and BLAS through the
// native addon), else linalg.ts's: the K-FAC prior's cost is these on ~1,000-row matrices.
function eigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  return accelerations().symmetricEigen(a, n) ?? symmetricEigen(a, n);
}
const mm: typeof matmul = (a, b, r, k, c, transA = false, transB = false) =>
  accelerations().matmul64(a, b, r, k, c, transA, transB) ?? matmul(a, b, r, k, c, transA, transB);
/** scale·XXᵀ of X (m × n): gramOfRows, or the platform's product scaled alike. */
function gram(x: Float64Array, m: number, n: number, scale: number): Float64Array {
  const g = accelerations().matmul64(x, x, m, n, m, false, true);
  if (!g) return gramOfRows(x, m, n, scale);
  for (let i = 0; i < g.length; i++) g[i] *= scale;
  return g;
}

/**
 * Gram route, for F = scale·XᵀX with X rows × dim and rows < dim: scale·XXᵀ = U diag(values) Uᵀ
 * (rows × rows). Column k of B = XᵀU is an eigenvector of F with eigenvalue values[k] and
 * ‖b_k‖² = values[k]/scale; every direction orthogonal to all of them (the null space of X) has
 * eigenvalue exactly 0. B is never formed: it is applied as Xᵀ(U·) and Uᵀ(X·).
 */
export interface FactorGram {
  values: Float64Array;
  gram: { x: Float64Array; rows: number; dim: number; scale: number; u: Float64Array };
}

/**
 * The spectrum of the factor F (dim × dim): from its rows where they are fewer than dim (rank ≤
 * rows: the rows × rows Gram has the same non-zero eigenvalues, at (rows/dim)³ of the cost),
 * else from F itself.
 */
export function factorSpectrum(f: Float64Array, dim: number, rows?: FactorRows): FactorSpectrum {
  if (!rows || rows.rows >= dim) return eigen(f, dim);
  const m = rows.rows;
  if (rows.x.length !== m * dim)
    throw new RangeError(`factorSpectrum: ${rows.x.length} entries are not ${m} rows of ${dim}`);
  const x = Float64Array.from(rows.x);
  const { values, vectors } = eigen(gram(x, m, dim, rows.scale), m);
  return { values, gram: { x, rows: m, dim, scale: rows.scale, u: vectors } };
}

export interface PriorTensor {
  layer: string;
  role: ParamRole;
  shape: number[];
  /** θ̂ and μ, flat. */
  theta: Float32Array;
  mean: Float32Array;
  /** n_r·F_r (diagonal) of this tensor, or null where a K-FAC / dense block covers it. */
  diag: Float32Array | null;
}

export interface PriorGroup {
  name: string;
  index: number;
  isOutput: boolean;
  lambda: number;
  tensors: PriorTensor[];
  kfac: KfacBlock[];
  /** Dense n_r·H over the whole group (kind 'hessian'), tensors concatenated in order. */
  dense?: { H: Float64Array; dim: number };
}

// ---------------------------------------------------------------------------------------------
// Solving with the precision, per group.

/** Rows [fanIn (+1)] × cols [units] of a Dense/Conv layer's kernel (and bias, as the last row). */
function blockMatrix(values: Float32Array[] | Float64Array[], block: KfacBlock): Float64Array {
  const m = new Float64Array(block.dimA * block.dimG);
  m.set(values[block.kernel]);
  if (block.bias !== undefined) m.set(values[block.bias], (block.dimA - 1) * block.dimG);
  return m;
}

/** x = Λ⁻¹ r for one group (r and x laid out like the group's tensors). */
export function solvePrecision(
  group: PriorGroup,
  r: Float32Array[],
  nRetain: number,
): Float32Array[] {
  const { lambda } = group;
  if (group.dense) {
    const { H, dim } = group.dense;
    const m = Float64Array.from(H);
    for (let i = 0; i < dim; i++) m[i * dim + i] += lambda;
    const l = cholesky(m, dim);
    if (!l)
      throw new UsageError(
        'prior',
        `group ${group.name}: λ·I + n_r·H is not positive definite; raise c or lambda`,
      );
    const flat = new Float64Array(dim);
    let at = 0;
    for (const t of r) {
      flat.set(t, at);
      at += t.length;
    }
    const x = choleskySolve(l, dim, flat);
    let off = 0;
    return r.map((t) => {
      const out = Float32Array.from(x.subarray(off, off + t.length));
      off += t.length;
      return out;
    });
  }
  const out = group.tensors.map((t, i) =>
    t.diag ? r[i].map((v, j) => v / (lambda + t.diag![j])) : new Float32Array(r[i].length),
  );
  for (const b of group.kfac) {
    const x = solveKfacBlock(b, blockMatrix(r, b), lambda, nRetain);
    out[b.kernel] = Float32Array.from(x.subarray(0, out[b.kernel].length));
    if (b.bias !== undefined) out[b.bias] = Float32Array.from(x.subarray((b.dimA - 1) * b.dimG));
  }
  return out;
}

/** Bᵀ M for a factor's eigenvector basis B (dim × r) and M dim × cols: r × cols. */
function basisT(f: FactorSpectrum, dim: number, m: Float64Array, cols: number): Float64Array {
  if (!f.gram) return mm(f.vectors, m, dim, dim, cols, true);
  const { x, rows, u } = f.gram;
  return mm(u, mm(x, m, rows, dim, cols), rows, rows, cols, true);
}

/** B M for M r × cols: dim × cols. */
function basisMul(f: FactorSpectrum, dim: number, m: Float64Array, cols: number): Float64Array {
  if (!f.gram) return mm(f.vectors, m, dim, dim, cols);
  const { x, rows, u } = f.gram;
  return mm(x, mm(u, m, rows, rows, cols), dim, rows, cols, true);
}

/** M B for M rowsM × dim: rowsM × r. */
function mulBasis(f: FactorSpectrum, dim: number, m: Float64Array, rowsM: number): Float64Array {
  if (!f.gram) return mm(m, f.vectors, rowsM, dim, dim);
  const { x, rows, u } = f.gram;
  return mm(mm(m, x, rowsM, dim, rows, false, true), u, rowsM, rows, rows);
}

/** M Bᵀ for M rowsM × r: rowsM × dim. */
function mulBasisT(f: FactorSpectrum, dim: number, m: Float64Array, rowsM: number): Float64Array {
  if (!f.gram) return mm(m, f.vectors, rowsM, dim, dim, false, true);
  const { x, rows, u } = f.gram;
  return mm(mm(m, u, rowsM, rows, rows, false, true), x, rowsM, rows, dim);
}

/**
 * X = Λ⁻¹R for one K-FAC block, R [dimA, dimG] (kernel rows, then the bias row), in float64.
 * With both factors decomposed in full, Λ is diagonal in their eigenbases:
 *   Λ⁻¹R = V_A [(V_Aᵀ R V_G) ⊘ (λ + n_r s tᵀ)] V_Gᵀ.
 * Where a factor is known only on its non-zero spectrum (Gram route), Λ = λ on every direction
 * outside range(A) ⊗ range(G) (there A⊗G vanishes), so
 *   Λ⁻¹R = R/λ + Σ_kl φ(s_k, t_l) v_k v_kᵀ R w_l w_lᵀ,  φ(s, t) = 1/(λ + n_r s t) − 1/λ,
 * exact, with v, w the unit eigenvectors. For a Gram column b_k = ‖b_k‖ v_k, ‖b_k‖² = s_k/scale,
 * so its coefficient φ·scale/s_k = −n_r·scale·t/(λ(λ + n_r s t)): no division by a small s.
 */
export function solveKfacBlock(
  b: KfacBlock,
  R: Float64Array,
  lambda: number,
  nRetain: number,
): Float64Array {
  const { dimA: p, dimG: q, eigA, eigG } = b;
  const sA = eigA.values.map((v) => Math.max(0, v));
  const sG = eigG.values.map((v) => Math.max(0, v));
  if (!eigA.gram && !eigG.gram) {
    const rot = mm(mm(eigA.vectors, R, p, p, q, true), eigG.vectors, p, q, q);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < q; j++) rot[i * q + j] /= lambda + nRetain * sA[i] * sG[j];
    return mm(mm(eigA.vectors, rot, p, p, q), eigG.vectors, p, q, q, false, true);
  }
  if (!(lambda > 0))
    throw new UsageError(
      'prior',
      `layer ${b.layer}: λ·I + n_r·A⊗G is singular where A or G has rank below its size; λ must be positive`,
    );
  // The coefficient's numerator per column: s for a unit eigenvector, scale for a Gram column.
  const scaleA = eigA.gram?.scale;
  const scaleG = eigG.gram?.scale;
  const wA = scaleA === undefined ? sA : sA.map(() => scaleA);
  const wG = scaleG === undefined ? sG : sG.map(() => scaleG);
  const rA = sA.length;
  const rG = sG.length;
  const c = mulBasis(eigG, q, basisT(eigA, p, R, q), rA); // Bᵀ_A R B_G, rA × rG
  for (let k = 0; k < rA; k++)
    for (let l = 0; l < rG; l++)
      c[k * rG + l] *= (-nRetain * wA[k] * wG[l]) / (lambda * (lambda + nRetain * sA[k] * sG[l]));
  const x = basisMul(eigA, p, mulBasisT(eigG, q, c, rA), q);
  for (let i = 0; i < x.length; i++) x[i] += R[i] / lambda;
  return x;
}

// ---------------------------------------------------------------------------------------------
// The precision of each group.

/** The group's tensors at θ̂ with their n_r·F_r diagonal (μ starts at θ̂). */
function tensorsAt(g: ParamGroup, diagR: Float32Array[], nRetain: number): PriorTensor[] {
  return g.params.map((p, pi) => {
    const theta = (p.variable.read() as { dataSync(): Float32Array }).dataSync().slice();
    return {
      layer: p.layer,
      role: p.role,
      shape: p.variable.shape as number[],
      theta,
      mean: theta.slice(),
      diag: diagR[pi].map((v) => v * nRetain),
    };
  });
}

/** K-FAC blocks of the group's layers (their kernel and bias leave the diagonal). */
function kfacBlocks(
  g: ParamGroup,
  tensors: PriorTensor[],
  kfacByLayer: Map<string, KfacFactors>,
): KfacBlock[] {
  const kfac: KfacBlock[] = [];
  for (const layer of new Set(g.params.map((p) => p.layer))) {
    const f = kfacByLayer.get(layer);
    if (!f) continue;
    const kernel = f.kernel[1];
    const bias = f.bias?.[1];
    tensors[kernel].diag = null;
    if (bias !== undefined) tensors[bias].diag = null;
    kfac.push({
      layer,
      kernel,
      bias,
      A: f.A,
      dimA: f.dimA,
      G: f.G,
      dimG: f.dimG,
      eigA: factorSpectrum(f.A, f.dimA, f.rowsA),
      eigG: factorSpectrum(f.G, f.dimG, f.rowsG),
    });
  }
  return kfac;
}

/** The group's Fisher scale: its n_r·F_r diagonal (K-FAC: diag(A) ⊗ diag(G); dense: diag(H)). */
function curvatureScale(
  tensors: PriorTensor[],
  kfac: KfacBlock[],
  dense: PriorGroup['dense'],
  nRetain: number,
): number[] {
  // A loop, not push(...diag): a spread of a 200k-entry tensor overflows the call stack.
  const scale: number[] = [];
  if (dense) {
    for (let i = 0; i < dense.dim; i++) scale.push(dense.H[i * dense.dim + i]);
    return scale;
  }
  for (const t of tensors) {
    if (!t.diag) continue;
    for (let j = 0; j < t.diag.length; j++) scale.push(t.diag[j]);
  }
  for (const b of kfac) {
    for (let i = 0; i < b.dimA; i++)
      for (let j = 0; j < b.dimG; j++)
        scale.push(nRetain * b.A[i * b.dimA + i] * b.G[j * b.dimG + j]);
  }
  return scale;
}

/** λ_l = c·median(scale) (isotropic: (1 + c)·median), or the absolute λ given. */
function lambdaOf(scale: number[], kind: PriorKind, c: number, lambda?: number): number {
  if (lambda !== undefined) return lambda;
  const med = median(scale);
  const fallback = scale.reduce((a, b) => a + b, 0) / Math.max(1, scale.length);
  const base = med > 0 ? med : fallback > 0 ? fallback : 1;
  return (PRIOR_KIND_SPECS[kind].blocks === 'isotropic' ? 1 + c : c) * base;
}

export interface PrecisionInputs {
  kind: PriorKind;
  /** n_r·F_r's diagonal source: F_r per group and tensor. */
  diagR: Float32Array[][];
  retain: Curvature | null;
  dense: { H: Float64Array; dim: number }[] | null;
  nRetain: number;
  c: number;
  lambda?: number;
}

/** Per group: λ_l and the n_r-scaled curvature blocks of its kind. */
export function precisionGroups(groups: ParamGroup[], p: PrecisionInputs): PriorGroup[] {
  const blocks = PRIOR_KIND_SPECS[p.kind].blocks;
  const kfacByLayer = new Map<string, KfacFactors>((p.retain?.kfac ?? []).map((k) => [k.layer, k]));
  return groups.map((g, gi) => {
    const tensors = tensorsAt(g, p.diagR[gi], p.nRetain);
    const kfac = blocks === 'kfac' ? kfacBlocks(g, tensors, kfacByLayer) : [];
    const dense = p.dense ? p.dense[gi] : undefined;
    const scale = curvatureScale(tensors, kfac, dense, p.nRetain);
    if (dense) for (const t of tensors) t.diag = null;
    const lambda = lambdaOf(scale, p.kind, p.c, p.lambda);
    if (blocks === 'isotropic') for (const t of tensors) t.diag = new Float32Array(t.theta.length);
    return { name: g.name, index: g.index, isOutput: g.isOutput, lambda, tensors, kfac, dense };
  });
}
