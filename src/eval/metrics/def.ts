/**
 * The shape of a registry entry: the metric ids (report column order), the report tables, the
 * inputs an entry may need, and the value ranges the entries share. Entries live in this folder.
 */
import type { Direction, EvalInput, MetricUnit, MetricValue } from '../types.ts';

/** Every metric id, in report column order; `registry.ts` checks that its table lists each once, in this order. */
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
  'aligned-acc',
  'conflicting-acc',
  'aligned-gap',
  'bias-class-acc',
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
  | 'group-attribute'
  | 'aligned-attribute';

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
  /** The column's short header in the report tables. */
  readonly column: string;
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

/** Ranges: probabilities and rates, signed differences of them, and the non-negative rest. */
export const UNIT_INTERVAL = { min: 0, max: 1 } as const;
export const SIGNED_UNIT = { min: -1, max: 1 } as const;
export const NON_NEGATIVE = { min: 0 } as const;
