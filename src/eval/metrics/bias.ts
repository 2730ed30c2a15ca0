/**
 * Registry entries of the bias family: ρ, ΔP, recall(k) and P(ŷ = k) on the biased test set, the
 * backdoor's ASR, and the subgroup gaps (computed in ../bias.ts).
 */
import {
  attackSuccessRate,
  biasCorrelation,
  biasDeltaP,
  demographicParityGap,
  equalisedOddsGap,
  groupAccuracyGap,
  predictedShare,
  recallOf,
  worstGroupAccuracy,
} from '../bias.ts';
import { type MetricDef, SIGNED_UNIT, UNIT_INTERVAL } from './def.ts';
import { groupedSet } from './needs.ts';

export const BIAS_METRICS: readonly MetricDef[] = [
  {
    id: 'bias-correlation',
    group: 'bias',
    column: 'ρ',
    terminal: true,
    chart: true,
    summary:
      'phi between 1[ŷ = k] and b(x) on the label-independent biased test set; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'correlation',
    ...SIGNED_UNIT,
    needs: ['biased-test', 'bias-class'],
    compute: ({ sets, scenario }) =>
      biasCorrelation(sets.biasedTest!.predicted, sets.biasedTest!.bias!, scenario!.biasClass!),
  },
  {
    id: 'bias-delta-p',
    group: 'bias',
    column: 'ΔP',
    summary:
      'ΔP = P(ŷ = k | b = 1) − P(ŷ = k | b = 0) on the biased test set; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...SIGNED_UNIT,
    needs: ['biased-test', 'bias-class'],
    compute: ({ sets, scenario }) =>
      biasDeltaP(sets.biasedTest!.predicted, sets.biasedTest!.bias!, scenario!.biasClass!),
  },
  {
    id: 'bias-recall',
    group: 'bias',
    column: 'recall(k)',
    terminal: true,
    chart: true,
    summary:
      'recall(k) = P(ŷ = k | y = k) on the biased test set (read beside ρ); target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['biased-test', 'bias-class'],
    compute: ({ sets, scenario }) =>
      recallOf(sets.biasedTest!.predicted, sets.biasedTest!.labels, scenario!.biasClass!),
  },
  {
    id: 'bias-pred-share',
    group: 'bias',
    column: 'P(ŷ=k)',
    summary: 'P(ŷ = k) on the biased test set (read beside ρ); target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['biased-test', 'bias-class'],
    compute: ({ sets, scenario }) =>
      predictedShare(sets.biasedTest!.predicted, scenario!.biasClass!),
  },
  {
    id: 'asr',
    group: 'bias',
    column: 'ASR',
    terminal: true,
    chart: true,
    summary:
      'backdoor attack success: stamped non-target test samples predicted as the target; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['stamped-test', 'backdoor-target'],
    compute: ({ sets, scenario }) =>
      attackSuccessRate(
        sets.stampedTest!.predicted,
        sets.stampedTest!.labels,
        scenario!.backdoorTarget!,
      ),
  },
  {
    id: 'group-acc-gap',
    group: 'bias',
    column: 'grp-gap',
    terminal: true,
    chart: true,
    summary: 'max − min test accuracy over subgroups; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['groups'],
    compute: ({ sets }) =>
      groupAccuracyGap(sets.test.predicted, sets.test.labels, sets.test.group!),
  },
  {
    id: 'worst-group-acc',
    group: 'bias',
    column: 'worst-group-acc',
    summary:
      'worst-group accuracy: the lowest test accuracy over label × attribute groups (the biased test set’s b(x), or the subgroup); target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['group-attribute'],
    compute: ({ sets }) => {
      const { set, attribute } = groupedSet(sets)!;
      return worstGroupAccuracy(set.predicted, set.labels, attribute);
    },
  },
  {
    id: 'dp-gap',
    group: 'bias',
    column: 'DP-gap',
    summary:
      'demographic-parity gap: max − min P(ŷ = positive | group) on test; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['groups', 'positive-class'],
    compute: ({ sets, scenario }) =>
      demographicParityGap(sets.test.predicted, sets.test.group!, scenario!.positiveClass!),
  },
  {
    id: 'eo-gap',
    group: 'bias',
    column: 'EO-gap',
    summary:
      'equalised-odds gap: larger of the TPR and FPR gaps over groups on test; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: ['groups', 'positive-class'],
    compute: ({ sets, scenario }) =>
      equalisedOddsGap(
        sets.test.predicted,
        sets.test.labels,
        sets.test.group!,
        scenario!.positiveClass!,
      ),
  },
];
