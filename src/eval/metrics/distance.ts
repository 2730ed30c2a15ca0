/**
 * Registry entries of the distances to Retrain: JS divergence of predictions, ℓ2 of weights,
 * Avg. Gap and tug of war (computed in ../distance.ts and ../tug-of-war.ts).
 */
import { AVG_GAP_METRICS, avgGap, meanJsDivergence, weightDistance } from '../distance.ts';
import { tugOfWar } from '../tug-of-war.ts';
import { defined, type EvalInput, type MetricValue, undefinedBecause } from '../types.ts';
import { type MetricDef, NON_NEGATIVE, UNIT_INTERVAL } from './def.ts';

/** Mean JS divergence to Retrain's predictions on one set (`name` for the message). */
function jsToRetrain(input: EvalInput, set: 'test' | 'forget', name: string): MetricValue {
  const r = input.retrain?.sets[set];
  if (!r) return undefinedBecause(`no Retrain predictions on ${name}`);
  return meanJsDivergence(input.sets[set].probs, r.probs, input.sets[set].numClasses);
}

export const DISTANCE_METRICS: readonly MetricDef[] = [
  {
    id: 'js-test',
    group: 'distance',
    column: 'JS test',
    terminal: true,
    summary: 'mean Jensen–Shannon divergence (bits) to Retrain’s predictions on test',
    direction: 'lower',
    unit: 'bits',
    ...UNIT_INTERVAL,
    needs: ['retrain'],
    compute: (input) => jsToRetrain(input, 'test', 'test'),
  },
  {
    id: 'js-forget',
    group: 'distance',
    column: 'JS ΔD',
    chart: true,
    summary: 'mean Jensen–Shannon divergence (bits) to Retrain’s predictions on ΔD',
    direction: 'lower',
    unit: 'bits',
    ...UNIT_INTERVAL,
    needs: ['retrain'],
    compute: (input) => jsToRetrain(input, 'forget', 'ΔD'),
  },
  {
    id: 'weight-l2',
    group: 'distance',
    column: 'ℓ2 dist',
    summary: 'ℓ2 distance between the model’s and Retrain’s weights',
    direction: 'lower',
    unit: 'norm',
    ...NON_NEGATIVE,
    needs: ['weights'],
    compute: ({ weights }) => defined(weightDistance(weights!.model, weights!.retrain)),
  },
  {
    id: 'avg-gap',
    group: 'distance',
    column: 'Avg.Gap',
    terminal: true,
    chart: true,
    summary: 'mean |m − m_Retrain| over UA, RA, TA, MIA-Efficacy, in percentage points',
    direction: 'lower',
    unit: 'pp',
    min: 0,
    max: 100,
    needs: ['retrain'],
    compute: async (input, get) => {
      const mine = {} as Record<(typeof AVG_GAP_METRICS)[number], MetricValue>;
      const theirs = {} as Record<(typeof AVG_GAP_METRICS)[number], MetricValue>;
      for (const id of AVG_GAP_METRICS) {
        mine[id] = await get(id);
        theirs[id] =
          input.retrain!.record.values[id] ?? undefinedBecause('missing from Retrain’s record');
      }
      return avgGap(mine, theirs);
    },
  },
  {
    id: 'tow',
    group: 'distance',
    column: 'ToW',
    summary:
      'tug of war Π_S (1 − |acc(S) − acc_Retrain(S)|) over ΔD, D_r and test (Zhao et al. 2024); 1 = Retrain’s accuracies',
    direction: 'higher',
    // A score in [0, 1], not a rate of the model's behaviour: higher is better.
    unit: 'ratio',
    ...UNIT_INTERVAL,
    needs: ['retrain'],
    compute: async (input, get) => {
      // acc(ΔD) = 1 − UA; the forget term compares accuracies, as the paper's da does.
      const forgetAcc = (v: MetricValue): MetricValue =>
        v.value === null ? v : { value: 1 - v.value };
      const theirs = (id: 'ua' | 'ra' | 'ta') =>
        input.retrain!.record.values[id] ?? undefinedBecause('missing from Retrain’s record');
      return tugOfWar(
        { forget: forgetAcc(await get('ua')), retain: await get('ra'), test: await get('ta') },
        { forget: forgetAcc(theirs('ua')), retain: theirs('ra'), test: theirs('ta') },
      );
    },
  },
];
