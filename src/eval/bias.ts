/**
 * Bias and fairness metrics (uib-method.md, "Metrics").
 *
 * Bias correlation: on a test set whose bias attribute b(x) was assigned independently of the
 * label, ρ = Pearson correlation between 1[ŷ(x) = k] and b(x) (for two 0/1 variables this is the
 * phi coefficient), k = the class the pattern was tied to in training; ΔP = P(ŷ = k | b = 1) −
 * P(ŷ = k | b = 0). ρ is undefined when ŷ = k or b is constant, so recall(k) and P(ŷ = k) are
 * always reported beside it. The target is Retrain's ρ, which need not be 0.
 */
import { checkPairs } from './accuracy.ts';
import { defined, type MetricValue, undefinedBecause } from './types.ts';

/** The 2×2 table of a = 1[ŷ = k] against b: nAB counts samples with a = A and b = B. */
function table(predicted: ArrayLike<number>, bias: ArrayLike<number>, k: number) {
  checkPairs('bias', predicted, bias);
  let n11 = 0;
  let n10 = 0;
  let n01 = 0;
  let n00 = 0;
  for (let i = 0; i < bias.length; i++) {
    const a = predicted[i] === k;
    const b = bias[i];
    if (b !== 0 && b !== 1) throw new Error(`bias: sample ${i} has b = ${b}; must be 0 or 1`);
    if (a) b ? n11++ : n10++;
    else b ? n01++ : n00++;
  }
  return { n11, n10, n01, n00 };
}

/** ρ = phi = (n11·n00 − n10·n01) / √((n11+n10)(n01+n00)(n11+n01)(n10+n00)). */
export function biasCorrelation(
  predicted: ArrayLike<number>,
  bias: ArrayLike<number>,
  k: number,
): MetricValue {
  const { n11, n10, n01, n00 } = table(predicted, bias, k);
  const n = n11 + n10 + n01 + n00;
  if (n === 0) return undefinedBecause('empty biased test set');
  const predK = n11 + n10;
  const b1 = n11 + n01;
  if (predK === 0)
    return undefinedBecause(`ŷ = ${k} is constant: the model never predicts class ${k}`);
  if (predK === n)
    return undefinedBecause(`ŷ = ${k} is constant: the model always predicts class ${k}`);
  if (b1 === 0 || b1 === n) return undefinedBecause('b(x) is constant on the biased test set');
  const num = n11 * n00 - n10 * n01;
  return defined(num / Math.sqrt(predK * (n01 + n00) * b1 * (n10 + n00)));
}

/** ΔP = P(ŷ = k | b = 1) − P(ŷ = k | b = 0); undefined when b is constant. */
export function biasDeltaP(
  predicted: ArrayLike<number>,
  bias: ArrayLike<number>,
  k: number,
): MetricValue {
  const { n11, n10, n01, n00 } = table(predicted, bias, k);
  if (n11 + n01 === 0 || n10 + n00 === 0) {
    return undefinedBecause('b(x) is constant on the biased test set');
  }
  return defined(n11 / (n11 + n01) - n10 / (n10 + n00));
}

/** recall(k) = P(ŷ = k | y = k); undefined when no sample has label k. */
export function recallOf(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): MetricValue {
  return predictedAs('recall', predicted, labels, k, (y) => y === k, `no sample has label ${k}`);
}

/**
 * The share predicted as `k` among the samples whose label passes `inScope`, checked as `what`;
 * undefined, because `none`, when no sample does.
 */
function predictedAs(
  what: string,
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
  inScope: (label: number) => boolean,
  none: string,
): MetricValue {
  checkPairs(what, predicted, labels);
  const r = shareAmong(
    labels.length,
    (i) => inScope(labels[i]),
    (i) => predicted[i] === k,
  );
  return r === null ? undefinedBecause(none) : defined(r);
}

/** The share of `hit(i)` among the samples i < n that are `inScope(i)`; `null` when none is. */
function shareAmong(
  n: number,
  inScope: (i: number) => boolean,
  hit: (i: number) => boolean,
): number | null {
  let count = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (!inScope(i)) continue;
    count++;
    if (hit(i)) hits++;
  }
  return count === 0 ? null : hits / count;
}

/** P(ŷ = k): the share of samples predicted k. */
export function predictedShare(predicted: ArrayLike<number>, k: number): MetricValue {
  const r = shareAmong(
    predicted.length,
    () => true,
    (i) => predicted[i] === k,
  );
  return r === null ? undefinedBecause('empty set') : defined(r);
}

/**
 * Backdoor attack success rate: among trigger-stamped test samples whose true label is not the
 * target, the share predicted as the target (samples of the target class prove nothing).
 */
export function attackSuccessRate(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  target: number,
): MetricValue {
  const none = `no stamped sample outside target class ${target}`;
  return predictedAs('attackSuccessRate', predicted, labels, target, (y) => y !== target, none);
}

// ---- tabular subgroups ----

/** The spread max_g v_g − min_g v_g over groups where v_g is defined; needs ≥ 2 such groups. */
function spread(values: (number | null)[], what: string): MetricValue {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 2) return undefinedBecause(`${what} is defined for fewer than 2 groups`);
  return defined(Math.max(...v) - Math.min(...v));
}

/** Group ids present in `group`, ascending. */
function groupIds(group: ArrayLike<number>): number[] {
  return [...new Set(Array.from(group))].sort((a, b) => a - b);
}

/** Per-group share of `hit(i)` among samples `inScope(i)` of the group (`null` if none). */
function perGroup(
  group: ArrayLike<number>,
  inScope: (i: number) => boolean,
  hit: (i: number) => boolean,
): (number | null)[] {
  return groupIds(group).map((g) =>
    shareAmong(group.length, (i) => group[i] === g && inScope(i), hit),
  );
}

/** Predictions, labels and a group (or attribute) per sample must be parallel arrays. */
function checkTriples(
  what: string,
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  group: ArrayLike<number>,
): void {
  checkPairs(what, predicted, labels);
  checkPairs(what, predicted, group);
}

/** Group accuracy gap: max_g acc_g − min_g acc_g. */
export function groupAccuracyGap(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  group: ArrayLike<number>,
): MetricValue {
  checkTriples('groupAccuracyGap', predicted, labels, group);
  const acc = perGroup(
    group,
    () => true,
    (i) => predicted[i] === labels[i],
  );
  return spread(acc, 'accuracy');
}

/** Demographic-parity gap for the positive class c: max_g P(ŷ = c | g) − min_g P(ŷ = c | g). */
export function demographicParityGap(
  predicted: ArrayLike<number>,
  group: ArrayLike<number>,
  positive: number,
): MetricValue {
  checkPairs('demographicParityGap', predicted, group);
  const rate = perGroup(
    group,
    () => true,
    (i) => predicted[i] === positive,
  );
  return spread(rate, `P(ŷ = ${positive} | g)`);
}

/**
 * Equalised-odds gap for the positive class c: the larger of the true-positive-rate gap
 * (spread of P(ŷ = c | y = c, g)) and the false-positive-rate gap (spread of P(ŷ = c | y ≠ c, g)),
 * each over the groups where it is defined; undefined when neither is.
 */
export function equalisedOddsGap(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  group: ArrayLike<number>,
  positive: number,
): MetricValue {
  checkTriples('equalisedOddsGap', predicted, labels, group);
  const isPos = (i: number) => predicted[i] === positive;
  const tpr = spread(
    perGroup(group, (i) => labels[i] === positive, isPos),
    'TPR',
  );
  const fpr = spread(
    perGroup(group, (i) => labels[i] !== positive, isPos),
    'FPR',
  );
  if (tpr.value === null && fpr.value === null)
    return undefinedBecause(`${tpr.reason}; ${fpr.reason}`);
  return defined(Math.max(tpr.value ?? 0, fpr.value ?? 0));
}

/**
 * Worst-group accuracy (Sagawa et al. 2020, the group-robustness field's headline number): the
 * lowest accuracy over the groups (y, a) of label × attribute that have a sample — on a
 * label-independent biased test set, a = b(x), so a model that leans on the pattern fails the
 * groups where the pattern and the label disagree.
 */
export function worstGroupAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  attribute: ArrayLike<number>,
): MetricValue {
  checkTriples('worstGroupAccuracy', predicted, labels, attribute);
  const hits = new Map<string, [number, number]>();
  for (let i = 0; i < labels.length; i++) {
    const key = `${labels[i]}/${attribute[i]}`;
    const h = hits.get(key) ?? [0, 0];
    h[0] += predicted[i] === labels[i] ? 1 : 0;
    h[1] += 1;
    hits.set(key, h);
  }
  if (hits.size === 0) return undefinedBecause('empty set');
  let worst = 1;
  for (const [k, n] of hits.values()) worst = Math.min(worst, k / n);
  return defined(worst);
}

// ---- the shortcut protocol: b(x) = 1[bias-aligned] on the test set ----

function checkAligned(what: string, predicted: ArrayLike<number>, aligned: ArrayLike<number>) {
  checkPairs(what, predicted, aligned);
  for (let i = 0; i < aligned.length; i++)
    if (aligned[i] !== 0 && aligned[i] !== 1)
      throw new Error(`${what}: sample ${i} has b = ${aligned[i]}; must be 0 or 1`);
}

/**
 * Accuracy over the samples with b(x) = `b`: the bias-aligned ones (b = 1) or the
 * bias-conflicting ones (b = 0); undefined when the set has none.
 */
export function alignmentAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  aligned: ArrayLike<number>,
  b: 0 | 1,
): MetricValue {
  checkTriples('alignmentAccuracy', predicted, labels, aligned);
  checkAligned('alignmentAccuracy', predicted, aligned);
  const acc = shareAmong(
    labels.length,
    (i) => aligned[i] === b,
    (i) => predicted[i] === labels[i],
  );
  return acc === null
    ? undefinedBecause(`no bias-${b ? 'aligned' : 'conflicting'} sample`)
    : defined(acc);
}

/** acc(b = 1) − acc(b = 0): how much more the model gets right where the shortcut agrees with the label. */
export function alignmentGap(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  aligned: ArrayLike<number>,
): MetricValue {
  const a = alignmentAccuracy(predicted, labels, aligned, 1);
  const c = alignmentAccuracy(predicted, labels, aligned, 0);
  if (a.value === null || c.value === null) return undefinedBecause(a.reason ?? c.reason!);
  return defined(a.value - c.value);
}

/** Accuracy over the samples whose label is one of `classes`; undefined when there are none. */
export function classAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: Iterable<number>,
): MetricValue {
  checkPairs('classAccuracy', predicted, labels);
  const of = new Set(classes);
  const acc = shareAmong(
    labels.length,
    (i) => of.has(labels[i]),
    (i) => predicted[i] === labels[i],
  );
  return acc === null
    ? undefinedBecause(`no sample of class ${[...of].sort((a, b) => a - b).join(', ')}`)
    : defined(acc);
}
