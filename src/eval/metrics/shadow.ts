/**
 * Registry entries of the privacy metrics against shadow models: U-LiRA, the NeurIPS 2023
 * challenge's F and score, and KLoM (computed in ../shadow.ts).
 */
import { challengeFromShadows, klomFromShadows, uliraFromShadows } from '../shadow.ts';
import { defined, undefinedBecause } from '../types.ts';
import { type MetricDef, NON_NEGATIVE, UNIT_INTERVAL } from './def.ts';

export const PRIVACY_METRICS: readonly MetricDef[] = [
  {
    id: 'u-lira',
    group: 'privacy',
    column: 'U-LiRA',
    summary:
      'U-LiRA (Hayes et al. 2024): accuracy of the per-example likelihood-ratio test, unlearned vs retrained shadow models; 0.5 = indistinguishable',
    direction: 'lower',
    // An attack's accuracy whose ideal is chance (0.5), not a rate of the model to match.
    unit: 'ratio',
    ...UNIT_INTERVAL,
    needs: ['shadow'],
    optional: true,
    compute: ({ shadow }, _get, notes) => {
      // Few shadows give noisy per-example variances: pool them below 64, as LiRA does.
      const r = uliraFromShadows(shadow!, {
        variance: shadow!.shadows.length < 64 ? 'global' : 'per-example',
      });
      if (r.targets === 0) return undefinedBecause('no target was trained on by ≥ 3 shadow models');
      notes.auc = r.auc;
      notes.tprAt1Fpr = r.tprAt1Fpr;
      notes.targets = r.targets;
      notes.shadows = shadow!.shadows.length;
      notes.diverged = shadow!.diverged ?? 0;
      return defined(r.accuracy);
    },
  },
  {
    id: 'challenge-f',
    group: 'privacy',
    column: 'F',
    summary:
      'forgetting quality F of the NeurIPS 2023 challenge: mean of 2/2^bin(ε) over ΔD, ε from threshold attacks on shadow losses (1 = best)',
    direction: 'higher',
    unit: 'ratio',
    ...UNIT_INTERVAL,
    needs: ['shadow'],
    optional: true,
    compute: ({ shadow }, _get, notes) => {
      const r = challengeFromShadows(shadow!);
      if (r.epsilons.length === 0) return undefinedBecause('no target with shadow losses');
      notes.infiniteEpsilon = r.epsilons.filter((e) => e === Number.POSITIVE_INFINITY).length;
      notes.targets = r.epsilons.length;
      return defined(r.F);
    },
  },
  {
    id: 'challenge-score',
    group: 'privacy',
    column: 'score',
    summary:
      'the challenge’s final score F · (RA / RA_Retrain) · (TA / TA_Retrain), shadow models’ means',
    direction: 'higher',
    unit: 'ratio',
    ...NON_NEGATIVE,
    needs: ['shadow'],
    optional: true,
    compute: ({ shadow }) => {
      const r = challengeFromShadows(shadow!);
      return r.epsilons.length === 0 || !Number.isFinite(r.score)
        ? undefinedBecause('no target with shadow losses')
        : defined(r.score);
    },
  },
  {
    id: 'klom',
    group: 'privacy',
    column: 'KLoM',
    summary:
      'KLoM (Georgiev et al. 2024): mean over ΔD of the binned KL from unlearned to retrained shadow models’ margins (0 = the same)',
    direction: 'lower',
    unit: 'norm',
    ...NON_NEGATIVE,
    needs: ['shadow'],
    optional: true,
    compute: ({ shadow }, _get, notes) => {
      const per = klomFromShadows(shadow!);
      if (per.length === 0) return undefinedBecause('no target with shadow margins');
      const sorted = [...per].sort((a, b) => a - b);
      notes.p95 = sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))];
      notes.targets = per.length;
      return defined(per.reduce((a, b) => a + b, 0) / per.length);
    },
  },
];
