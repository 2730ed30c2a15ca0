/**
 * Metrics that compare, example by example, the distribution of a model statistic over many
 * unlearned models with its distribution over many retrained ones (shadow models): the field's
 * privacy evaluations of unlearning. All are pure functions of those statistics.
 *
 * - **U-LiRA** (Hayes et al. 2024, "Inexact unlearning needs more careful evaluations"): a
 *   per-example likelihood-ratio test on the logit-scaled confidence φ = log p_y − log(1 − p_y)
 *   (the margin z_y − logsumexp_{j≠y} z_j). Gaussians are fitted to φ under "trained on x, then
 *   unlearned" and under "retrained without x" from shadow models; a target model's φ is called
 *   unlearned when its likelihood ratio exceeds 1. Reported as the attack's accuracy on a balanced
 *   set of targets (50 % = the method cannot be told from retraining), its AUC and TPR at 1 % FPR.
 * - **The NeurIPS 2023 unlearning challenge's forgetting quality F** (Triantafillou et al. 2024):
 *   per forget example, threshold attacks in both directions on the per-model losses give (FPR,
 *   FNR) pairs; each gives
 *   ε = max(log(1 − δ − FPR) − log FNR, log(1 − δ − FNR) − log FPR), the example's ε is the largest,
 *   and F is the mean over examples of 2 / 2^{bin(ε)}, bins of width 0.5 (13 edges from 0). An
 *   attack with FPR = FNR = 0 separates the two perfectly: ε = ∞ (one release of the evaluation
 *   code counted it as a tiny ε, i.e. as perfect forgetting). An attack with exactly one of them 0
 *   is discarded, as in the challenge's code. The final score is F · (RA/RA_R) · (TA/TA_R).
 * - **KLoM** (Georgiev et al. 2024, "Attribute-to-delete"): per example, the KL divergence from the
 *   unlearned models' margin distribution to the retrained models', both binned on their common
 *   range (20 bins, margins clipped to ±100, an empty retrained bin floored at 10^-5 where the
 *   unlearned one is not, then both renormalised). The largest sample falls in the last bin (the
 *   reference code's `digitize` drops it; with 32 models that is one sample in 32).
 */

/** φ = log p_y − log(1 − p_y) from logits, stably: z_y − logsumexp_{j≠y} z_j. */
export function margin(logits: ArrayLike<number>, label: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < logits.length; j++) if (j !== label && logits[j] > m) m = logits[j];
  if (m === Number.NEGATIVE_INFINITY) return Number.POSITIVE_INFINITY;
  let s = 0;
  for (let j = 0; j < logits.length; j++) if (j !== label) s += Math.exp(logits[j] - m);
  return logits[label] - (m + Math.log(s));
}

/** The same from probabilities (clamped away from 0 and 1 so that the log-odds stay finite). */
export function marginFromProbability(p: number): number {
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  return Math.log(q) - Math.log(1 - q);
}

// ─── ROC helpers ───────────────────────────────────────────────────────────────────────────────

/**
 * AUC of scores where positives should score higher: P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) (Mann–Whitney,
 * ties counted half). NaN when either class is empty.
 */
export function rocAuc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return Number.NaN;
  const all = [
    ...positives.map((s) => ({ s, pos: 1 })),
    ...negatives.map((s) => ({ s, pos: 0 })),
  ].sort((a, b) => a.s - b.s);
  // Mid-ranks over ties.
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].s === all[i].s) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k].pos) rankSumPos += mid;
    i = j + 1;
  }
  const np = positives.length;
  const nn = negatives.length;
  return (rankSumPos - (np * (np + 1)) / 2) / (np * nn);
}

/**
 * The largest TPR over thresholds t (predict positive when s ≥ t) whose FPR is ≤ `fpr`; 0 when no
 * threshold reaches it (as LiRA reports it).
 */
export function tprAtFpr(
  positives: readonly number[],
  negatives: readonly number[],
  fpr: number,
): number {
  const thresholds = [...new Set([...positives, ...negatives])].sort((a, b) => b - a);
  let best = 0;
  for (const t of thresholds) {
    const f = negatives.filter((s) => s >= t).length / negatives.length;
    if (f > fpr) break;
    best = Math.max(best, positives.filter((s) => s >= t).length / positives.length);
  }
  return best;
}

// ─── U-LiRA ────────────────────────────────────────────────────────────────────────────────────

export interface UliraTarget {
  /** Index of the example into the shadow arrays. */
  example: number;
  /** φ of the example under the target model. */
  phi: number;
  /** Whether the target model was trained on the example and unlearned, or retrained without it. */
  world: 'unlearned' | 'retrained';
}

export interface UliraResult {
  /** Balanced accuracy of "unlearned when the likelihood ratio > 1": 0.5 is the ideal. */
  accuracy: number;
  auc: number;
  tprAt1Fpr: number;
  /** log Λ per target, in the targets' order. */
  logRatios: number[];
}

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, sd: Math.sqrt(v) };
}

const logNormal = (x: number, mean: number, sd: number) =>
  -0.5 * ((x - mean) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);

/**
 * U-LiRA over per-example shadow statistics: `unlearned[i]` are φ of example i under shadow models
 * trained on it and unlearned, `retrained[i]` under shadow models retrained without it.
 * `variance: 'global'` pools each world's variance over examples (LiRA's choice with few shadow
 * models); 'per-example' fits each example's own. A zero sd is floored at 10^-6 of the pooled one
 * (or 10^-6) so that the ratio stays defined.
 */
export function ulira(
  unlearned: readonly (readonly number[])[],
  retrained: readonly (readonly number[])[],
  targets: readonly UliraTarget[],
  opts: { variance?: 'global' | 'per-example' } = {},
): UliraResult {
  const variance = opts.variance ?? 'per-example';
  const pooled = (rows: readonly (readonly number[])[]) => {
    let ss = 0;
    let df = 0;
    for (const r of rows) {
      if (r.length < 2) continue;
      const { mean } = meanSd(r);
      ss += r.reduce((a, x) => a + (x - mean) ** 2, 0);
      df += r.length - 1;
    }
    return df > 0 ? Math.sqrt(ss / df) : 0;
  };
  const pu = pooled(unlearned);
  const pr = pooled(retrained);
  const fit = (rows: readonly (readonly number[])[], i: number, pooledSd: number) => {
    const { mean, sd } = meanSd(rows[i]);
    const s = variance === 'global' ? pooledSd : sd;
    return { mean, sd: Math.max(s, 1e-6 * (pooledSd || 1)) };
  };
  const logRatios = targets.map((t) => {
    const u = fit(unlearned, t.example, pu);
    const r = fit(retrained, t.example, pr);
    return logNormal(t.phi, u.mean, u.sd) - logNormal(t.phi, r.mean, r.sd);
  });
  return scoreRatios(
    logRatios,
    targets.map((t) => t.world),
  );
}

/** The attack's balanced accuracy ("unlearned" when log Λ > 0), AUC and TPR at 1 % FPR. */
function scoreRatios(
  logRatios: number[],
  worlds: readonly ('unlearned' | 'retrained')[],
): UliraResult & { targets: number } {
  const pos = logRatios.filter((_, k) => worlds[k] === 'unlearned');
  const neg = logRatios.filter((_, k) => worlds[k] === 'retrained');
  const tpr = pos.filter((l) => l > 0).length / pos.length;
  const tnr = neg.filter((l) => l <= 0).length / neg.length;
  return {
    accuracy: (tpr + tnr) / 2,
    auc: rocAuc(pos, neg),
    tprAt1Fpr: tprAtFpr(pos, neg, 0.01),
    logRatios,
    targets: pos.length,
  };
}

// ─── the NeurIPS 2023 challenge ────────────────────────────────────────────────────────────────

/** The challenge's δ. */
export const CHALLENGE_DELTA = 0.01;

/**
 * (FPR, FNR) of every single-threshold attack, t over the pooled samples, in both directions:
 * "unlearned when s > t" (the challenge's best-threshold attack) and "unlearned when s ≤ t".
 * Positives are the unlearned models' statistics. Both directions, because an unlearned model
 * that under-forgets has *lower* losses than the retrained ones: the one-direction attack misses
 * it (the challenge's other attack, a cross-validated logistic regression, learns the direction).
 */
export function thresholdAttacks(
  unlearned: readonly number[],
  retrained: readonly number[],
): { fpr: number; fnr: number }[] {
  const ts = [...retrained, ...unlearned].sort((a, b) => a - b);
  return ts.flatMap((t) => {
    const fpr = retrained.filter((s) => s > t).length / retrained.length;
    const fnr = unlearned.filter((s) => s <= t).length / unlearned.length;
    return [
      { fpr, fnr },
      { fpr: 1 - fpr, fnr: 1 - fnr },
    ];
  });
}

/** An example's ε from its attacks' (FPR, FNR), as the challenge defines it (see the header). */
export function challengeEpsilon(
  attacks: readonly { fpr: number; fnr: number }[],
  delta = CHALLENGE_DELTA,
): number {
  let eps = 0;
  for (const { fpr, fnr } of attacks) {
    if (fpr === 0 && fnr === 0) return Number.POSITIVE_INFINITY;
    if (fpr === 0 || fnr === 0) continue;
    const a = 1 - delta - fpr > 0 ? Math.log(1 - delta - fpr) - Math.log(fnr) : Number.NaN;
    const b = 1 - delta - fnr > 0 ? Math.log(1 - delta - fnr) - Math.log(fpr) : Number.NaN;
    if (Number.isNaN(a) && Number.isNaN(b)) return Number.POSITIVE_INFINITY;
    eps = Math.max(eps, Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));
  }
  return eps;
}

/** The challenge's bin index: how many of the edges 0, 0.5, …, 6 are ≤ ε (1 … 13). */
export function challengeBin(eps: number): number {
  let n = 0;
  for (let k = 0; k < 13; k++) if (eps >= 0.5 * k) n++;
  return n;
}

/** F = mean over examples of 2 / 2^{bin(ε)}: 1 when every ε < 0.5, 2^-12 at ε ≥ 6 or ∞. */
export function forgettingQuality(epsilons: readonly number[]): number {
  return epsilons.reduce((a, e) => a + 2 / 2 ** challengeBin(e), 0) / epsilons.length;
}

/**
 * The challenge's score from per-example losses: `unlearned[i]` and `retrained[i]` are example i's
 * losses under each unlearned / retrained model; the accuracies are means over those models.
 */
export function challengeScore(
  unlearned: readonly (readonly number[])[],
  retrained: readonly (readonly number[])[],
  acc: { ra: number; ta: number; raRetrain: number; taRetrain: number },
  delta = CHALLENGE_DELTA,
): { F: number; score: number; epsilons: number[] } {
  const epsilons = unlearned.map((u, i) =>
    challengeEpsilon(thresholdAttacks(u, retrained[i]), delta),
  );
  const F = forgettingQuality(epsilons);
  return { F, score: F * (acc.ra / acc.raRetrain) * (acc.ta / acc.taRetrain), epsilons };
}

// ─── KLoM ──────────────────────────────────────────────────────────────────────────────────────

/** KL(p ‖ q) of two samples binned on their common range (see the header for the rules). */
export function binnedKl(
  p: readonly number[],
  q: readonly number[],
  opts: { bins?: number; floor?: number; clip?: number } = {},
): number {
  const bins = opts.bins ?? 20;
  const floor = opts.floor ?? 1e-5;
  const clip = opts.clip ?? 100;
  const cl = (x: number) => Math.min(Math.max(x, -clip), clip);
  const ps = p.map(cl);
  const qs = q.map(cl);
  const lo = Math.min(...ps, ...qs);
  let hi = Math.max(...ps, ...qs);
  if (!(hi > lo)) hi = lo + 1;
  const width = (hi - lo) / bins;
  const hist = (xs: number[]) => {
    const h = new Float64Array(bins);
    for (const x of xs) h[Math.min(bins - 1, Math.floor((x - lo) / width))] += 1 / xs.length;
    return h;
  };
  const hp = hist(ps);
  const hq = hist(qs);
  for (let b = 0; b < bins; b++) if (hp[b] > 0 && hq[b] < floor) hq[b] = floor;
  const zq = hq.reduce((a, v) => a + v, 0);
  let kl = 0;
  for (let b = 0; b < bins; b++) if (hp[b] > 0) kl += hp[b] * Math.log(hp[b] / (hq[b] / zq));
  return kl;
}

/** KLoM per example: KL from the unlearned models' margins to the retrained models'. */
export function klom(
  unlearned: readonly (readonly number[])[],
  retrained: readonly (readonly number[])[],
  opts?: { bins?: number; floor?: number; clip?: number },
): number[] {
  return unlearned.map((u, i) => binnedKl(u, retrained[i], opts));
}

// ─── from shadow runs to the metrics ───────────────────────────────────────────────────────────

/**
 * What the shadow runs of one method give (experiments/shadow.ts): per shadow model s, which
 * target examples its training set held and, per target, the logit-scaled confidence φ and the
 * loss under the method's unlearned shadow and under the shadow retrained without them; and both
 * models' accuracies on the shadow's retained set and on the test set.
 */
export interface ShadowStats {
  /** Shadows left out because the method diverged on them. */
  diverged?: number;
  shadows: {
    members: readonly boolean[];
    unlearned: { phi: readonly number[]; loss: readonly number[]; ra: number; ta: number };
    retrained: { phi: readonly number[]; loss: readonly number[]; ra: number; ta: number };
  }[];
}

/** Per target, the values of `pick` over the shadows that trained on it (and unlearned it). */
function perTarget(
  stats: ShadowStats,
  pick: (s: ShadowStats['shadows'][number]) => readonly number[],
  skip = -1,
): number[][] {
  const t = stats.shadows[0]?.members.length ?? 0;
  const out: number[][] = Array.from({ length: t }, () => []);
  stats.shadows.forEach((s, k) => {
    if (k === skip) return;
    const v = pick(s);
    s.members.forEach((m, i) => {
      if (m) out[i].push(v[i]);
    });
  });
  return out;
}

/**
 * U-LiRA, leave one shadow out: each shadow's unlearned model (world "unlearned") and retrained
 * model (world "retrained") are the targets, on every example it trained on; the Gaussians are fit
 * on the other shadows. Targets with fewer than two fitting shadows per world are skipped.
 */
export function uliraFromShadows(
  stats: ShadowStats,
  opts: { variance?: 'global' | 'per-example' } = {},
): UliraResult & { targets: number } {
  const logRatios: number[] = [];
  const worlds: ('unlearned' | 'retrained')[] = [];
  stats.shadows.forEach((s, k) => {
    const u = perTarget(stats, (x) => x.unlearned.phi, k);
    const r = perTarget(stats, (x) => x.retrained.phi, k);
    const targets: UliraTarget[] = [];
    s.members.forEach((m, i) => {
      if (!m || u[i].length < 2 || r[i].length < 2) return;
      targets.push({ example: i, phi: s.unlearned.phi[i], world: 'unlearned' });
      targets.push({ example: i, phi: s.retrained.phi[i], world: 'retrained' });
    });
    if (targets.length === 0) return;
    const res = ulira(u, r, targets, opts);
    logRatios.push(...res.logRatios);
    worlds.push(...targets.map((t) => t.world));
  });
  return scoreRatios(logRatios, worlds);
}

/** The challenge's F and score from the shadow runs (losses of the examples each shadow trained on). */
export function challengeFromShadows(stats: ShadowStats): {
  F: number;
  score: number;
  epsilons: number[];
} {
  const u = perTarget(stats, (s) => s.unlearned.loss);
  const r = perTarget(stats, (s) => s.retrained.loss);
  const keep = u.map((xs, i) => xs.length > 0 && r[i].length > 0);
  const mean = (f: (s: ShadowStats['shadows'][number]) => number) =>
    stats.shadows.reduce((a, s) => a + f(s), 0) / stats.shadows.length;
  return challengeScore(
    u.filter((_, i) => keep[i]),
    r.filter((_, i) => keep[i]),
    {
      ra: mean((s) => s.unlearned.ra),
      ta: mean((s) => s.unlearned.ta),
      raRetrain: mean((s) => s.retrained.ra),
      taRetrain: mean((s) => s.retrained.ta),
    },
  );
}

/** KLoM per target from the shadow runs' margins (φ). */
export function klomFromShadows(stats: ShadowStats): number[] {
  const u = perTarget(stats, (s) => s.unlearned.phi);
  const r = perTarget(stats, (s) => s.retrained.phi);
  return klom(
    u.filter((xs, i) => xs.length > 0 && r[i].length > 0),
    r.filter((xs, i) => xs.length > 0 && u[i].length > 0),
  );
}
