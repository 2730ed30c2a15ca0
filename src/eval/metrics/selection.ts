/** The registry entry of the Retrain-free selection score (computed in ../selection.ts). */
import { selectionScore } from '../selection.ts';
import type { MetricDef } from './def.ts';

export const SELECTION_METRIC: MetricDef = {
  id: 'selection',
  group: 'forgetting',
  column: 'selection',
  summary:
    'Retrain-free selection score (eval/selection.ts): ΔD against its held-out twin, |ρ| of a named pattern, drops of RA and kept TA against the original; lower is better',
  direction: 'lower',
  // A sum of fractions (0 ideal), not a rate of the model's behaviour.
  unit: 'ratio',
  min: 0,
  needs: ['original'],
  version: 2, // 2: the kept test set is the clean one (bias, pattern, random)
  // Computed where it is asked for: the tuning protocol's trials and any experiment listing it.
  optional: true,
  compute: ({ sets, original, scenario }, _get, notes) => {
    const r = selectionScore(sets, original!.sets, scenario ?? {});
    if (r.terms) Object.assign(notes, r.terms);
    return r.value;
  },
};
