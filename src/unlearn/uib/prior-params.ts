/**
 * The prior's hyper-parameters, shared by UIB-IF and every `<method>+uib` (which prefixes them:
 * `priorTau`), with the defaults of uib-method.md's "Starting defaults", and the options of
 * `buildPrior` made from them (reading the F_D cache beside a checkpoint when asked).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Rng } from '../../core/rng.ts';
import type { ParamGroup } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import type { FisherCache, FisherCacheSource } from './fisher-cache.ts';
import { cacheKindOf, PRIOR_KIND_SPECS, PRIOR_KINDS } from './precision.ts';
import { ALPHA_RULES, DEFAULT_ALPHA_GRID, type PriorOptions } from './prior.ts';

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
  alphaRule: z
    .enum(ALPHA_RULES)
    .default('damage')
    .describe(
      "α search: 'damage' (largest α whose held-out D_r loss rises ≤ ε) or 'evidence' (smallest α at which ΔD's loss reaches that of held-out data of its classes, within damageCap; needs validation data)",
    ),
  damageCap: z
    .number()
    .min(0)
    .default(1)
    .describe('evidence rule: the largest rise of the held-out D_r loss (nats) any α may cause'),
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

/** The prior's hyper-parameters as parsed: derived from the zod shape, never written twice. */
export type PriorParams = z.infer<z.ZodObject<typeof priorParamsShape>>;

/** Prior options from parsed hyper-parameters; reads the F_D cache of `fisherCache` when asked. */
export function priorOptionsFrom(
  p: PriorParams,
  groups: ParamGroup[],
  env: { rng: Rng; cost?: CostCounter; fisherCache?: FisherCacheSource; model: LayersModel },
): PriorOptions {
  let cache: FisherCache | undefined;
  if (p.useCache && env.fisherCache && PRIOR_KIND_SPECS[p.fisher].cacheable) {
    const c = env.fisherCache.load(groups, env.model);
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
    rule: p.alphaRule,
    damageCap: p.damageCap,
    searchSamples: p.searchSamples,
    batchSize: p.curvatureBatch,
    sham: p.sham,
    rng: env.rng,
    cost: env.cost,
  };
}
