/**
 * Accuracy family (uib-method.md, "Metrics"): UA = 1 − acc(ΔD), RA = acc(D_r), TA = acc(test),
 * Testing F1 = macro-F1 on test, per-class accuracy and the confusion matrix.
 */
import { defined, type MetricValue, undefinedBecause } from './types.ts';

/** argmax of each row of a row-major `[n × k]` matrix; ties go to the lowest class. */
export function argmaxRows(probs: ArrayLike<number>, k: number): Int32Array {
  if (!(Number.isInteger(k) && k > 0) || probs.length % k !== 0) {
    throw new Error(`argmaxRows: ${probs.length} values do not form rows of ${k}`);
  }
  const n = probs.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

export function checkPairs(
  where: string,
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
): void {
  if (predicted.length !== labels.length) {
    throw new Error(
      `${where}: ${predicted.length} predictions but ${labels.length} labels; they must match`,
    );
  }
}

/** Share of samples whose prediction equals the label; undefined on an empty set. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): MetricValue {
  checkPairs('accuracy', predicted, labels);
  if (labels.length === 0) return undefinedBecause('empty set');
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return defined(hits / labels.length);
}

/** UA = 1 − acc(ΔD): the share of the forget set the model gets wrong. */
export function unlearningAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
): MetricValue {
  const a = accuracy(predicted, labels);
  return a.value === null ? undefinedBecause(`forget set: ${a.reason}`) : defined(1 - a.value);
}

/** Confusion matrix `[k × k]` row-major: entry (t, p) counts samples of true class t predicted p. */
export function confusionMatrix(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): Int32Array {
  checkPairs('confusionMatrix', predicted, labels);
  const m = new Int32Array(k * k);
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i];
    const p = predicted[i];
    if (!(t >= 0 && t < k && p >= 0 && p < k)) {
      throw new Error(
        `confusionMatrix: sample ${i} has label ${t}, prediction ${p}; need 0..${k - 1}`,
      );
    }
    m[t * k + p]++;
  }
  return m;
}

/** Accuracy within each true class (= recall of the class); `null` for a class with no samples. */
export function perClassAccuracy(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): (number | null)[] {
  return perClassOf(confusionMatrix(predicted, labels, k), k, (tp, rowSum) =>
    rowSum === 0 ? null : tp / rowSum,
  );
}

/**
 * Per-class F1 = 2·tp / (2·tp + fp + fn); `null` for a class that has neither true samples nor
 * predictions (tp = fp = fn = 0), where F1 is 0/0.
 */
export function perClassF1(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): (number | null)[] {
  return perClassOf(confusionMatrix(predicted, labels, k), k, (tp, rowSum, colSum) => {
    const denom = rowSum + colSum; // = 2·tp + fp + fn
    return denom === 0 ? null : (2 * tp) / denom;
  });
}

/**
 * `score` of each class c from the `[k × k]` confusion matrix `m`: its true positives m[c, c],
 * its row sum (tp + fn: the samples of class c) and its column sum (tp + fp: those predicted c).
 */
function perClassOf(
  m: Int32Array,
  k: number,
  score: (tp: number, rowSum: number, colSum: number) => number | null,
): (number | null)[] {
  const out: (number | null)[] = [];
  for (let c = 0; c < k; c++) {
    let rowSum = 0;
    let colSum = 0;
    for (let j = 0; j < k; j++) {
      rowSum += m[c * k + j];
      colSum += m[j * k + c];
    }
    out.push(score(m[c * k + c], rowSum, colSum));
  }
  return out;
}

/**
 * Macro-F1 ("Testing F1"): the unweighted mean of per-class F1 over the classes that occur among
 * the labels or the predictions. A class absent from both is left out of the mean (its F1 is 0/0);
 * this is scikit-learn's `f1_score(average='macro')` with its default `labels` (the union of
 * y_true and y_pred). A class with true samples but no correct prediction counts as F1 = 0.
 */
export function macroF1(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  k: number,
): MetricValue {
  if (labels.length === 0) return undefinedBecause('empty set');
  const f1 = perClassF1(predicted, labels, k).filter((v): v is number => v !== null);
  return defined(f1.reduce((a, b) => a + b, 0) / f1.length);
}
