/**
 * ToW, "tug of war" (Zhao et al. 2024, "What makes unlearning hard and what to do about it"):
 * the product over the forget, retain and test sets of one minus the model's accuracy gap to the
 * retrained model on that set, ToW = Π_S (1 − |acc(θ_u, S) − acc(θ_r, S)|). 1 when every accuracy
 * equals Retrain's; it falls with a gap on any set, so no set can be traded for another.
 * UA = 1 − acc(ΔD), so the forget term is 1 − |UA − UA_r|.
 */
import { defined, type MetricValue, undefinedBecause } from './types.ts';

export function tugOfWar(
  model: { forget: MetricValue; retain: MetricValue; test: MetricValue },
  retrain: { forget: MetricValue; retain: MetricValue; test: MetricValue },
): MetricValue {
  let tow = 1;
  for (const set of ['forget', 'retain', 'test'] as const) {
    const m = model[set].value;
    const r = retrain[set].value;
    if (m === null)
      return undefinedBecause(`the ${set} accuracy is undefined: ${model[set].reason}`);
    if (r === null)
      return undefinedBecause(`Retrain's ${set} accuracy is undefined: ${retrain[set].reason}`);
    tow *= 1 - Math.abs(m - r);
  }
  return defined(tow);
}
