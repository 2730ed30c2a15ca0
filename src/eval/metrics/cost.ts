/** Registry entries of the unlearning step's cost: wall time, speed-up, passes and gradient evaluations (../cost.ts). */
import { costMetrics } from '../cost.ts';
import { type MetricDef, NON_NEGATIVE } from './def.ts';

export const COST_METRICS: readonly MetricDef[] = [
  {
    id: 'time-ms',
    group: 'distance',
    column: 'time',
    terminal: true,
    summary: 'wall time of the unlearning step alone',
    direction: 'lower',
    unit: 'ms',
    ...NON_NEGATIVE,
    needs: ['cost'],
    compute: ({ cost }) => costMetrics(cost!).timeMs,
  },
  {
    id: 'speed-up',
    group: 'distance',
    column: 'speed-up',
    terminal: true,
    summary: 'T_retrain / T_unlearn',
    direction: 'higher',
    unit: 'ratio',
    ...NON_NEGATIVE,
    needs: ['cost', 'retrain-time'],
    compute: ({ cost }) => costMetrics(cost!, cost!.retrainTimeMs).speedUp,
  },
  {
    id: 'epochs-touched',
    group: 'distance',
    column: 'epochs',
    summary: 'samples touched / n (passes over the training set)',
    direction: 'lower',
    unit: 'ratio',
    ...NON_NEGATIVE,
    needs: ['cost'],
    compute: ({ cost }) => costMetrics(cost!).epochsTouched,
  },
  {
    id: 'grad-evals',
    group: 'distance',
    column: 'grad evals',
    summary: 'per-example gradient evaluations',
    direction: 'lower',
    unit: 'count',
    ...NON_NEGATIVE,
    needs: ['cost'],
    compute: ({ cost }) => costMetrics(cost!).gradEvals,
  },
];
