/**
 * From a model to what the runner stores of it: its predictions on every set, its flat weights,
 * its cost, and its eval record as plain JSON. Shared by the reference runs and the method cells.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Scenario } from '../../data/scenarios/index.ts';
import type { EvalRecord } from '../../eval/evaluate.ts';
import { predictSet } from '../../eval/predict.ts';
import type { EvalSets } from '../../eval/types.ts';
import { jsonSafe } from '../../unlearn/record.ts';
import type { Cost, StoredEvalRecord } from '../results-schema.ts';

export async function predictAll(
  model: LayersModel,
  data: Scenario,
  opts: { batchSize: number },
): Promise<EvalSets> {
  const sets: EvalSets = {
    forget: await predictSet(model, data.forget, opts),
    retain: await predictSet(model, data.retain, opts),
    test: await predictSet(model, data.test, opts),
  };
  if (data.biasedTest) sets.biasedTest = await predictSet(model, data.biasedTest, opts);
  if (data.triggerTest) sets.stampedTest = await predictSet(model, data.triggerTest, opts);
  return sets;
}

export function flatWeights(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

export function costOf(stats: {
  timeMs: number;
  gradEvals: number;
  forwardEvals: number;
  epochsTouched: number;
  phases: Record<string, number>;
}): Cost {
  return {
    timeMs: stats.timeMs,
    speedUp: 1,
    gradEvals: stats.gradEvals,
    forwardEvals: stats.forwardEvals,
    epochsTouched: stats.epochsTouched,
    phases: { ...stats.phases },
  };
}

/** An eval record as plain JSON (typed arrays as arrays, NaN as null, undefined dropped). */
export function storedRecord(record: EvalRecord): StoredEvalRecord {
  return jsonSafe(record) as StoredEvalRecord;
}

/** A time for the progress lines: `12.3 s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
