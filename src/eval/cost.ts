/**
 * Cost (uib-method.md, "Metrics"): wall time of the unlearning step alone, speed-up over Retrain,
 * and the hardware-independent counts the train loop's `CostCounter` recorded, passed through.
 */
import type { UnlearnStats } from '../unlearn/types.ts';
import { defined, type MetricValue, undefinedBecause } from './types.ts';

/** speed-up = T_retrain / T_unlearn (> 1: faster than retraining). */
export function speedUp(retrainTimeMs: number, unlearnTimeMs: number): MetricValue {
  if (!(retrainTimeMs > 0))
    return undefinedBecause(`Retrain time ${retrainTimeMs} ms is not positive`);
  if (!(unlearnTimeMs > 0))
    return undefinedBecause(`unlearning time ${unlearnTimeMs} ms is not positive`);
  return defined(retrainTimeMs / unlearnTimeMs);
}

export interface CostMetrics {
  timeMs: MetricValue;
  speedUp: MetricValue;
  epochsTouched: MetricValue;
  gradEvals: MetricValue;
}

/** The cost columns of one unlearning run; `retrainTimeMs` omitted → no speed-up. */
export function costMetrics(
  stats: Pick<UnlearnStats, 'timeMs' | 'gradEvals' | 'epochsTouched'>,
  retrainTimeMs?: number,
): CostMetrics {
  return {
    timeMs: defined(stats.timeMs),
    speedUp:
      retrainTimeMs === undefined
        ? undefinedBecause('no Retrain time to compare with')
        : speedUp(retrainTimeMs, stats.timeMs),
    epochsTouched: defined(stats.epochsTouched),
    gradEvals: defined(stats.gradEvals),
  };
}
