/**
 * The dynamic prior of UIB (docs/method.md §3) as a pipeline: the evidence of ΔD (g_f, and F_f
 * when F_r comes from the cache) → the retained curvature F_r → the precision Λ per group
 * (precision.ts) → the raw step s = Λ⁻¹·n_f·g_f → trust region and α (prior-step.ts) → μ and the
 * record. Each stage is one function; `buildPrior` only runs them in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { UsageError } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { ParamGroup, ParamRole } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import {
  type Curvature,
  computeCurvature,
  type FisherLabels,
  groupVariables,
  hessianVectorProduct,
} from '../curvature/index.ts';
import type { FisherCache } from './fisher-cache.ts';
import {
  cacheKindOf,
  fisherLabelsOf,
  PRIOR_KIND_SPECS,
  type PriorGroup,
  type PriorKind,
  precisionGroups,
  solvePrecision,
} from './precision.ts';
import {
  type AlphaSearch,
  type AlphaTrial,
  type ClippedStep,
  type EvidenceTarget,
  l2,
  placeMean,
  searchAlpha,
  trustRegion,
} from './prior-step.ts';

export {
  cacheKindOf,
  fisherLabelsOf,
  type KfacBlock,
  PRIOR_KIND_SPECS,
  PRIOR_KINDS,
  type PriorGroup,
  type PriorKind,
  type PriorTensor,
  solvePrecision,
} from './precision.ts';

export type PriorMean = 'forget-gradient' | 'retain-gradient';

/** How the α search stops: at a D_r damage of ε, or where ΔD looks like held-out data (§3). */
export const ALPHA_RULES = ['damage', 'evidence'] as const;
export type AlphaRule = (typeof ALPHA_RULES)[number];

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
  /** The α search's rule (default 'damage'); 'evidence' needs `PriorData.validation`. */
  rule?: AlphaRule;
  /** Evidence rule: the largest rise of the D_r slice loss any α may cause (default 1 nat). */
  damageCap?: number;
  /** Size of the held-out slice of D_r for the α search (default 512), and of ΔD's and its twin's samples for the evidence rule. */
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
  rule: AlphaRule | null;
  /** Evidence rule: the damage cap, the twin's size, ΔD's and the twin's losses at θ̂, why it stopped. */
  evidence: {
    cap: number;
    twinSize: number;
    forgetSize: number;
    baseForgetLoss: number;
    baseTwinLoss: number;
    stop: NonNullable<AlphaSearch['stop']>;
  } | null;
  search: AlphaTrial[];
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
// Building the prior.

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

/**
 * The evidence rule's data: a seeded sample of ΔD (of the subsample g_f was computed on) and its
 * held-out twin — the validation samples of ΔD's classes (all of them when ΔD spans every class),
 * each at most `searchSamples`.
 */
function evidenceTarget(data: PriorData, m: Measured, opts: PriorOptions): EvidenceTarget {
  const v = data.validation;
  if (!v || v.length === 0)
    throw new UsageError(
      'validation',
      "the evidence rule (alphaRule 'evidence') needs held-out data: none was given",
    );
  const size = opts.searchSamples ?? 512;
  const classes = new Set(m.forgetSet.labels());
  const vl = v.labels();
  const same = Uint32Array.from(
    Array.from({ length: v.length }, (_, i) => i).filter((i) => classes.has(vl[i])),
  );
  if (same.length === 0)
    throw new UsageError(
      'validation',
      `holds no sample of the request's classes (${[...classes].sort((a, b) => a - b).join(', ')}): the evidence rule has no twin`,
    );
  const pick = (ds: Dataset, positions: Uint32Array, label: string, name: string) => {
    const perm = opts.rng.fork(label).permutation(positions.length);
    const k = Math.min(size, positions.length);
    const chosen = Uint32Array.from(perm.subarray(0, k), (p) => positions[p]).sort();
    return ds.subset(chosen, name);
  };
  const all = Uint32Array.from({ length: m.forgetSet.length }, (_, i) => i);
  return {
    forget: pick(m.forgetSet, all, 'evidence-forget', `${m.forgetSet.name}/evidence`),
    twin: pick(v, same, 'evidence-twin', `${v.name}/twin`),
    cap: opts.damageCap ?? 1,
  };
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
  /** Held-out data (never in D): the evidence rule's twin of ΔD is its samples of ΔD's classes. */
  validation?: Dataset;
}

/** What the curvature stages measured at θ̂. */
interface Measured {
  forgetSet: Dataset;
  fisherSet: Dataset;
  slice: Dataset | null;
  /** Mean gradient of ΔD (the subsample), per group and tensor. */
  forgetGrad: Float32Array[][];
  diagR: Float32Array[][];
  retain: Curvature | null;
  dense: { H: Float64Array; dim: number }[] | null;
  retainGradSum: Float32Array[][] | null;
  useCache: boolean;
  labels: FisherLabels;
}

/** Stage 1-2: g_f over ΔD, F_f where the cache needs it, F_r (cache or subsample), Σ_{D_r}∇ℓ. */
function measure(
  model: LayersModel,
  groups: ParamGroup[],
  data: PriorData,
  opts: PriorOptions,
): Measured {
  const mean = opts.mean ?? 'forget-gradient';
  const nRetain = data.retain.length;
  const nForget = data.forget.length;
  const search = opts.alpha === undefined || opts.alpha === 'search';
  const { slice, fisherSet } = splitRetain(data.retain, opts, search);
  const batchSize = opts.batchSize ?? 256;
  const labels = fisherLabelsOf(opts.kind);
  const curvOpts = { batchSize, cost: opts.cost };
  const forgetSet = subsampleForget(data.forget, opts);
  const useCache = !!opts.cache && PRIOR_KIND_SPECS[opts.kind].cacheable;
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
  let retain: Curvature | null = null;
  let diagR: Float32Array[][];
  if (useCache) diagR = retainFromCache(opts.cache!, forgetFisher!, nRetain, nForget);
  else {
    retain = computeCurvature(model, groups, fisherSet, {
      ...curvOpts,
      labels,
      rng: opts.rng.fork('fisher-retain'),
      gradient: mean === 'retain-gradient' && labels === 'true' && fisherSet.length === nRetain,
      diag: true,
      kfac: PRIOR_KIND_SPECS[opts.kind].blocks === 'kfac',
      set: 'retain',
    });
    diagR = retain.diag!;
  }
  const dense =
    PRIOR_KIND_SPECS[opts.kind].blocks === 'dense'
      ? denseHessian(model, groups, fisherSet, nRetain, batchSize)
      : null;
  // Σ_{D_r}∇ℓ for the retain-gradient mean: always over all of D_r (exact).
  let retainGradSum: Float32Array[][] | null = null;
  if (mean === 'retain-gradient') {
    const g =
      retain?.grad ??
      computeCurvature(model, groups, data.retain, {
        ...curvOpts,
        labels: 'true',
        gradient: true,
        diag: false,
        set: 'retain',
      }).grad!;
    retainGradSum = g.map((gg) => gg.map((t) => t.map((v) => v * nRetain)));
  }
  return {
    forgetSet,
    fisherSet,
    slice,
    forgetGrad: forgetCurv.grad!,
    diagR,
    retain,
    dense,
    retainGradSum,
    useCache,
    labels,
  };
}

/** F_r = (n·F_D − n_f·F_f)/n_r from the cached F_D, clipped at 0. */
function retainFromCache(
  c: FisherCache,
  forgetFisher: Float32Array[][],
  nRetain: number,
  nForget: number,
): Float32Array[][] {
  // F_D is a mean over the training set D = D_r ∪ ΔD: another n is another training set's cache.
  if (c.n !== nRetain + nForget)
    throw new UsageError(
      c.files?.file ?? 'Fisher cache',
      `is a mean over n = ${c.n} samples; this request's training set has ${nRetain + nForget} (|D_r| ${nRetain} + |ΔD| ${nForget}): a cache of another training set`,
    );
  return c.diag.map((g, gi) =>
    g.map((fd, pi) => {
      const ff = forgetFisher[gi][pi];
      return fd.map((v, j) => Math.max(0, (c.n * v - nForget * ff[j]) / nRetain));
    }),
  );
}

/** Stage 4: the raw step s = Λ⁻¹·n_f·g_f (or −Λ⁻¹·Σ_{D_r}∇ℓ), per group. */
function rawSteps(
  groups: PriorGroup[],
  m: Measured,
  mean: PriorMean,
  nForget: number,
  nRetain: number,
) {
  return groups.map((pg, gi) => {
    const r =
      mean === 'forget-gradient'
        ? m.forgetGrad[gi].map((t) => t.map((v) => v * nForget))
        : m.retainGradSum![gi].map((t) => t.map((v) => -v));
    return solvePrecision(pg, r, nRetain);
  });
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
  const m = measure(model, groups, data, opts);
  const fisherMs = performance.now() - t0;
  const c = opts.c ?? 1;
  const priorGroups = precisionGroups(groups, {
    kind: opts.kind,
    diagR: m.diagR,
    retain: m.retain,
    dense: m.dense,
    nRetain,
    c,
    lambda: opts.lambda,
  });
  const tau =
    opts.tau === undefined ? 0.3 : opts.tau > 0 && Number.isFinite(opts.tau) ? opts.tau : null;
  const stepAt = trustRegion(rawSteps(priorGroups, m, mean, nForget, nRetain), priorGroups, tau);
  const search = opts.alpha === undefined || opts.alpha === 'search';
  const evidence = search && opts.rule === 'evidence' ? evidenceTarget(data, m, opts) : undefined;
  const found: Omit<AlphaSearch, 'baseSliceLoss'> & { baseSliceLoss: number | null } = search
    ? await searchAlpha(model, groups, m.slice!, stepAt, {
        grid: opts.alphaGrid ?? DEFAULT_ALPHA_GRID,
        epsilon: opts.epsilon ?? 0.1,
        batchSize: opts.batchSize ?? 256,
        cost: opts.cost,
        evidence,
      })
    : { alpha: opts.alpha as number, searched: [], baseSliceLoss: null };
  const final = stepAt(found.alpha);
  placeMean(priorGroups, final, opts.sham ? opts.rng.fork('sham') : null);
  const record = priorRecord(opts, m, priorGroups, final, {
    mean,
    nRetain,
    nForget,
    c,
    tau,
    search,
    evidence,
    found,
    timeMs: { fisher: fisherMs, prior: performance.now() - t0 - fisherMs },
    gradEvals: (opts.cost?.gradEvals ?? 0) - gradEvals0,
  });
  return { groups: priorGroups, record };
}

/** Stage 6: what the prior was made of, for the deletion record. */
function priorRecord(
  opts: PriorOptions,
  m: Measured,
  groups: PriorGroup[],
  final: ClippedStep[][],
  r: {
    mean: PriorMean;
    nRetain: number;
    nForget: number;
    c: number;
    tau: number | null;
    search: boolean;
    evidence: EvidenceTarget | undefined;
    found: Omit<AlphaSearch, 'baseSliceLoss'> & { baseSliceLoss: number | null };
    timeMs: PriorRecord['timeMs'];
    gradEvals: number;
  },
): PriorRecord {
  return {
    kind: opts.kind,
    labels: m.labels,
    mean: r.mean,
    sham: !!opts.sham,
    source: m.useCache ? 'cache' : 'subsample',
    cache:
      m.useCache && opts.cache!.files
        ? { jsonSha256: opts.cache!.files.jsonSha256, binSha256: opts.cache!.files.binSha256 }
        : null,
    fisherSamples: m.useCache ? opts.cache!.n : m.fisherSet.length,
    forgetSamples: m.forgetSet.length,
    nRetain: r.nRetain,
    nForget: r.nForget,
    c: opts.lambda === undefined ? r.c : null,
    tau: r.tau,
    alpha: r.found.alpha,
    epsilon: r.search && !r.evidence ? (opts.epsilon ?? 0.1) : null,
    rule: r.search ? (r.evidence ? 'evidence' : 'damage') : null,
    evidence: r.evidence
      ? {
          cap: r.evidence.cap,
          twinSize: r.evidence.twin.length,
          forgetSize: r.evidence.forget.length,
          baseForgetLoss: r.found.baseForgetLoss!,
          baseTwinLoss: r.found.baseTwinLoss!,
          stop: r.found.stop!,
        }
      : null,
    search: r.found.searched,
    baseSliceLoss: r.found.baseSliceLoss,
    groups: groups.map((pg, gi) => ({
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
    timeMs: r.timeMs,
    gradEvals: r.gradEvals,
  };
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
