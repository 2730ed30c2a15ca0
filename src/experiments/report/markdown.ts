/**
 * `results.md` and the terminal table. Per scenario: the metric groups as tables, rows Retrain
 * first, then the original model, then the methods; each cell mean ± 95 % interval over seeds;
 * the best method per column in bold (terminal: `*`).
 */
import { describeEnvironment } from '../../backend/environment.ts';
import { ENSEMBLE_BAND_SDS } from '../../eval/ensemble.ts';
import { aggregate, type Row, type ScenarioTable } from '../aggregate.ts';
import type { MetricInfo, Results } from '../results-schema.ts';
import {
  CLIPPING_NOTE,
  describeScenario,
  directionMark,
  ENSEMBLE_NOTE,
  ensembleTable,
  formatCell,
  groupColumns,
  PAIRED_NOTE,
  pairedTable,
  shortName,
  TERMINAL_COLUMNS,
  tuningTable,
  unitSuffix,
} from './format.ts';

export function renderMarkdown(results: Results): string {
  const tables = aggregate(results);
  const exp = results.experiment as { name?: string; description?: string };
  const out: string[] = [];
  out.push(`# ${exp.name ?? 'experiment'}`);
  out.push('');
  if (exp.description) out.push(exp.description, '');
  out.push(
    `Backend ${describeEnvironment(results.environment)} (addon ${results.environment.addon ? 'on' : 'off'}, tfjs ${results.environment.tfjs}), ${results.environment.cpus} CPU cores, node ${results.environment.node}, uib ${results.environment.uibVersion}.` +
      (results.complete ? '' : ' **Incomplete run**: some cells are missing.'),
  );
  out.push('');
  out.push(legend());
  if (results.tuning) {
    const t = tuningTable(results.tuning);
    out.push('', '## Tuning', '', t.intro, '');
    out.push(
      `| ${t.head.join(' | ')} |`,
      `|:--|${t.head
        .slice(1)
        .map(() => '--')
        .join('|')}|`,
    );
    for (const r of t.rows) out.push(`| ${r.map(escapeMd).join(' | ')} |`);
  }
  for (const t of tables) out.push('', ...scenarioSection(t));
  return `${out.join('\n')}\n`;
}

function legend(): string {
  return [
    'Each cell: mean ± 95 % Student-t interval over seeds (one seed: the value alone); Retrain’s over seeds × the members of its ensemble, each retrained with its own initialisation and data order.',
    CLIPPING_NOTE,
    '↑ higher is better, ↓ lower is better, →R the target is Retrain’s value (best = closest to it).',
    '**Bold**: best unlearning method in the column (Retrain and the original model are references).',
    '† some seeds undefined (left out of the mean); n/a undefined on every seed; — not computed.',
  ].join(' ');
}

function scenarioSection(t: ScenarioTable): string[] {
  const out: string[] = [];
  const counts = t.scenario.seeds[0]?.counts ?? {};
  out.push(`## ${t.scenario.id}`);
  out.push('');
  out.push(
    `${describeScenario(t.scenario.params)} · seeds ${t.seeds.join(', ')} · ` +
      Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  );
  for (const g of groupColumns(t.columns)) {
    out.push('', `### ${g.title}`, '');
    out.push(...markdownTable(t, g.columns));
  }
  if (t.retrainMembers >= 2 && t.ensembleColumns.length > 0) {
    out.push(
      '',
      `### Against the Retrain ensemble (${t.retrainMembers} retrained models per seed)`,
      '',
    );
    out.push(ENSEMBLE_NOTE, '');
    const e = ensembleTable(t, t.ensembleColumns);
    out.push(`| method | ${e.head.join(' | ')} |`);
    out.push(`|:--|${e.head.map(() => '--:').join('|')}|`);
    for (const { row, cells } of e.rows)
      out.push(`| ${escapeMd(rowName(row))} | ${cells.join(' | ')} |`);
  }
  if (t.paired.length > 0) {
    out.push('', '### Paired: each +uib variant against its base method', '', PAIRED_NOTE, '');
    const p = pairedTable(t, t.columns);
    out.push(`| pair | ${p.head.join(' | ')} |`);
    out.push(`|:--|${p.head.map(() => '--:').join('|')}|`);
    for (const { name, cells } of p.rows) out.push(`| ${escapeMd(name)} | ${cells.join(' | ')} |`);
  }
  const failures = t.rows.flatMap((r) =>
    r.failures.map((f) => `${r.label} (seed ${f.seed}): ${f.error}`),
  );
  if (failures.length) out.push('', `Failed: ${failures.join('; ')}.`);
  const na = Object.keys(t.notApplicable);
  if (na.length) out.push('', `Not applicable to this scenario: ${na.join(', ')}.`);
  return out;
}

function header(c: MetricInfo): string {
  return `${shortName(c.id)}${unitSuffix(c.unit, c.id)} ${directionMark(c.direction)}`;
}

function rowName(r: Row): string {
  if (r.kind === 'retrain') return 'retrain (target)';
  if (r.failures.length > 0 && r.failures.length === r.seeds) return `${r.name} (failed)`;
  return r.name;
}

export function markdownTable(t: ScenarioTable, columns: readonly MetricInfo[]): string[] {
  const lines: string[] = [];
  lines.push(`| method | ${columns.map(header).join(' | ')} |`);
  lines.push(`|:--|${columns.map(() => '--:').join('|')}|`);
  for (const r of t.rows) {
    const cells = columns.map((c) => {
      const text = formatCell(r.summaries[c.id], c);
      return t.best[c.id]?.includes(r.label) ? `**${text}**` : text;
    });
    lines.push(`| ${escapeMd(rowName(r))} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The compact table the runner prints: aligned columns, best marked with `*`. */
export function renderTerminal(results: Results): string {
  const out: string[] = [];
  for (const t of aggregate(results)) {
    const columns = t.columns.filter((c) => TERMINAL_COLUMNS.has(c.id));
    const head = ['method', ...columns.map(header)];
    const body = t.rows.map((r) => [
      rowName(r),
      ...columns.map((c) => {
        const text = formatCell(r.summaries[c.id], c);
        return t.best[c.id]?.includes(r.label) ? `${text}*` : text;
      }),
    ]);
    out.push(
      `${t.scenario.id}: ${describeScenario(t.scenario.params)} · seeds ${t.seeds.join(', ')}`,
    );
    out.push(...alignedTable(head, body));
    out.push('');
    const against = t.ensembleColumns.filter((c) => TERMINAL_COLUMNS.has(c.id));
    if (t.retrainMembers >= 2 && against.length > 0) {
      const e = ensembleTable(t, against);
      out.push(
        `against the Retrain ensemble (${t.retrainMembers} per seed): mean z over seeds (seeds within ${ENSEMBLE_BAND_SDS} sd of its mean)`,
      );
      out.push(
        ...alignedTable(
          ['method', ...e.head],
          e.rows.map(({ row, cells }) => [rowName(row), ...cells]),
        ),
      );
      out.push('');
    }
    if (t.paired.length > 0) {
      const p = pairedTable(t, columns);
      out.push('paired, variant − base on the same seeds (→R: Δ distance to Retrain; < 0 closer)');
      out.push(
        ...alignedTable(
          ['pair', ...p.head],
          p.rows.map((r) => [r.name, ...r.cells]),
        ),
      );
      out.push('');
    }
  }
  out.push(
    '* best unlearning method per column (→R: closest to Retrain’s ensemble mean); mean ± 95 % interval over seeds (Retrain: seeds × ensemble members), clipped to the metric’s range as [low, high]',
  );
  return `${out.join('\n')}\n`;
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned. */
export function alignedTable(head: string[], body: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i]))));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === 0 ? c + ' '.repeat(widths[i] - width(c)) : ' '.repeat(widths[i] - width(c)) + c,
      )
      .join('  ');
  return [fmt(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(fmt)];
}

/** Display width: code points (every character used here is one column wide). */
function width(s: string): number {
  return [...s].length;
}
