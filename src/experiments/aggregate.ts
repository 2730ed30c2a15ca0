/**
 * From results to tables: per scenario, one row per method (Retrain first, then the original
 * model, then the methods in the experiment's order), one column per metric, each cell the mean ±
 * 95 % interval over seeds (`eval/stats.ts`), and the best method per column marked — best meaning
 * closest to Retrain for match-retrain metrics; each row read against the Retrain ensemble, and
 * each `<id>+uib` against its base seed by seed. Markdown, terminal and HTML reports all read this
 * (how they show it: report/format.ts).
 */

import { compareToEnsemble } from '../eval/ensemble.ts';
import { METRICS } from '../eval/registry.ts';
import { type Summary, summarize } from '../eval/stats.ts';
import { RETRAIN_ID } from '../unlearn/registry.ts';
import type {
  Cell,
  MetricInfo,
  Results,
  ScenarioInfo,
  StoredEvalRecord,
} from './results-schema.ts';

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
    if (label === RETRAIN_ID) continue; // the oracle row above
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
