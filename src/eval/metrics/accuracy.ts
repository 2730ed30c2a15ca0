/** Registry entries of the accuracy family: UA, RA, TA and test macro-F1 (computed in ../accuracy.ts). */
import { accuracy, macroF1, unlearningAccuracy } from '../accuracy.ts';
import { type MetricDef, UNIT_INTERVAL } from './def.ts';

export const ACCURACY_METRICS: readonly MetricDef[] = [
  {
    id: 'ua',
    group: 'forgetting',
    column: 'UA',
    terminal: true,
    chart: true,
    summary: 'unlearning accuracy 1 − acc(ΔD); target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: ({ sets }) => unlearningAccuracy(sets.forget.predicted, sets.forget.labels),
  },
  {
    id: 'ra',
    group: 'forgetting',
    column: 'RA',
    terminal: true,
    chart: true,
    summary: 'remaining accuracy acc(D_r); target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: ({ sets }) => accuracy(sets.retain.predicted, sets.retain.labels),
  },
  {
    id: 'ta',
    group: 'forgetting',
    column: 'TA',
    terminal: true,
    chart: true,
    summary: 'test accuracy; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: ({ sets }) => accuracy(sets.test.predicted, sets.test.labels),
  },
  {
    id: 'test-f1',
    group: 'forgetting',
    column: 'F1',
    summary:
      'macro-F1 on test over classes present in labels or predictions; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: ({ sets }) => macroF1(sets.test.predicted, sets.test.labels, sets.test.numClasses),
  },
];
