/**
 * results.md and the terminal table on a hand-made results object: mean ± 95 % interval computed
 * by hand, Retrain first, the best method per column in bold (closest to Retrain for
 * match-retrain metrics), undefined seeds flagged, the terminal columns aligned.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate, bestRows } from '../../src/experiments/aggregate.ts';
import { renderMarkdown, renderTerminal } from '../../src/experiments/report/markdown.ts';
import { handMadeResults } from './fixture.ts';

/** The cells of the markdown table row starting with `| name |` in the table under `### title`. */
function row(md: string, title: string, name: string): string[] {
  const section = md.split(`### ${title}`)[1].split('###')[0];
  const line = section.split('\n').find((l) => l.startsWith(`| ${name} |`));
  assert.ok(line, `row ${name} in ${title}`);
  return line
    .split('|')
    .slice(2, -1)
    .map((s) => s.trim());
}

function header(md: string, title: string): string[] {
  const section = md.split(`### ${title}`)[1];
  const line = section.split('\n').find((l) => l.startsWith('| method'));
  return (line as string)
    .split('|')
    .slice(2, -1)
    .map((s) => s.trim());
}

test('results.md: mean ± 95 % t-interval, worked by hand', () => {
  const md = renderMarkdown(handMadeResults());
  // Retrain UA over seeds: 0.10, 0.11, 0.12 → mean 11.0 %, s = 1 pp, t(0.975, 2) = 4.302653,
  // half-width = 4.302653 · 1 / √3 = 2.484 pp.
  const ua = header(md, 'Forgetting and utility').indexOf('UA % →R');
  assert.equal(row(md, 'Forgetting and utility', 'retrain (target)')[ua], '11.0 ± 2.5');
  // Retrain time: 10, 11, 12 s → 11.0 ± 2.48 s.
  const time = header(md, 'Distance to Retrain and cost').indexOf('time s ↓');
  assert.equal(row(md, 'Distance to Retrain and cost', 'retrain (target)')[time], '11.0 ± 2.48');
  // FT RA: 0.980, 0.985, 0.990 → 98.5 ± 1.2 (s = 0.5 pp, 4.302653 · 0.5 / √3 = 1.242).
  const ra = header(md, 'Forgetting and utility').indexOf('RA % ↑');
  assert.equal(row(md, 'Forgetting and utility', 'ft')[ra], '**98.5 ± 1.2**');
});

test('results.md: Retrain row first, then the original, then the methods in order', () => {
  const md = renderMarkdown(handMadeResults());
  for (const title of [
    'Forgetting and utility',
    'Bias, backdoor and subgroups',
    'Distance to Retrain and cost',
  ]) {
    const section = md.split(`### ${title}`)[1].split('###')[0];
    const names = section
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| method'))
      .map((l) => l.split('|')[1].trim());
    assert.deepEqual(names, ['retrain (target)', 'original', 'ft', 'ga', 'uib-if']);
  }
});

test('results.md: the best method per column is bold; match-retrain means closest to Retrain', () => {
  const md = renderMarkdown(handMadeResults());
  const h = header(md, 'Forgetting and utility');
  const bold = (name: string, col: string, title = 'Forgetting and utility') => {
    const cells = row(md, title, name);
    const idx = header(md, title).indexOf(col);
    assert.ok(idx >= 0, `column ${col} in ${h.join(', ')}`);
    return cells[idx].startsWith('**');
  };
  // UA: Retrain 11 %; uib-if 12 % is closest (ft 2 %, ga 50 %) although ga is the largest.
  assert.ok(bold('uib-if', 'UA % →R'));
  assert.ok(!bold('ga', 'UA % →R'));
  // RA (higher is better): ft 98.5 beats uib-if 98.0 and ga 70.
  assert.ok(bold('ft', 'RA % ↑'));
  assert.ok(!bold('uib-if', 'RA % ↑'));
  // ρ: Retrain −0.200; uib-if −0.190 is closest; ga's −0.100 mean is over 2 seeds (†).
  assert.ok(bold('uib-if', 'ρ →R', 'Bias, backdoor and subgroups'));
  assert.equal(row(md, 'Bias, backdoor and subgroups', 'ga')[0], '-0.100 ± 0.000 †');
  // Lower is better: ga is fastest; references are never marked.
  assert.ok(bold('ga', 'time s ↓', 'Distance to Retrain and cost'));
  assert.ok(!bold('retrain (target)', 'time s ↓', 'Distance to Retrain and cost'));
  assert.ok(!bold('original', 'RA % ↑'), 'the original (99.5) is a reference, not a candidate');
  // Not computed for Retrain (distance to itself): —.
  assert.equal(row(md, 'Distance to Retrain and cost', 'retrain (target)')[0], '—');
});

test('bestRows: ties are all marked, a single candidate is not, no Retrain value means no best', () => {
  const [t] = aggregate(handMadeResults());
  const col = t.columns.find((c) => c.id === 'ta')!;
  // TA: uib-if 97.0 is best alone.
  assert.deepEqual(bestRows(col, t.rows, t.rows[0]), ['uib-if']);
  const tied = t.rows.map((r) =>
    r.label === 'ft'
      ? { ...r, summaries: { ...r.summaries, ta: { ...r.summaries.ta, mean: 0.97 } } }
      : r,
  );
  assert.deepEqual(bestRows(col, tied, tied[0]).sort(), ['ft', 'uib-if']);
  const single = t.rows.filter((r) => r.kind !== 'method' || r.label === 'ft');
  assert.deepEqual(bestRows(col, single, single[0]), []);
  const ua = t.columns.find((c) => c.id === 'ua')!;
  const noTarget = {
    ...t.rows[0],
    summaries: { ...t.rows[0].summaries, ua: { ...t.rows[0].summaries.ua, mean: null } },
  };
  assert.deepEqual(bestRows(ua, t.rows, noTarget), []);
});

test('one seed: the value alone, no interval', () => {
  const r = handMadeResults();
  r.references = r.references.filter((x) => x.seed === 1);
  r.cells = r.cells.filter((c) => c.seed === 1);
  r.scenarios[0].seeds = r.scenarios[0].seeds.filter((s) => s.seed === 1);
  const md = renderMarkdown(r);
  assert.equal(row(md, 'Forgetting and utility', 'retrain (target)')[0], '10.0');
  assert.doesNotMatch(md.split('## bias-stripe-3')[1], /±/);
});

test('terminal table: aligned columns, Retrain first, best marked with *', () => {
  const text = renderTerminal(handMadeResults());
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('method'));
  const table = lines.slice(start, start + 7); // header, rule, 5 rows
  const widths = new Set(table.map((l) => [...l].length));
  assert.equal(widths.size, 1, `every line the same width: ${[...widths].join(', ')}`);
  assert.match(table[2], /^retrain \(target\)/);
  assert.match(table[6], /^uib-if .*12\.0 ± 0\.0\*/);
  // Right-aligned numbers: each column's cells end at the same position.
  const header = table[0];
  const uaEnd = header.indexOf('UA % →R') + 'UA % →R'.length;
  for (const l of table.slice(2)) assert.match([...l].slice(0, uaEnd).join(''), /\S$/);
});
