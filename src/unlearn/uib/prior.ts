import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { ParamGroup, ParamRole } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import { evaluate } from '../../train/evaluate.ts';
import {
  type Curvature,
  computeCurvature,
  type FisherLabels,
  groupVariables,
  hessianVectorProduct,
  type KfacFactors,
} from './curvature.ts';
import { type FisherCache, loadFisherCache } from './fisher-cache.ts';
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

/**
 * The labels of the per-example gradients a prior kind's curvature is taken with. Λ = λI takes
 * its λ scale from the default (stratified) Fisher, so that the ablation changes only the shape;
 * K-FAC keeps one sampled label per example (its input factor counts each example once).
 */
export function fisherLabelsOf(kind: PriorKind): FisherLabels {
  if (kind === 'fisher' || kind === 'hessian') return 'true';
  return kind === 'fisher-stratified' || kind === 'isotropic' ? 'stratified' : 'sampled';
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

/** Prior kinds that can take F_r from a cached F_D. */
const CACHEABLE: readonly PriorKind[] = [
  'fisher',
  'fisher-sampled',
  'fisher-stratified',
  'isotropic',
];
export type PriorMean = 'forget-gradient' | 'retain-gradient';

/** Largest group the dense 'hessian' kind accepts (one gradient pass per coordinate). */
const MAX_HESSIAN_DIM = 2000;

export interface PriorOptions {
  kind: PriorKind;
  mean?: PriorMean;
  /** Size of the seeded subsample of D_r the Fisher is computed on (default: all of D_r but the slice). */
  fisherSamples?: number;
  /**
   * Size of the seeded subsample of ΔD that g_f (and F_f, with the cache) are means over (default:
   * all of ΔD). n_f·g_f keeps the true n_f: the subsample only estimates the mean.
   */
  forgetSamples?: number;
  /** Cached F_D (diagonal kinds): F_r = (n·F_D − n_f·F_f)/n_r, clipped at 0. */
  cache?: FisherCache;
  /** The sham control: a random step of the same norm per tensor (see `randomLike`). */
  sham?: boolean;
  /** λ_l = c·median(n_r·F_r^(l)) (default 1). */
  c?: number;
  /** An absolute λ for every group instead (checks: the L2 coefficient of a convex objective). */
  lambda?: number;
  /** Trust-region radius relative to each tensor's norm (default 0.3); 0 or Infinity: off. */
  tau?: number;
  /** A fixed α, or 'search' (default): the largest α of `alphaGrid` whose slice loss rises ≤ ε (bisection). */
  alpha?: number | 'search';
  alphaGrid?: number[];
  epsilon?: number;
  /** Size of the held-out slice of D_r for the α search (default 512). */
  searchSamples?: number;
  batchSize?: number;
  rng: Rng;
  cost?: CostCounter;
}

/**
 * 1, ½, …, 2⁻¹²: on the MNIST CNN the accepted α was 2⁻⁸ (the diagonal Fisher of a well-fit
 * network is tiny, so Λ⁻¹·n_f·g_f overshoots by orders of magnitude before α scales it).
 */
export const DEFAULT_ALPHA_GRID = Array.from({ length: 13 }, (_, i) => 2 ** -i);

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

export interface PriorRecord {
  kind: PriorKind;
  labels: FisherLabels | null;
  mean: PriorMean;
  /** The sham control: the step was a random one of the same per-tensor norm. */
  sham: boolean;
  /** Where F_r came from: the F_D cache, or a subsample of D_r of `fisherSamples`. */
  source: 'cache' | 'subsample';
  /** SHA-256 of the cache files as read, when F_r came from the cache. */
  cache: { jsonSha256: string; binSha256: string } | null;
  fisherSamples: number;
  /** Samples of ΔD that g_f (and F_f) were computed on. */
  forgetSamples: number;
  nRetain: number;
  nForget: number;
  c: number | null;
  tau: number | null;
  alpha: number;
  epsilon: number | null;
  search: { alpha: number; sliceLoss: number }[];
  baseSliceLoss: number | null;
  groups: {
    name: string;
    lambda: number;
    tensors: {
      layer: string;
      role: ParamRole;
      stepNorm: number;
      relStep: number;
      clipped: boolean;
    }[];
  }[];
  timeMs: { fisher: number; prior: number };
  gradEvals: number;
}

export interface Prior {
  groups: PriorGroup[];
  record: PriorRecord;
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
// Building the prior.

function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** A Gaussian direction with the norm of `step` (zero stays zero). */
function randomLike(step: Float32Array | Float64Array, rng: Rng): Float64Array {
  const out = new Float64Array(step.length);
  for (let j = 0; j < out.length; j++) out[j] = rng.normal();
  const norm = l2(step);
  const len = l2(out);
  if (norm === 0 || len === 0) return out.fill(0);
  for (let j = 0; j < out.length; j++) out[j] *= norm / len;
  return out;
}

/** The slice for the α search and the Fisher subsample, disjoint, from one seeded permutation. */
function splitRetain(retain: Dataset, opts: PriorOptions, needsSlice: boolean) {
  const perm = opts.rng.fork('prior-split').permutation(retain.length);
  const sliceSize = needsSlice
    ? Math.min(opts.searchSamples ?? 512, Math.floor(retain.length / 2))
    : 0;
  const slice =
    sliceSize > 0
      ? retain.subset(perm.subarray(0, sliceSize), `${retain.name}/search-slice`)
      : null;
  const rest = perm.subarray(sliceSize);
  const m = Math.min(opts.fisherSamples ?? rest.length, rest.length);
  const fisherSet = retain.subset(rest.subarray(0, m), `${retain.name}/fisher`);
  return { slice, fisherSet };
}

/** ΔD itself, or a seeded subsample of `forgetSamples` of it. */
function subsampleForget(forget: Dataset, opts: PriorOptions): Dataset {
  const m = opts.forgetSamples;
  if (m === undefined || m >= forget.length) return forget;
  const perm = opts.rng.fork('prior-forget').permutation(forget.length);
  return forget.subset(perm.subarray(0, m), `${forget.name}/subsample`);
}

/** Dense n_r·H per group, column by column (central differences of the gradient). */
function denseHessian(
  model: LayersModel,
  groups: ParamGroup[],
  data: Dataset,
  nRetain: number,
  batchSize?: number,
) {
  const vars = groupVariables(groups);
  return groups.map((g, gi) => {
    const sizes = vars[gi].map((v) => v.size);
    const dim = sizes.reduce((a, b) => a + b, 0);
    if (dim > MAX_HESSIAN_DIM) {
      throw new UsageError(
        'fisher',
        `kind "hessian" is for tiny models: group ${g.name} has ${dim} > ${MAX_HESSIAN_DIM} parameters`,
      );
    }
    const H = new Float64Array(dim * dim);
    for (let col = 0; col < dim; col++) {
      const e = sizes.map((s) => new Float32Array(s));
      let c = col;
      let t = 0;
      while (c >= sizes[t]) c -= sizes[t++];
      e[t][c] = 1;
      const hv = hessianVectorProduct(model, vars[gi], data, e, { batchSize });
      let row = 0;
      for (const part of hv)
        for (let j = 0; j < part.length; j++) H[row++ * dim + col] = part[j] * nRetain;
    }
    // Symmetrise away the finite-difference noise.
    for (let i = 0; i < dim; i++) {
      for (let j = i + 1; j < dim; j++) {
        const s = (H[i * dim + j] + H[j * dim + i]) / 2;
        H[i * dim + j] = s;
        H[j * dim + i] = s;
      }
    }
    return { H, dim };
  });
}

export interface PriorData {
  retain: Dataset;
  forget: Dataset;
}

/**
 * Computes the prior for the request (data.forget) at the weights of `model` (θ̂). The model's
 * weights are read, moved during the α search, and restored bit for bit.
 */
export async function buildPrior(
  model: LayersModel,
  groups: ParamGroup[],
  data: PriorData,
  opts: PriorOptions,
): Promise<Prior> {
  const t0 = performance.now();
  const gradEvals0 = opts.cost?.gradEvals ?? 0;
  const mean = opts.mean ?? 'forget-gradient';
  const nRetain = data.retain.length;
  const nForget = data.forget.length;
  if (nForget === 0) throw new UsageError('forget', 'the deletion request is empty');
  if (nRetain === 0) throw new UsageError('retain', 'the retained set is empty');
  const search = opts.alpha === undefined || opts.alpha === 'search';
  const { slice, fisherSet } = splitRetain(data.retain, opts, search);
  const batchSize = opts.batchSize ?? 256;
  const labels = fisherLabelsOf(opts.kind);
  const curvOpts = { batchSize, cost: opts.cost };
  const forgetSet = subsampleForget(data.forget, opts);

  // 1. g_f over ΔD (and F_f when F_r comes from the cache).
  const useCache = !!opts.cache && CACHEABLE.includes(opts.kind);
  if (opts.cache && useCache && opts.cache.kind !== cacheKindOf(opts.kind)) {
    throw new UsageError(
      'fisher',
      `the cached Fisher is "${opts.cache.kind}"; the prior asks for "${opts.kind}"`,
    );
  }
  const forgetCurv = computeCurvature(model, groups, forgetSet, {
    ...curvOpts,
    labels: 'true',
    gradient: true,
    diag: useCache && labels === 'true',
    set: 'forget',
  });
  let forgetFisher = forgetCurv.diag;
  if (useCache && labels !== 'true') {
    forgetFisher = computeCurvature(model, groups, forgetSet, {
      ...curvOpts,
      labels,
      rng: opts.rng.fork('fisher-forget'),
      gradient: false,
      set: 'forget',
    }).diag;
  }

  // 2. F_r: from the cache, or on the subsample of D_r.
  let fr: Curvature | null = null;
  let diagR: Float32Array[][];
  if (useCache) {
    const c = opts.cache!;
    // F_D is a mean over the training set D = D_r ∪ ΔD: another n is another training set's cache.
    if (c.n !== nRetain + nForget)
      throw new UsageError(
        c.files?.file ?? 'Fisher cache',
        `is a mean over n = ${c.n} samples; this request's training set has ${nRetain + nForget} (|D_r| ${nRetain} + |ΔD| ${nForget}): a cache of another training set`,
      );
    diagR = c.diag.map((g, gi) =>
      g.map((fd, pi) => {
        const ff = forgetFisher![gi][pi];
        return fd.map((v, j) => Math.max(0, (c.n * v - nForget * ff[j]) / nRetain));
      }),
    );
  } else {
    fr = computeCurvature(model, groups, fisherSet, {
      ...curvOpts,
      labels,
      rng: opts.rng.fork('fisher-retain'),
      gradient: mean === 'retain-gradient' && labels === 'true' && fisherSet.length === nRetain,
      diag: true,
      kfac: opts.kind === 'kfac',
      set: 'retain',
    });
    diagR = fr.diag!;
  }
  const dense =
    opts.kind === 'hessian' ? denseHessian(model, groups, fisherSet, nRetain, batchSize) : null;

  // Σ_{D_r}∇ℓ for the retain-gradient mean: always over all of D_r (exact).
  let retainGradSum: Float32Array[][] | null = null;
  if (mean === 'retain-gradient') {
    const g =
      fr?.grad ??
      computeCurvature(model, groups, data.retain, {
        ...curvOpts,
        labels: 'true',
        gradient: true,
        diag: false,
        set: 'retain',
      }).grad!;
    retainGradSum = g.map((gg) => gg.map((t) => t.map((v) => v * nRetain)));
  }
  const fisherMs = performance.now() - t0;

  // 3. Precision per group: λ_l and the n_r-scaled curvature blocks.
  const c = opts.c ?? 1;
  const kfacByLayer = new Map<string, KfacFactors>((fr?.kfac ?? []).map((k) => [k.layer, k]));
  const priorGroups: PriorGroup[] = groups.map((g, gi) => {
    const tensors: PriorTensor[] = g.params.map((p, pi) => {
      const theta = (p.variable.read() as tf.Tensor).dataSync().slice() as Float32Array;
      return {
        layer: p.layer,
        role: p.role,
        shape: p.variable.shape as number[],
        theta,
        mean: theta.slice(),
        diag: diagR[gi][pi].map((v) => v * nRetain),
      };
    });
    const kfac: KfacBlock[] = [];
    if (opts.kind === 'kfac') {
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
    }
    // The group's Fisher scale: its n_r·F_r diagonal (K-FAC: diag(A) ⊗ diag(G); dense: diag(H)).
    // A loop, not push(...diag): a spread of a 200k-entry tensor overflows the call stack.
    const scale: number[] = [];
    for (const t of tensors) {
      if (!t.diag) continue;
      for (let j = 0; j < t.diag.length; j++) scale.push(t.diag[j]);
    }
    for (const b of kfac) {
      for (let i = 0; i < b.dimA; i++)
        for (let j = 0; j < b.dimG; j++)
          scale.push(nRetain * b.A[i * b.dimA + i] * b.G[j * b.dimG + j]);
    }
    let denseBlock: PriorGroup['dense'];
    if (dense) {
      denseBlock = dense[gi];
      scale.length = 0;
      for (let i = 0; i < denseBlock.dim; i++) scale.push(denseBlock.H[i * denseBlock.dim + i]);
      for (const t of tensors) t.diag = null;
    }
    let lambda: number;
    if (opts.lambda !== undefined) lambda = opts.lambda;
    else {
      const med = median(scale);
      const fallback = scale.reduce((a, b) => a + b, 0) / Math.max(1, scale.length);
      lambda =
        (opts.kind === 'isotropic' ? 1 + c : c) * (med > 0 ? med : fallback > 0 ? fallback : 1);
    }
    if (opts.kind === 'isotropic')
      for (const t of tensors) t.diag = new Float32Array(t.theta.length);
    return {
      name: g.name,
      index: g.index,
      isOutput: g.isOutput,
      lambda,
      tensors,
      kfac,
      dense: denseBlock,
    };
  });

  // 4. The raw step s = Λ⁻¹·n_f·g_f (or −Λ⁻¹·Σ_{D_r}∇ℓ), per group.
  const steps = priorGroups.map((pg, gi) => {
    const r =
      mean === 'forget-gradient'
        ? forgetCurv.grad![gi].map((t) => t.map((v) => v * nForget))
        : retainGradSum![gi].map((t) => t.map((v) => -v));
    return solvePrecision(pg, r, nRetain);
  });

  // 5. Trust region and α.
  const tau =
    opts.tau === undefined ? 0.3 : opts.tau > 0 && Number.isFinite(opts.tau) ? opts.tau : null;
  const clippedStep = (alpha: number) =>
    steps.map((gs, gi) =>
      gs.map((s, ti) => {
        const scaled = s.map((v) => v * alpha);
        const norm = l2(scaled);
        const limit =
          tau === null ? Number.POSITIVE_INFINITY : tau * l2(priorGroups[gi].tensors[ti].theta);
        if (norm > limit) {
          const k = limit / norm;
          for (let j = 0; j < scaled.length; j++) scaled[j] *= k;
          return { step: scaled, clipped: true };
        }
        return { step: scaled, clipped: false };
      }),
    );
  const searched: PriorRecord['search'] = [];
  let baseSliceLoss: number | null = null;
  let alpha: number;
  if (!search) alpha = opts.alpha as number;
  else {
    const grid = [...(opts.alphaGrid ?? DEFAULT_ALPHA_GRID)].sort((a, b) => b - a);
    const epsilon = opts.epsilon ?? 0.1;
    const vars = groupVariables(groups);
    const saved = vars.map((vs) => vs.map((v) => tf.keep(v.clone())));
    try {
      baseSliceLoss = (await evaluate(model, slice!, batchSize, { cost: opts.cost, set: 'retain' }))
        .loss;
      // The slice loss rises with α along a fixed direction, so bisect the grid for the largest
      // acceptable α: ⌈log2(grid + 1)⌉ evaluations instead of a scan (2⁻⁸ took 9 on the CNN).
      const tryAlpha = async (a: number) => {
        const st = clippedStep(a);
        vars.forEach((vs, gi) => {
          vs.forEach((v, ti) => {
            tf.tidy(() => v.assign(tf.add(saved[gi][ti], tf.tensor(st[gi][ti].step, v.shape))));
          });
        });
        const loss = (await evaluate(model, slice!, batchSize, { cost: opts.cost, set: 'retain' }))
          .loss;
        searched.push({ alpha: a, sliceLoss: loss });
        return Number.isFinite(loss) && loss - (baseSliceLoss as number) <= epsilon;
      };
      let rejected = -1; // grid[0..rejected] are too large
      let accepted = grid.length; // grid[accepted..] are acceptable (grid.length: none known)
      while (accepted - rejected > 1) {
        const mid = (rejected + accepted) >> 1;
        if (await tryAlpha(grid[mid])) accepted = mid;
        else rejected = mid;
      }
      alpha = accepted < grid.length ? grid[accepted] : 0;
    } finally {
      vars.forEach((vs, gi) => {
        vs.forEach((v, ti) => {
          v.assign(saved[gi][ti]);
        });
      });
      tf.dispose(saved.flat());
    }
  }
  const final = clippedStep(alpha);
  // The sham control: each tensor's step replaced by a Gaussian direction of the same norm, so
  // that what the step *points at* is all that differs from UIB-IF (same norm, same repair).
  const shamRng = opts.sham ? opts.rng.fork('sham') : null;
  priorGroups.forEach((pg, gi) => {
    pg.tensors.forEach((t, ti) => {
      const s = shamRng ? randomLike(final[gi][ti].step, shamRng) : final[gi][ti].step;
      for (let j = 0; j < s.length; j++) t.mean[j] = t.theta[j] + s[j];
    });
  });

  const record: PriorRecord = {
    kind: opts.kind,
    labels,
    mean,
    sham: !!opts.sham,
    source: useCache ? 'cache' : 'subsample',
    cache:
      useCache && opts.cache!.files
        ? { jsonSha256: opts.cache!.files.jsonSha256, binSha256: opts.cache!.files.binSha256 }
        : null,
    fisherSamples: useCache ? opts.cache!.n : fisherSet.length,
    forgetSamples: forgetSet.length,
    nRetain,
    nForget,
    c: opts.lambda === undefined ? c : null,
    tau,
    alpha,
    epsilon: search ? (opts.epsilon ?? 0.1) : null,
    search: searched,
    baseSliceLoss,
    groups: priorGroups.map((pg, gi) => ({
      name: pg.name,
      lambda: pg.lambda,
      tensors: pg.tensors.map((t, ti) => {
        const stepNorm = l2(final[gi][ti].step);
        const thetaNorm = l2(t.theta);
        return {
          layer: t.layer,
          role: t.role,
          stepNorm,
          relStep: thetaNorm > 0 ? stepNorm / thetaNorm : 0,
          clipped: final[gi][ti].clipped,
        };
      }),
    })),
    timeMs: { fisher: fisherMs, prior: performance.now() - t0 - fisherMs },
    gradEvals: (opts.cost?.gradEvals ?? 0) - gradEvals0,
  };
  return { groups: priorGroups, record };
}

/** Set the weights of the groups' model (same architecture as the prior's) to μ. */
export function assignPriorMean(groups: ParamGroup[], prior: Prior): void {
  checkMatch(groups, prior);
  groups.forEach((g, gi) => {
    g.params.forEach((p, pi) => {
      const t = prior.groups[gi].tensors[pi];
      tf.tidy(() => (p.variable.read() as tf.Variable).assign(tf.tensor(t.mean, t.shape)));
    });
  });
}

/** The model's groups must have the prior's structure: same count, order, layers' roles, shapes. */
export function checkMatch(groups: ParamGroup[], prior: Prior): void {
  const ok =
    groups.length === prior.groups.length &&
    groups.every(
      (g, gi) =>
        g.params.length === prior.groups[gi].tensors.length &&
        g.params.every((p, pi) => {
          const t = prior.groups[gi].tensors[pi];
          return p.role === t.role && p.variable.shape.join() === t.shape.join();
        }),
    );
  if (!ok)
    throw new Error(
      "UIB prior: the model's parameter groups do not match the prior's (different architecture?)",
    );
}

// ---------------------------------------------------------------------------------------------
// Hyper-parameters (shared by UIB-IF and every `<method>+uib`), with the defaults of
// uib-method.md's "Starting defaults".

export const priorParamsShape = {
  fisher: z
    .enum(PRIOR_KINDS)
    .default('fisher-stratified')
    .describe(
      "curvature of the prior: 'fisher-stratified' (diagonal true Fisher: each example's argmax and one other label, weighted by their probabilities), 'fisher-sampled' (diagonal, one label drawn from the model), 'fisher' (diagonal empirical), 'kfac', 'isotropic' (Λ = λI ablation), 'hessian' (exact, tiny models)",
    ),
  fisherSamples: z
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('seeded subsample of D_r the Fisher is computed on; 0 = all of D_r'),
  forgetSamples: z
    .number()
    .int()
    .min(0)
    .default(1024)
    .describe('seeded subsample of ΔD that g_f and F_f are means over; 0 = all of ΔD'),
  useCache: z
    .boolean()
    .default(true)
    .describe('use F_D cached beside the checkpoint when present (F_r = (n·F_D − n_f·F_f)/n_r)'),
  c: z.number().positive().max(1e6).default(1).describe('λ_l = c·median(n_r·F_r^(l))'),
  lambda: z.number().positive().optional().describe('an absolute λ for every group instead of c'),
  tau: z.number().min(0).default(0.3).describe('trust region: ‖μ − θ̂‖ ≤ τ·‖θ̂‖ per tensor; 0 = off'),
  alpha: z.number().min(0).optional().describe('a fixed step size α (default: line search)'),
  alphaGrid: z
    .array(z.number().min(0))
    .min(1)
    .default(DEFAULT_ALPHA_GRID)
    .describe('α values the line search tries, largest first'),
  epsilon: z
    .number()
    .min(0)
    .default(0.1)
    .describe('line search: largest α whose held-out D_r loss rises ≤ ε nats'),
  searchSamples: z
    .number()
    .int()
    .min(1)
    .default(512)
    .describe('held-out slice of D_r for the line search'),
  mean: z
    .enum(['forget-gradient', 'retain-gradient'])
    .default('forget-gradient')
    .describe('prior mean: θ̂ + αΛ⁻¹n_f g_f, or the exact step θ̂ − αΛ⁻¹Σ_{D_r}∇ℓ'),
  centre: z
    .enum(['prior', 'original'])
    .default('prior')
    .describe("centre of the bound R: μ, or θ̂ ('original', ablation)"),
  sham: z
    .boolean()
    .default(false)
    .describe('control: the step replaced by a random direction of the same norm per tensor'),
  curvatureBatch: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(256)
    .describe('batch size of the Fisher pass'),
};

export type PriorParams = {
  fisher: PriorKind;
  fisherSamples: number;
  forgetSamples: number;
  useCache: boolean;
  c: number;
  lambda?: number;
  tau: number;
  alpha?: number;
  alphaGrid: number[];
  epsilon: number;
  searchSamples: number;
  mean: PriorMean;
  centre: 'prior' | 'original';
  sham: boolean;
  curvatureBatch: number;
};

/** Prior options from parsed hyper-parameters; reads the F_D cache in `checkpointDir` when asked. */
export function priorOptionsFrom(
  p: PriorParams,
  groups: ParamGroup[],
  env: { rng: Rng; cost?: CostCounter; checkpointDir?: string; model: LayersModel },
): PriorOptions {
  let cache: FisherCache | undefined;
  if (p.useCache && env.checkpointDir && CACHEABLE.includes(p.fisher)) {
    const c = loadFisherCache(env.checkpointDir, groups, env.model);
    if (c && c.kind === cacheKindOf(p.fisher)) cache = c;
  }
  return {
    kind: p.fisher,
    mean: p.mean,
    fisherSamples: p.fisherSamples > 0 ? p.fisherSamples : undefined,
    forgetSamples: p.forgetSamples > 0 ? p.forgetSamples : undefined,
    cache,
    c: p.c,
    lambda: p.lambda,
    tau: p.tau,
    alpha: p.alpha ?? 'search',
    alphaGrid: p.alphaGrid,
    epsilon: p.epsilon,
    searchSamples: p.searchSamples,
    batchSize: p.curvatureBatch,
    sham: p.sham,
    rng: env.rng,
    cost: env.cost,
  };
}
