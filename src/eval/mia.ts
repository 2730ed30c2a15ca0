/**
 * Membership-inference attacks (uib-method.md, "Metrics").
 *
 * MIA-Efficacy follows Jia et al. 2023 ("Model Sparsity Can Simplify Machine Unlearning", their
 * `SVC_MIA` evaluation): a per-sample feature of the model's output — the confidence p(y|x) — feeds
 * an RBF C-SVC (C = 3, γ = 1/n_features = 1) trained with members = the first |test| samples of D_r
 * (label 1) and non-members = the test set (label 0); MIA-Efficacy = the share of ΔD the SVC calls
 * non-member. The same attack runs on the entropy, modified-entropy and loss features. A second,
 * independent attack thresholds the loss with a logistic regression (forget vs test, k-fold
 * cross-validated accuracy), as in the NeurIPS 2023 unlearning challenge's simple MIA.
 *
 * Every result says what a higher value means: for an unlearning method the target is Retrain's
 * value, never 100 % (Retrain's forget set also looks partly like training data when it resembles
 * D_r).
 */
import type { Rng } from '../core/rng.ts';
import { trainSvc } from './libsvm.ts';
import { defined, type MetricValue, type SetPredictions, undefinedBecause } from './types.ts';

/** Logs of probabilities are floored here, as in Jia et al.'s code, so p = 0 gives a finite value. */
const LOG_FLOOR = 1e-30;
const safeLog = (p: number) => Math.log(Math.max(p, LOG_FLOOR));

// ---- per-sample features (natural log, as the reference code) ----

export type MiaFeature = 'confidence' | 'entropy' | 'm-entropy' | 'loss';

/** p(y|x): the probability the model gives the true label. */
export function confidence(s: SetPredictions): Float64Array {
  const k = s.numClasses;
  return Float64Array.from(s.labels, (y, i) => s.probs[i * k + y]);
}

/** Shannon entropy −Σ p ln p of each prediction (0 ln 0 = 0). */
export function entropy(s: SetPredictions): Float64Array {
  const k = s.numClasses;
  const out = new Float64Array(s.labels.length);
  for (let i = 0; i < out.length; i++) {
    let h = 0;
    for (let c = 0; c < k; c++) {
      const p = s.probs[i * k + c];
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h;
  }
  return out;
}

/**
 * Modified entropy of Song & Mittal 2021: −(1 − p_y) ln p_y − Σ_{c≠y} p_c ln(1 − p_c).
 * (Jia et al.'s `m_entropy` means this but indexes columns by the whole batch's labels and takes
 * ln p where ln(1 − p) is meant; we compute the published definition.)
 */
export function modifiedEntropy(s: SetPredictions): Float64Array {
  const k = s.numClasses;
  return Float64Array.from(s.labels, (y, i) => {
    let m = 0;
    for (let c = 0; c < k; c++) {
      const p = s.probs[i * k + c];
      m -= c === y ? (1 - p) * safeLog(p) : p * safeLog(1 - p);
    }
    return m;
  });
}

/** Cross-entropy loss −ln p(y|x) of each sample. */
export function sampleLoss(s: SetPredictions): Float64Array {
  return confidence(s).map((p) => -safeLog(p));
}

export function miaFeature(s: SetPredictions, feature: MiaFeature): Float64Array {
  switch (feature) {
    case 'confidence':
      return confidence(s);
    case 'entropy':
      return entropy(s);
    case 'm-entropy':
      return modifiedEntropy(s);
    case 'loss':
      return sampleLoss(s);
  }
}

// ---- the SVC attack (MIA-Efficacy) ----

export interface AttackResult {
  value: MetricValue;
  /** What a higher value means, in one line (reports show it beside the number). */
  meaning: string;
  /** Sizes the attack was fitted and scored on. */
  sizes: Record<string, number>;
}

export const SVC_MEANING =
  'share of ΔD the attack calls non-member; higher = ΔD looks less like training data; target: Retrain’s value';

export interface SvcMiaOptions {
  feature?: MiaFeature;
  /** C-SVC penalty (default 3, Jia et al.). */
  C?: number;
}

/**
 * MIA-Efficacy (Jia et al. 2023): train the SVC on members = the first |test| samples of D_r (all of
 * D_r when it is smaller) and non-members = test; return the share of ΔD predicted non-member.
 */
export async function svcMiaEfficacy(
  sets: { retain: SetPredictions; test: SetPredictions; forget: SetPredictions },
  opts: SvcMiaOptions = {},
): Promise<AttackResult> {
  const feature = opts.feature ?? 'confidence';
  const nonMembers = miaFeature(sets.test, feature);
  const members = miaFeature(sets.retain, feature).subarray(0, nonMembers.length);
  const target = miaFeature(sets.forget, feature);
  const sizes = { members: members.length, nonMembers: nonMembers.length, forget: target.length };
  const meaning = SVC_MEANING;
  if (members.length === 0 || nonMembers.length === 0) {
    return { value: undefinedBecause('needs a non-empty retain set and test set'), meaning, sizes };
  }
  if (target.length === 0) return { value: undefinedBecause('empty forget set'), meaning, sizes };

  const rows = (v: Float64Array) => Array.from(v, (x) => [x]);
  const labels = [...new Array(members.length).fill(1), ...new Array(nonMembers.length).fill(0)];
  const svc = await trainSvc([...rows(members), ...rows(nonMembers)], labels, { C: opts.C ?? 3 });
  try {
    const pred = svc.predict(rows(target));
    const nonMember = pred.reduce((a, p) => a + (p === 0 ? 1 : 0), 0);
    return { value: defined(nonMember / target.length), meaning, sizes };
  } finally {
    svc.free();
  }
}

// ---- the loss-threshold logistic-regression attack ----

/** Logistic regression on one feature, p(member | x) = σ(intercept + slope·x). */
export interface LogisticFit {
  intercept: number;
  slope: number;
}

const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));

/**
 * Maximum-likelihood logistic regression of y ∈ {0,1} on one feature, by Newton's method (IRLS) on
 * the standardised feature. A tiny ridge (`ridge`·slope²/2) keeps the slope finite when the classes
 * are separable; step halving keeps every step downhill. A constant feature gives slope 0.
 */
export function fitLogistic1d(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  ridge = 1e-6,
): LogisticFit {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let sd = 0;
  for (let i = 0; i < n; i++) sd += (x[i] - mean) ** 2;
  sd = Math.sqrt(sd / n);
  const z = Float64Array.from({ length: n }, (_, i) => (sd > 0 ? (x[i] - mean) / sd : 0));

  // Penalised negative log-likelihood in (b, a) on z.
  const objective = (b: number, a: number) => {
    let f = 0.5 * ridge * a * a;
    for (let i = 0; i < n; i++) {
      const t = b + a * z[i];
      // −[y t − ln(1 + e^t)], computed stably
      f += Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))) - y[i] * t;
    }
    return f;
  };
  let b = 0;
  let a = 0;
  let f = objective(b, a);
  for (let iter = 0; iter < 100; iter++) {
    let gb = 0;
    let ga = ridge * a;
    let hbb = 1e-12;
    let hba = 0;
    let haa = ridge + 1e-12;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(b + a * z[i]);
      const r = p - y[i];
      const w = p * (1 - p);
      gb += r;
      ga += r * z[i];
      hbb += w;
      hba += w * z[i];
      haa += w * z[i] * z[i];
    }
    // Newton step: solve the 2×2 system H·d = g.
    const det = hbb * haa - hba * hba;
    let db = (haa * gb - hba * ga) / det;
    let da = (hbb * ga - hba * gb) / det;
    let step = 1;
    let fNew = objective(b - db, a - da);
    while (fNew > f && step > 1e-10) {
      step /= 2;
      db /= 2;
      da /= 2;
      fNew = objective(b - db, a - da);
    }
    if (fNew > f) break;
    b -= db;
    a -= da;
    const done = f - fNew < 1e-12 * (1 + Math.abs(f));
    f = fNew;
    if (done) break;
  }
  // Back to the raw feature: b + a·(x − mean)/sd.
  if (sd === 0) return { intercept: b, slope: 0 };
  return { intercept: b - (a * mean) / sd, slope: a / sd };
}

export const LR_MEANING =
  'cross-validated accuracy telling ΔD from test by the loss; 0.5 = indistinguishable, higher = ΔD still looks like training data; target: Retrain’s value';

export interface LossLrOptions {
  /** Number of cross-validation folds (default 5; at most the size of the smaller class). */
  folds?: number;
  rng: Rng;
}

/**
 * Loss-threshold attack: members = ΔD (label 1), non-members = test (label 0), feature = the
 * per-sample loss. The larger group is subsampled (seeded) to the smaller one's size so chance is
 * 0.5; folds are stratified and seeded; the value is the accuracy over all held-out predictions.
 */
export function lossLrAttack(
  sets: { forget: SetPredictions; test: SetPredictions },
  opts: LossLrOptions,
): AttackResult {
  return lossLrAttackOnLosses(sampleLoss(sets.forget), sampleLoss(sets.test), opts);
}

export function lossLrAttackOnLosses(
  forgetLoss: Float64Array,
  testLoss: Float64Array,
  opts: LossLrOptions,
): AttackResult {
  const meaning = LR_MEANING;
  const m = Math.min(forgetLoss.length, testLoss.length);
  const sizes = { perClass: m, forget: forgetLoss.length, test: testLoss.length };
  if (m < 2) {
    return {
      value: undefinedBecause(
        `needs ≥ 2 forget and ≥ 2 test samples; got ${forgetLoss.length} and ${testLoss.length}`,
      ),
      meaning,
      sizes,
    };
  }
  const k = Math.min(opts.folds ?? 5, m);
  // Balanced, shuffled members and non-members; fold of the j-th of each class = j mod k.
  const mem = opts.rng.permutation(forgetLoss.length).subarray(0, m);
  const non = opts.rng.permutation(testLoss.length).subarray(0, m);
  const x = new Float64Array(2 * m);
  const y = new Uint8Array(2 * m);
  const fold = new Int32Array(2 * m);
  for (let j = 0; j < m; j++) {
    x[j] = forgetLoss[mem[j]];
    y[j] = 1;
    fold[j] = j % k;
    x[m + j] = testLoss[non[j]];
    y[m + j] = 0;
    fold[m + j] = j % k;
  }
  let correct = 0;
  for (let f = 0; f < k; f++) {
    const tr: number[] = [];
    for (let i = 0; i < 2 * m; i++) if (fold[i] !== f) tr.push(i);
    const fit = fitLogistic1d(
      tr.map((i) => x[i]),
      tr.map((i) => y[i]),
    );
    for (let i = 0; i < 2 * m; i++) {
      if (fold[i] !== f) continue;
      // Member when p > 0.5 strictly: a constant feature (p = 0.5) predicts non-member.
      const member = fit.intercept + fit.slope * x[i] > 0 ? 1 : 0;
      if (member === y[i]) correct++;
    }
  }
  return { value: defined(correct / (2 * m)), meaning, sizes };
}
