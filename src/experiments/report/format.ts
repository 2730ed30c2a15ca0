/**
 * How the reports show the tables of aggregate.ts: short column names and units, numbers, the
 * metric groups, and the ensemble, paired and tuning tables that results.md, the terminal table and
 * report.html share. Displayed intervals are clipped to the metric's range (an accuracy's
 * t-interval can run past 100 %); the summaries and results.json keep the raw values.
 */
import { ENSEMBLE_BAND_SDS } from '../../eval/ensemble.ts';
import {
  columnName,
  METRIC_GROUPS,
  METRICS,
  type MetricGroup,
  TERMINAL_METRIC_IDS,
} from '../../eval/registry.ts';
import type { Summary } from '../../eval/stats.ts';
import type { PairedComparison, Row, ScenarioTable } from '../aggregate.ts';
import type { MetricInfo, TuningSummary } from '../results-schema.ts';

/** A metric's column name, from the metric registry (ids not in it are shown as they are). */
export const shortName = columnName;

/** Unit suffix for a column header: ` %`, ` s`, ` ×`... */
export function unitSuffix(unit: string, id = ''): string {
  if (id === 'speed-up') return ' ×';
  switch (unit) {
    case 'fraction':
      return ' %';
    case 'pp':
      return ' pp';
    case 'ms':
      return ' s';
    case 'bits':
      return ' bits';
    default:
      return '';
  }
}

export function directionMark(direction: string): string {
  return direction === 'higher' ? '↑' : direction === 'lower' ? '↓' : '→R';
}

/** The number as shown: fractions as %, ms as seconds, counts compact. */
export function scaled(value: number, unit: string): number {
  if (unit === 'fraction') return 100 * value;
  if (unit === 'ms') return value / 1000;
  return value;
}

export function formatNumber(value: number, unit: string, id = ''): string {
  const v = scaled(value, unit);
  switch (unit) {
    case 'fraction':
    case 'pp':
      return v.toFixed(1);
    case 'correlation':
      return v.toFixed(3);
    case 'bits':
      return v.toFixed(4);
    case 'ms':
      return v < 10 ? v.toFixed(2) : v.toFixed(1);
    case 'count':
      return compact(v);
    case 'ratio':
      return id === 'speed-up' ? v.toFixed(1) : v.toFixed(2);
    default:
      // Norms and the like: 3 significant digits; exponent form when large (an exploded model).
      if (Math.abs(v) >= 1e5) return v.toExponential(2);
      return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
  }
}

function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return v.toFixed(0);
}

/** The values a metric can take; a side left out is unbounded. */
export interface MetricRange {
  min?: number;
  max?: number;
}

/** A column's range: as results.json recorded it, else the registry's (results written before). */
export function rangeOf(c: Pick<MetricInfo, 'id' | 'min' | 'max'>): MetricRange {
  if (c.min !== undefined || c.max !== undefined) return { min: c.min, max: c.max };
  const def = METRICS.find((m) => m.id === c.id);
  return { min: def?.min, max: def?.max };
}

/** The interval as shown: `s`'s [lo, hi] clipped to `range`; null without an interval. */
export function shownInterval(
  s: Summary,
  range: MetricRange,
): { lo: number; hi: number; clipped: boolean } | null {
  if (s.lo === null || s.hi === null) return null;
  const lo = range.min === undefined ? s.lo : Math.max(s.lo, range.min);
  const hi = range.max === undefined ? s.hi : Math.min(s.hi, range.max);
  return { lo, hi, clipped: lo !== s.lo || hi !== s.hi };
}

/**
 * `97.3 ± 0.4`; `3.1 [0.0, 11.2]` when the interval was clipped to `range` (no longer symmetric);
 * `97.3` (one seed), `n/a` (never defined); `†` when some seeds were undefined.
 */
export function formatSummary(
  s: Summary | undefined,
  unit: string,
  id = '',
  range: MetricRange = {},
): string {
  if (!s || s.mean === null) return s && s.undefinedCount > 0 ? 'n/a' : '—';
  let text = formatNumber(s.mean, unit, id);
  const shown = shownInterval(s, range);
  if (shown?.clipped) {
    text += ` [${formatNumber(shown.lo, unit, id)}, ${formatNumber(shown.hi, unit, id)}]`;
  } else if (s.halfWidth !== null) {
    text += ` ± ${formatNumber(s.halfWidth, unit, id)}`;
  }
  if (s.undefinedCount > 0) text += ' †';
  return text;
}

/** The legend's sentence on clipping, shared by the reports. */
export const CLIPPING_NOTE =
  'An interval that would leave the metric’s range (0-100 % for accuracies, rates and JS, −1..1 for ρ and ΔP, ≥ 0 for distances and costs) is clipped to it and shown as [low, high]; results.json keeps the per-seed values.';

/** A table cell: `formatSummary` with the column's unit and range. */
export function formatCell(s: Summary | undefined, c: MetricInfo): string {
  return formatSummary(s, c.unit, c.id, rangeOf(c));
}

/** Titles of the tables each metric's `group` puts it in (eval/registry.ts), so none is too wide. */
const GROUP_TITLES: Record<MetricGroup, string> = {
  forgetting: 'Forgetting and utility',
  bias: 'Bias, backdoor and subgroups',
  privacy: 'Privacy against shadow models',
  distance: 'Distance to Retrain and cost',
};

/** A column's group; an id the registry does not know (a results file of another version) joins the first. */
function groupOf(id: string): MetricGroup {
  return METRICS.find((m) => m.id === id)?.group ?? METRIC_GROUPS[0];
}

/** The table's columns split into the registry's groups, in the columns' order. */
export function groupColumns(
  columns: readonly MetricInfo[],
): { title: string; columns: MetricInfo[] }[] {
  return METRIC_GROUPS.map((g) => ({
    title: GROUP_TITLES[g],
    columns: columns.filter((c) => groupOf(c.id) === g),
  })).filter((g) => g.columns.length > 0);
}

/** The compact set the terminal table shows (the registry's `terminal` metrics). */
export const TERMINAL_COLUMNS: ReadonlySet<string> = new Set(TERMINAL_METRIC_IDS);

/** One line describing a scenario: `bias: stripe on class 3 (rho 0.9, q 0.02)`. */
export function describeScenario(params: Record<string, unknown>): string {
  const rest = Object.entries(params)
    .filter(([k]) => k !== 'kind')
    .map(([k, v]) => `${k} ${v === null ? 'none' : String(v)}`);
  return `${String(params.kind)}${rest.length ? ` (${rest.join(', ')})` : ''}`;
}

// ─── the Retrain-ensemble table, shared by the reports ─────────────────────────────────────────

export const ENSEMBLE_NOTE =
  `Each cell: mean z over seeds of the method’s value against that seed’s Retrain ensemble ` +
  `((x − mean) / sd of the members), then (seeds inside / seeds): inside is within ` +
  `${ENSEMBLE_BAND_SDS} sd of the ensemble’s mean; for a distance to Retrain (↓) no farther, and ` +
  `for an agreement with it (↑, ToW) no lower, than ${ENSEMBLE_BAND_SDS} sd beyond another ` +
  `Retrain’s. “Indistinguishable” is the share of (seed, metric) pairs inside.`;

/** One cell of the ensemble table: "+0.4 (3/3)", "— (0/3)", or "—" when nothing was comparable. */
export function ensembleCell(r: Row, c: MetricInfo): string {
  const z = r.ensemble?.z[c.id];
  const inside = r.ensemble?.inside[c.id];
  const zText =
    z?.mean === null || z?.mean === undefined
      ? '—'
      : `${z.mean >= 0 ? '+' : '−'}${Math.abs(z.mean).toFixed(1)}`;
  return inside && inside.of > 0 ? `${zText} (${inside.inside}/${inside.of})` : zText;
}

/** "67 % (8/12)". */
export function indistinguishableCell(r: Row): string {
  const d = r.ensemble?.indistinguishable;
  if (!d || d.of === 0) return '—';
  return `${Math.round((100 * d.inside) / d.of)} % (${d.inside}/${d.of})`;
}

/** Head and rows of the ensemble table over `columns` (rows: the original and the methods). */
export function ensembleTable(
  t: ScenarioTable,
  columns: readonly MetricInfo[],
): { head: string[]; rows: { row: Row; cells: string[] }[] } {
  return {
    head: [
      ...columns.map((c) => `${shortName(c.id)} ${directionMark(c.direction)}`),
      'indistinguishable',
    ],
    rows: t.rows
      .filter((r) => r.kind !== 'retrain')
      .map((row) => ({
        row,
        cells: [...columns.map((c) => ensembleCell(row, c)), indistinguishableCell(row)],
      })),
  };
}

// ─── paired variant − base tables, shared by the reports ───────────────────────────────────────

export const PAIRED_NOTE =
  'Per-seed differences of `<method>+uib` against `<method>` on the same seeds (the same batches ' +
  'and labels: common random numbers), mean ± 95 % interval over seeds; for →R columns the ' +
  'difference of the distances to Retrain’s target, so negative means the variant is closer to Retrain.';

/** "+1.2 ± 0.8", "−0.4", "—". */
export function pairedCell(p: PairedComparison, c: MetricInfo): string {
  const s = p.diffs[c.id];
  if (!s || s.mean === null) return formatSummary(s, c.unit, c.id);
  const text = formatSummary(s, c.unit, c.id);
  return s.mean > 0 ? `+${text}` : text.replace(/^-/, '−');
}

/** Head and rows of the paired table over `columns`. */
export function pairedTable(
  t: ScenarioTable,
  columns: readonly MetricInfo[],
): { head: string[]; rows: { name: string; cells: string[] }[] } {
  return {
    head: columns.map(
      (c) =>
        `Δ${c.direction === 'match-retrain' ? '|gap| ' : ' '}${shortName(c.id)}${unitSuffix(c.unit, c.id)}`,
    ),
    rows: t.paired.map((p) => ({
      name: `${p.variant} − ${p.base} (${p.seeds} seed${p.seeds === 1 ? '' : 's'})`,
      cells: columns.map((c) => pairedCell(p, c)),
    })),
  };
}

// ─── the tuning protocol ───────────────────────────────────────────────────────────────────────

/** The paragraph and table of how hyper-parameters were chosen (results with a `tuning` block). */
export function tuningTable(t: TuningSummary): { intro: string; head: string[]; rows: string[][] } {
  const dev = `development scenarios ${t.scenarios.join(', ')} × seeds ${t.seeds.join(', ')} (never reported)`;
  const intro =
    t.rule === 'oracle'
      ? `Hyper-parameters chosen by the **oracle** rule: the lowest Avg. Gap to a Retrain ensemble on the ${dev}, at most ${t.budget} configurations per method. For comparison only — a user has no Retrain; the rows so chosen are marked (oracle-tuned).`
      : `Hyper-parameters chosen by the **Retrain-free** rule: the lowest mean selection score (ΔD against its held-out twin, |ρ| of a named pattern, drops of RA and of the kept test accuracy against the original; eval/selection.ts) on the ${dev}, at most ${t.budget} configurations per method. No Retrain was trained or read to choose them.`;
  const fmt = (x: number | null) => (x === null ? 'failed' : x.toFixed(3));
  const rows = t.methods.map((m) => {
    const scores = m.trials.map((x) => x.score).filter((x): x is number => x !== null);
    const chosen = m.chosen === null ? null : m.trials[m.chosen];
    const tuned = chosen
      ? searchedPart(
          chosen.params,
          m.trials.map((x) => x.params),
        )
      : {};
    return [
      m.label,
      `${m.trials.length} of ${m.gridSize}`,
      chosen ? describeParams(tuned) : 'none scored: its own params',
      fmt(chosen?.score ?? null),
      scores.length ? `${fmt(Math.min(...scores))} – ${fmt(Math.max(...scores))}` : '—',
    ];
  });
  return { intro, head: ['method', 'trials', 'chosen', 'score', 'range over trials'], rows };
}

/** The parameters that differ between trials: what the search chose. */
function searchedPart(
  params: Record<string, unknown>,
  all: Record<string, unknown>[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params))
    if (all.some((p) => JSON.stringify(p[k]) !== JSON.stringify(v))) out[k] = v;
  return out;
}

function describeParams(p: Record<string, unknown>): string {
  const parts = Object.entries(p).map(([k, v]) => `${k} ${JSON.stringify(v)}`);
  return parts.length ? parts.join(', ') : '(one trial)';
}
