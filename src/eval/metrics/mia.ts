/**
 * Registry entries of the membership-inference attacks on ΔD: the SVC attacks of Jia et al. on
 * four features and the loss-threshold LR attack (computed in ../mia.ts).
 */
import { rngFor } from '../../core/rng.ts';
import { type AttackResult, lossLrAttack, type MiaFeature, svcMiaEfficacy } from '../mia.ts';
import type { EvalInput, MetricValue } from '../types.ts';
import { type MetricDef, type MetricLookup, type Notes, UNIT_INTERVAL } from './def.ts';

/** An attack's value; its meaning and sizes go to the notes. */
function attackValue(r: AttackResult, notes: Notes): MetricValue {
  notes.meaning = r.meaning;
  notes.sizes = r.sizes;
  return r.value;
}

const svcAttack =
  (feature: MiaFeature) =>
  async (input: EvalInput, _get: MetricLookup, notes: Notes): Promise<MetricValue> =>
    attackValue(await svcMiaEfficacy(input.sets, { feature }), notes);

export const MIA_METRICS: readonly MetricDef[] = [
  {
    id: 'mia-efficacy',
    group: 'forgetting',
    column: 'MIA',
    terminal: true,
    chart: true,
    summary:
      'Jia et al. SVC MIA on confidence: share of ΔD called non-member; higher = more forgotten-looking; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: svcAttack('confidence'),
  },
  {
    id: 'mia-entropy',
    group: 'forgetting',
    column: 'MIA-ent',
    summary:
      'SVC MIA on prediction entropy: share of ΔD called non-member; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    optional: true,
    compute: svcAttack('entropy'),
  },
  {
    id: 'mia-m-entropy',
    group: 'forgetting',
    column: 'MIA-ment',
    summary: 'SVC MIA on modified entropy: share of ΔD called non-member; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    optional: true,
    compute: svcAttack('m-entropy'),
  },
  {
    id: 'mia-loss',
    group: 'forgetting',
    column: 'MIA-loss',
    summary: 'SVC MIA on the loss: share of ΔD called non-member; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    optional: true,
    compute: svcAttack('loss'),
  },
  {
    id: 'mia-loss-lr',
    group: 'forgetting',
    column: 'LR-atk',
    summary:
      'loss-threshold LR attack, ΔD vs test, 5-fold CV accuracy; 0.5 = indistinguishable; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: (input, _get, notes) =>
      attackValue(lossLrAttack(input.sets, { rng: rngFor(input.seed, 'mia-loss-lr') }), notes),
  },
];
