/**
 * From results to tables: per scenario, one row per method (Retrain first, then the original
 * model, then the methods in the experiment's order), one column per metric, each cell the mean ±
 * 95 % interval over seeds (`eval/stats.ts`), and the best method per column marked — best meaning
 * closest to Retrain for match-retrain metrics. Markdown, terminal and HTML reports all read this.
 * Displayed intervals are clipped to the metric's range (an accuracy's t-interval can run past
 * 100 %); the summaries and results.json keep the raw values.
 */

import { compareToEnsemble, ENSEMBLE_BAND_SDS } from '../eval/ensemble.ts';
import { METRIC_GROUPS, METRICS, type MetricGroup } from '../eval/registry.ts';
import { type Summary, summarize } from '../eval/stats.ts';
import type {
  Cell,
  MetricInfo,
  Results,
  ScenarioInfo,
  StoredEvalRecord,
  TuningSummary,
} from './schema.ts';

export type RowKind = 'retrain' | 'original' | 'method';

export interface Row {
  /** Method label (`retrain`, `original`, `ft`, `ft+uib`...). */
  label: string;
  /** What the tables show: the label, marked `(oracle-tuned)` where the oracle rule chose it. */
  name: string;
  kind: RowKind;
  /** Per metric id. */
  summaries: Record<string, Summary>;
  /** Per-class test accuracy averaged over seeds (null where a class had no samples). */
  perClassTestAccuracy: (number | null)[];
  /** Seeds present / failed (failed ones with their reasons). */
  seeds: number;
  failures: { seed: number; error: string }[];
  /** The row read against the Retrain ensemble, per seed (absent for Retrain itself). */
  ensemble?: EnsembleRead;
}

/**
 * A row against the Retrain ensemble (eval/ensemble.ts): per metric, the z-score of each seed's
 * value against that seed's ensemble (summarised over seeds) and how many seeds fall inside its
 * band; overall, the share of (seed, metric) pairs inside — "indistinguishable from Retrain".
 */
export interface EnsembleRead {
  z: Record<string, Summary>;
  inside: Record<string, { inside: number; of: number }>;
  indistinguishable: { inside: number; of: number };
}

export interface ScenarioTable {
  scenario: ScenarioInfo;
  seeds: number[];
  /** Metrics with a value in at least one row, in registry order. */
  columns: MetricInfo[];
  rows: Row[];
  /** Labels of the best row(s) per column (empty where no comparison applies). */
  best: Record<string, string[]>;
  /** Reasons a metric is not applicable here (from any record), for footnotes. */
  notApplicable: Record<string, string>;
  /** Retrain ensemble members per seed (the most any seed has). */
  retrainMembers: number;
  /** Each `<id>+uib` row against its base `<id>` row, seed by seed (common random numbers). */
  paired: PairedComparison[];
  /** The columns read against the ensemble: match-retrain metrics and distances to Retrain. */
  ensembleColumns: MetricInfo[];
}

/**
 * A variant against its base on the same seeds, which (common random numbers) see the same
 * batches and labels: per metric, the per-seed difference summarised over seeds (mean ± 95 %
 * interval). For a match-retrain metric the difference is of the distance to Retrain's target,
 * |x_variant − t| − |x_base − t|, so that negative means closer to Retrain; otherwise it is
 * x_variant − x_base.
 */
export interface PairedComparison {
  variant: string;
  base: string;
  seeds: number;
  diffs: Record<string, Summary>;
}

/**
 * Metrics with a Retrain to read against, and which side of the band is outside: its target
 * (match-retrain, both sides), a distance to it (↓: above), an agreement with it (↑: below).
 */
function againstRetrain(m: MetricInfo): 'both' | 'upper' | 'lower' | null {
  if (m.direction === 'match-retrain') return 'both';
  const needs = METRICS.find((x) => x.id === m.id)?.needs ?? [];
  if (!needs.includes('retrain') && !needs.includes('weights')) return null;
  return m.direction === 'higher' ? 'lower' : 'upper';
}

export function aggregate(results: Results): ScenarioTable[] {
  return results.scenarios.map((scenario) => aggregateScenario(results, scenario));
}

function aggregateScenario(results: Results, scenario: ScenarioInfo): ScenarioTable {
  const seeds = scenario.seeds.map((s) => s.seed);
  const refs = results.references.filter((r) => r.scenario === scenario.id);
  const cells = results.cells.filter((c) => c.scenario === scenario.id);
  const notApplicable: Record<string, string> = {};
  // Hyper-parameters chosen against Retrain are labelled as such wherever the row is shown.
  const oracleTuned = new Set(
    results.tuning?.rule === 'oracle' ? results.tuning.methods.map((m) => m.label) : [],
  );

  const rowOf = (label: string, kind: RowKind, records: StoredEvalRecord[], failed: Cell[]) => {
    for (const r of records) Object.assign(notApplicable, r.notApplicable);
    const summaries: Record<string, Summary> = {};
    for (const m of results.metrics) {
      // A metric missing from a record was not computed (—); one present as null is undefined (n/a).
      const present = records.filter((r) => m.id in r.values);
      summaries[m.id] = summarize(present.map((r) => r.values[m.id].value));
    }
    return {
      label,
      name: oracleTuned.has(label) ? `${label} (oracle-tuned)` : label,
      kind,
      summaries,
      perClassTestAccuracy: meanPerClass(records.map((r) => r.details.perClassTestAccuracy)),
      seeds: records.length + failed.length,
      failures: failed.map((c) => ({ seed: c.seed, error: c.error ?? 'failed' })),
    } satisfies Row;
  };

  const rows: Row[] = [];
  const refRecords = (role: 'original' | 'retrain') =>
    refs.filter((r) => r.role === role).map((r) => r.metrics);
  rows.push(rowOf('retrain', 'retrain', refRecords('retrain'), []));
  rows.push(rowOf('original', 'original', refRecords('original'), []));
  for (const label of results.methods) {
    if (label === 'retrain') continue; // the oracle row above
    const mine = cells.filter((c) => c.method === label);
    if (mine.length === 0) continue;
    const ok = mine.filter((c) => c.status === 'ok' && c.metrics);
    rows.push(
      rowOf(
        label,
        'method',
        ok.map((c) => c.metrics as StoredEvalRecord),
        mine.filter((c) => c.status === 'failed'),
      ),
    );
  }

  const columns = results.metrics.filter((m) => rows.some((r) => r.summaries[m.id].mean !== null));
  for (const c of columns) delete notApplicable[c.id];
  const retrainRow = rows[0];
  const best: Record<string, string[]> = {};
  for (const c of columns) best[c.id] = bestRows(c, rows, retrainRow);

  // Each row against each seed's Retrain ensemble.
  const members = (seed: number) => refs.filter((r) => r.role === 'retrain' && r.seed === seed);
  const retrainMembers = Math.max(0, ...seeds.map((s) => members(s).length));
  const ensembleColumns = columns.filter((c) => againstRetrain(c) !== null);
  const recordsOf = (row: Row): { seed: number; record: StoredEvalRecord }[] =>
    row.kind === 'original'
      ? refs.filter((r) => r.role === 'original').map((r) => ({ seed: r.seed, record: r.metrics }))
      : cells
          .filter((c) => c.method === row.label && c.status === 'ok' && c.metrics)
          .map((c) => ({ seed: c.seed, record: c.metrics as StoredEvalRecord }));
  for (const row of rows) {
    if (row.kind === 'retrain') continue;
    const z: Record<string, Summary> = {};
    const inside: Record<string, { inside: number; of: number }> = {};
    const all = { inside: 0, of: 0 };
    for (const c of ensembleColumns) {
      const zs: (number | null)[] = [];
      const count = { inside: 0, of: 0 };
      for (const { seed, record } of recordsOf(row)) {
        const cmp = compareToEnsemble(
          record.values[c.id]?.value ?? null,
          members(seed).map((m) => m.metrics.values[c.id]?.value ?? null),
          againstRetrain(c) as 'both' | 'upper' | 'lower',
        );
        if (!cmp) continue;
        zs.push(cmp.z);
        if (cmp.inside !== null) {
          count.of++;
          if (cmp.inside) count.inside++;
        }
      }
      z[c.id] = summarize(zs);
      inside[c.id] = count;
      all.inside += count.inside;
      all.of += count.of;
    }
    row.ensemble = { z, inside, indistinguishable: all };
  }
  const paired = pairedComparisons(results.metrics, cells);
  return {
    scenario,
    seeds,
    columns,
    rows,
    best,
    notApplicable,
    retrainMembers,
    ensembleColumns,
    paired,
  };
}

function pairedComparisons(
  metrics: readonly MetricInfo[],
  cells: readonly Cell[],
): PairedComparison[] {
  const ok = cells.filter((c) => c.status === 'ok' && c.metrics);
  const labels = [...new Set(ok.map((c) => c.method))];
  const out: PairedComparison[] = [];
  for (const variant of labels) {
    const vCells = ok.filter((c) => c.method === variant);
    const id = vCells[0].methodId;
    if (!id.endsWith('+uib')) continue;
    const base = id.slice(0, -'+uib'.length);
    // The base run under its plain id (a label of its own would be another configuration).
    const bCells = ok.filter((c) => c.method === base && c.methodId === base);
    const pairs = vCells
      .map((v) => ({ v, b: bCells.find((b) => b.seed === v.seed) }))
      .filter((p): p is { v: Cell; b: Cell } => p.b !== undefined);
    if (pairs.length === 0) continue;
    const diffs: Record<string, Summary> = {};
    for (const m of metrics) {
      diffs[m.id] = summarize(
        pairs.map(({ v, b }) => {
          const xv = v.metrics!.values[m.id]?.value ?? null;
          const xb = b.metrics!.values[m.id]?.value ?? null;
          if (xv === null || xb === null) return null;
          if (m.direction !== 'match-retrain') return xv - xb;
          const t = v.retrain[m.id]?.value ?? null;
          return t === null ? null : Math.abs(xv - t) - Math.abs(xb - t);
        }),
      );
    }
    out.push({ variant, base, seeds: pairs.length, diffs });
  }
  return out;
}

/**
 * The method rows best in column `c`: highest / lowest mean, or for match-retrain metrics the
 * smallest |mean − Retrain's mean|. Retrain and the original are references, never candidates;
 * with fewer than two candidates nothing is marked.
 */
export function bestRows(c: MetricInfo, rows: readonly Row[], retrain: Row): string[] {
  const target = retrain.summaries[c.id]?.mean ?? null;
  if (c.direction === 'match-retrain' && target === null) return [];
  const scored: { label: string; score: number }[] = [];
  for (const r of rows) {
    if (r.kind !== 'method') continue;
    const m = r.summaries[c.id]?.mean;
    if (m === null || m === undefined) continue;
    const score =
      c.direction === 'higher'
        ? -m
        : c.direction === 'lower'
          ? m
          : Math.abs(m - (target as number));
    scored.push({ label: r.label, score });
  }
  if (scored.length < 2) return [];
  const min = Math.min(...scored.map((s) => s.score));
  const tol = 1e-12 * Math.max(1, Math.abs(min));
  return scored.filter((s) => s.score - min <= tol).map((s) => s.label);
}

function meanPerClass(lists: (number | null)[][]): (number | null)[] {
  const k = Math.max(0, ...lists.map((l) => l.length));
  return Array.from({ length: k }, (_, c) => summarize(lists.map((l) => l[c] ?? null)).mean);
}

// ─── presentation shared by the reports ────────────────────────────────────────────────────────

/** Short column names; ids not listed are shown as they are. */
const SHORT: Record<string, string> = {
  ua: 'UA',
  ra: 'RA',
  ta: 'TA',
  'test-f1': 'F1',
  'mia-efficacy': 'MIA',
  'mia-entropy': 'MIA-ent',
  'mia-m-entropy': 'MIA-ment',
  'mia-loss': 'MIA-loss',
  'mia-loss-lr': 'LR-atk',
  'bias-correlation': 'ρ',
  'bias-delta-p': 'ΔP',
  'bias-recall': 'recall(k)',
  'bias-pred-share': 'P(ŷ=k)',
  asr: 'ASR',
  'group-acc-gap': 'grp-gap',
  'dp-gap': 'DP-gap',
  'eo-gap': 'EO-gap',
  'js-test': 'JS test',
  'js-forget': 'JS ΔD',
  'weight-l2': 'ℓ2 dist',
  'avg-gap': 'Avg.Gap',
  tow: 'ToW',
  'u-lira': 'U-LiRA',
  'challenge-f': 'F',
  'challenge-score': 'score',
  klom: 'KLoM',
  'time-ms': 'time',
  'speed-up': 'speed-up',
  'epochs-touched': 'epochs',
  'grad-evals': 'grad evals',
};

export function shortName(id: string): string {
  return SHORT[id] ?? id;
}

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

/** The compact set the terminal table shows. */
export const TERMINAL_COLUMNS: readonly string[] = METRICS.filter((m) => m.terminal).map(
  (m) => m.id,
);

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
