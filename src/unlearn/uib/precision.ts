/**
 * The precision Λ of the UIB prior (docs/method.md §3): one frozen table of the curvature kinds —
 * which labels their per-example gradients take, whether F_r can come from a cached F_D, which
 * blocks they build — the per-group precision (λ_l and the n_r-scaled curvature blocks), and the
 * solve x = Λ⁻¹r that every step and every bound uses.
 */
import { UsageError } from '../../core/errors.ts';
import type { ParamGroup, ParamRole } from '../../models/types.ts';
import type { Curvature, FisherLabels, KfacFactors } from '../curvature/index.ts';
import type { FisherCache } from './fisher-cache.ts';
import { cholesky, choleskySolve, matmul, median, symmetricEigen } from './linalg.ts';

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
  eigA: { values: Float64Array; vectors: Float64Array };
  eigG: { values: Float64Array; vectors: Float64Array };
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
    // Λ = λ I + n_r (A ⊗ G) is diagonal in the eigenbases: Λ⁻¹R = U_A [(U_Aᵀ R U_G) ⊘ (λ + n_r s_A s_Gᵀ)] U_Gᵀ.
    const R = blockMatrix(r, b);
    const { dimA: p, dimG: q } = b;
    const rot = matmul(matmul(b.eigA.vectors, R, p, p, q, true), b.eigG.vectors, p, q, q);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < q; j++) {
        rot[i * q + j] /=
          lambda + nRetain * Math.max(0, b.eigA.values[i]) * Math.max(0, b.eigG.values[j]);
      }
    }
    const x = matmul(matmul(b.eigA.vectors, rot, p, p, q), b.eigG.vectors, p, q, q, false, true);
    out[b.kernel] = Float32Array.from(x.subarray(0, out[b.kernel].length));
    if (b.bias !== undefined) out[b.bias] = Float32Array.from(x.subarray((p - 1) * q));
  }
  return out;
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
      eigA: symmetricEigen(f.A, f.dimA),
      eigG: symmetricEigen(f.G, f.dimG),
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
