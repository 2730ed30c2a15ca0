/**
 * `evaluateAll`: one model's predictions (and optionally Retrain's) in, one record of every
 * applicable metric out. Evaluate Retrain first, without `retrain`; then pass its sets and record
 * when evaluating each method, so the distance metrics and Avg. Gap have their reference.
 */
import { confusionMatrix, perClassAccuracy } from './accuracy.ts';
import {
  DEFAULT_METRIC_IDS,
  getMetric,
  METRIC_IDS,
  type MetricId,
  missingNeed,
  type Notes,
} from './registry.ts';
import type { EvalInput, MetricValue } from './types.ts';

export interface EvalRecord {
  /** Applicable metrics by id, in registry order; undefined ones carry `reason`. */
  values: Partial<Record<MetricId, MetricValue>>;
  /** Requested metrics whose inputs were missing, with why (e.g. "no biased test set"). */
  notApplicable: Partial<Record<MetricId, string>>;
  /** Side results: an attack's meaning and sizes, keyed by metric id. */
  notes: Partial<Record<MetricId, Notes>>;
  details: {
    /** Accuracy per true class on test (`null`: no sample of that class). */
    perClassTestAccuracy: (number | null)[];
    /** Accuracy per true class on ΔD. */
    perClassForgetAccuracy: (number | null)[];
    /** Test confusion matrix, rows = true class, columns = predicted. */
    testConfusion: number[][];
  };
}

export interface EvaluateOptions {
  /** Metric ids to compute (default: `DEFAULT_METRIC_IDS`). Unknown ids fail with the known list. */
  metrics?: readonly string[];
}

export async function evaluateAll(
  input: EvalInput,
  opts: EvaluateOptions = {},
): Promise<EvalRecord> {
  const asked = new Set((opts.metrics ?? DEFAULT_METRIC_IDS).map((id) => getMetric(id).id));
  const wanted = METRIC_IDS.filter((id) => asked.has(id)); // registry order = column order
  const cache = new Map<MetricId, Promise<MetricValue>>();
  const notes: EvalRecord['notes'] = {};
  const get = (id: MetricId): Promise<MetricValue> => {
    let v = cache.get(id);
    if (!v) {
      const def = getMetric(id);
      const note: Notes = {};
      v = Promise.resolve(def.compute(input, get, note));
      notes[id] = note; // pruned below if the metric left none
      cache.set(id, v);
    }
    return v;
  };

  const values: EvalRecord['values'] = {};
  const notApplicable: EvalRecord['notApplicable'] = {};
  for (const id of wanted) {
    const reasons = getMetric(id)
      .needs.map((n) => missingNeed(n, input))
      .filter((r): r is string => r !== null);
    if (reasons.length > 0) notApplicable[id] = reasons.join('; ');
    // One at a time: the SVC attacks are CPU-bound and share one wasm heap.
    else values[id] = await get(id);
  }
  for (const id of Object.keys(notes) as MetricId[]) {
    if (!(id in values) || Object.keys(notes[id]!).length === 0) delete notes[id];
  }

  const { test, forget } = input.sets;
  const k = test.numClasses;
  const cm = confusionMatrix(test.predicted, test.labels, k);
  return {
    values,
    notApplicable,
    notes,
    details: {
      perClassTestAccuracy: perClassAccuracy(test.predicted, test.labels, k),
      perClassForgetAccuracy: perClassAccuracy(forget.predicted, forget.labels, k),
      testConfusion: Array.from({ length: k }, (_, t) =>
        Array.from(cm.subarray(t * k, (t + 1) * k)),
      ),
    },
  };
}
