/**
 * Every metric uib reports, in one explicit table (report column order), assembled from the
 * families in metrics/, and the vocabulary derived from it. An id is the registry key, the config
 * key and the report column. Each entry names what it needs; `evaluate.ts` skips an entry whose
 * needs are missing and says why.
 */
import { UsageError } from '../core/errors.ts';
import { ACCURACY_METRICS } from './metrics/accuracy.ts';
import { BIAS_METRICS, SHORTCUT_METRICS } from './metrics/bias.ts';
import { COST_METRICS } from './metrics/cost.ts';
import { METRIC_IDS, type MetricDef, type MetricId } from './metrics/def.ts';
import { DISTANCE_METRICS } from './metrics/distance.ts';
import { MIA_METRICS } from './metrics/mia.ts';
import { SELECTION_METRIC } from './metrics/selection.ts';
import { PRIVACY_METRICS } from './metrics/shadow.ts';

export {
  METRIC_GROUPS,
  METRIC_IDS,
  type MetricDef,
  type MetricGroup,
  type MetricId,
  type MetricLookup,
  type Need,
  type Notes,
} from './metrics/def.ts';
export { missingNeed } from './metrics/needs.ts';

export const METRICS: readonly MetricDef[] = [
  ...ACCURACY_METRICS,
  ...MIA_METRICS,
  ...BIAS_METRICS,
  ...SHORTCUT_METRICS,
  ...DISTANCE_METRICS,
  ...PRIVACY_METRICS,
  SELECTION_METRIC,
  ...COST_METRICS,
];

const BY_ID = new Map<string, MetricDef>();
for (const [i, m] of METRICS.entries()) {
  if (BY_ID.has(m.id)) throw new Error(`eval/registry: duplicate metric id ${m.id}`);
  if (m.id !== METRIC_IDS[i])
    throw new Error(`eval/registry: entry ${i} is ${m.id}, METRIC_IDS has ${METRIC_IDS[i]}`);
  BY_ID.set(m.id, m);
}
if (BY_ID.size !== METRIC_IDS.length)
  throw new Error(`eval/registry: no entry for ${METRIC_IDS.slice(BY_ID.size).join(', ')}`);

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

/** The compact set of columns the terminal table shows, in registry order. */
export const TERMINAL_METRIC_IDS: readonly MetricId[] = METRICS.filter((m) => m.terminal).map(
  (m) => m.id,
);

/** The metrics that get a bar chart in the HTML report, in registry order. */
export const CHART_METRIC_IDS: readonly MetricId[] = METRICS.filter((m) => m.chart).map(
  (m) => m.id,
);

/** A column's short header; an id the registry does not know (a results file of another version) is shown as it is. */
export function columnName(id: string): string {
  return BY_ID.get(id)?.column ?? id;
}
