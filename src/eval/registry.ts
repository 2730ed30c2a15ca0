/**
 * Every metric uib reports, in one explicit table (report column order). An id is the registry
 * key, the config key and the report column. Each entry names what it needs; `evaluate.ts` skips
 * an entry whose needs are missing and says why.
 */
import { UsageError } from '../core/errors.ts';
import { rngFor } from '../core/rng.ts';
import { accuracy, macroF1, unlearningAccuracy } from './accuracy.ts';
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
} from './bias.ts';
import { costMetrics } from './cost.ts';
import { AVG_GAP_METRICS, avgGap, meanJsDivergence, weightDistance } from './distance.ts';
import { type AttackResult, lossLrAttack, type MiaFeature, svcMiaEfficacy } from './mia.ts';
import { selectionScore } from './selection.ts';
import { challengeFromShadows, klomFromShadows, uliraFromShadows } from './shadow.ts';
import { tugOfWar } from './tug-of-war.ts';
import {
  type Direction,
  defined,
  type EvalInput,
  type MetricUnit,
  type MetricValue,
  type SetPredictions,
  undefinedBecause,
} from './types.ts';

export const METRIC_IDS = [
  'ua',
  'ra',
  'ta',
  'test-f1',
  'mia-efficacy',
  'mia-entropy',
  'mia-m-entropy',
  'mia-loss',
  'mia-loss-lr',
  'bias-correlation',
  'bias-delta-p',
  'bias-recall',
  'bias-pred-share',
  'asr',
  'group-acc-gap',
  'worst-group-acc',
  'dp-gap',
  'eo-gap',
  'js-test',
  'js-forget',
  'weight-l2',
  'avg-gap',
  'tow',
  'u-lira',
  'challenge-f',
  'challenge-score',
  'klom',
  'selection',
  'time-ms',
  'speed-up',
  'epochs-touched',
  'grad-evals',
] as const;
export type MetricId = (typeof METRIC_IDS)[number];

/** The report tables, in order (titles in experiments/aggregate.ts). */
export const METRIC_GROUPS = ['forgetting', 'bias', 'privacy', 'distance'] as const;
export type MetricGroup = (typeof METRIC_GROUPS)[number];

/** Inputs a metric may need beyond the forget / retain / test predictions every run has. */
export type Need =
  | 'biased-test'
  | 'bias-class'
  | 'stamped-test'
  | 'backdoor-target'
  | 'groups'
  | 'positive-class'
  | 'retrain'
  | 'weights'
  | 'cost'
  | 'shadow'
  | 'retrain-time'
  | 'original'
  | 'group-attribute';

/** Lazily computed values of the other metrics of the same model (memoised by `evaluate.ts`). */
export type MetricLookup = (id: MetricId) => Promise<MetricValue>;

/** Side results a metric may leave for the record (an attack's meaning and sizes). */
export type Notes = Record<string, unknown>;

export interface MetricDef {
  readonly id: MetricId;
  /** One line for reports and `--help`. */
  readonly summary: string;
  readonly direction: Direction;
  readonly unit: MetricUnit;
  /** The least and greatest value the metric can take (absent: unbounded); reports clip intervals to them. */
  readonly min?: number;
  readonly max?: number;
  readonly needs: readonly Need[];
  /** The report table the metric is a column of. */
  readonly group: MetricGroup;
  /** A column of the compact terminal table. */
  readonly terminal?: boolean;
  /** Gets a bar chart in the HTML report. */
  readonly chart?: boolean;
  /** Costly and secondary: computed only when asked for by id (each is one more SVC fit). */
  readonly optional?: boolean;
  /** Bumped when the definition changes, so that stored values computed under the old one are recomputed. */
  readonly version?: number;
  compute(input: EvalInput, get: MetricLookup, notes: Notes): MetricValue | Promise<MetricValue>;
}

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

/** Mean JS divergence to Retrain's predictions on one set (`name` for the message). */
function jsToRetrain(input: EvalInput, set: 'test' | 'forget', name: string): MetricValue {
  const r = input.retrain?.sets[set];
  if (!r) return undefinedBecause(`no Retrain predictions on ${name}`);
  return meanJsDivergence(input.sets[set].probs, r.probs, input.sets[set].numClasses);
}

/** Ranges: probabilities and rates, signed differences of them, and the non-negative rest. */
const UNIT_INTERVAL = { min: 0, max: 1 } as const;
const SIGNED_UNIT = { min: -1, max: 1 } as const;
const NON_NEGATIVE = { min: 0 } as const;

export const METRICS: readonly MetricDef[] = [
  {
    id: 'ua',
    group: 'forgetting',
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
    summary:
      'macro-F1 on test over classes present in labels or predictions; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: ({ sets }) => macroF1(sets.test.predicted, sets.test.labels, sets.test.numClasses),
  },
  {
    id: 'mia-efficacy',
    group: 'forgetting',
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
    summary:
      'loss-threshold LR attack, ΔD vs test, 5-fold CV accuracy; 0.5 = indistinguishable; target: Retrain’s value',
    direction: 'match-retrain',
    unit: 'fraction',
    ...UNIT_INTERVAL,
    needs: [],
    compute: (input, _get, notes) =>
      attackValue(lossLrAttack(input.sets, { rng: rngFor(input.seed, 'mia-loss-lr') }), notes),
  },
  {
    id: 'bias-correlation',
    group: 'bias',
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
  {
    id: 'js-test',
    group: 'distance',
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
  {
    id: 'u-lira',
    group: 'privacy',
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
  {
    id: 'selection',
    group: 'forgetting',
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
  },
  {
    id: 'time-ms',
    group: 'distance',
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
    summary: 'per-example gradient evaluations',
    direction: 'lower',
    unit: 'count',
    ...NON_NEGATIVE,
    needs: ['cost'],
    compute: ({ cost }) => costMetrics(cost!).gradEvals,
  },
];

/** Why `need` is not met by `input`, or null when it is. */
/** The set whose groups worst-group accuracy is over: the biased test set, else a test set with a bias or subgroup attribute. */
function groupedSet(
  sets: EvalInput['sets'],
): { set: SetPredictions; attribute: Uint8Array } | null {
  if (sets.biasedTest?.bias) return { set: sets.biasedTest, attribute: sets.biasedTest.bias };
  if (sets.test.bias) return { set: sets.test, attribute: sets.test.bias };
  if (sets.test.group) return { set: sets.test, attribute: sets.test.group };
  return null;
}

export function missingNeed(need: Need, input: EvalInput): string | null {
  const { sets, scenario } = input;
  switch (need) {
    case 'biased-test':
      if (!sets.biasedTest) return 'no biased test set';
      return sets.biasedTest.bias ? null : 'the biased test set has no bias attribute';
    case 'bias-class':
      return scenario?.biasClass === undefined ? 'scenario names no bias class' : null;
    case 'stamped-test':
      return sets.stampedTest ? null : 'no trigger-stamped test set';
    case 'backdoor-target':
      return scenario?.backdoorTarget === undefined ? 'scenario names no backdoor target' : null;
    case 'groups':
      return sets.test.group ? null : 'the test set has no subgroup attribute';
    case 'positive-class':
      return scenario?.positiveClass === undefined ? 'scenario names no positive class' : null;
    case 'retrain':
      return input.retrain ? null : 'no Retrain model to compare with';
    case 'weights':
      return input.weights ? null : 'no weights given';
    case 'cost':
      return input.cost ? null : 'no cost record';
    case 'shadow':
      return input.shadow && input.shadow.shadows.length >= 3
        ? null
        : 'no shadow models (options.shadowModels in the experiment file)';
    case 'retrain-time':
      return input.cost?.retrainTimeMs === undefined ? 'no Retrain wall time' : null;
    case 'original':
      return input.original ? null : 'no predictions of the original model';
    case 'group-attribute':
      return groupedSet(input.sets) ? null : 'no test set with a bias or subgroup attribute';
  }
}

const BY_ID = new Map<string, MetricDef>();
for (const m of METRICS) {
  if (BY_ID.has(m.id)) throw new Error(`eval/registry: duplicate metric id ${m.id}`);
  BY_ID.set(m.id, m);
}

/** The metric with this id; an unknown id fails with the list of known ones. */
export function getMetric(id: string, where = 'metrics'): MetricDef {
  const m = BY_ID.get(id);
  if (!m)
    throw new UsageError(where, `unknown metric "${id}"; must be one of ${METRIC_IDS.join(', ')}`);
  return m;
}

/** Ids computed when a run names none: every metric except the optional extra SVC attacks. */
export const DEFAULT_METRIC_IDS: readonly MetricId[] = METRICS.filter((m) => !m.optional).map(
  (m) => m.id,
);
