/**
 * results.md and the terminal table on a hand-made results object: mean ± 95 % interval computed
 * by hand, Retrain first, the best method per column in bold (closest to Retrain for
 * match-retrain metrics), undefined seeds flagged, the terminal columns aligned.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../src/eval/stats.ts';
import { aggregate, bestRows } from '../../src/experiments/aggregate.ts';
import { formatSummary } from '../../src/experiments/report/format.ts';
import { renderMarkdown, renderTerminal } from '../../src/experiments/report/markdown.ts';
import { metricBarSpec } from '../../src/experiments/report/plots.ts';
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
  const ra = header(md, 'Forgetting and utility').indexOf('RA % →R');
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
  // RA is compared with Retrain too (99.0): ft 98.5 is closer than uib-if 98.0 and ga 70.
  assert.ok(bold('ft', 'RA % →R'));
  assert.ok(!bold('uib-if', 'RA % →R'));
  // recall(k): the bold goes to the value closest to Retrain's 90 % (ft 92), not the highest
  // (uib-if 93), which would reward keeping what ΔD taught.
  assert.ok(bold('ft', 'recall(k) % →R', 'Bias, backdoor and subgroups'));
  assert.ok(!bold('uib-if', 'recall(k) % →R', 'Bias, backdoor and subgroups'));
  // Higher is better: ga has the largest speed-up.
  assert.ok(bold('ga', 'speed-up × ↑', 'Distance to Retrain and cost'));
  // ρ: Retrain −0.200; uib-if −0.190 is closest; ga's −0.100 mean is over 2 seeds (†).
  assert.ok(bold('uib-if', 'ρ →R', 'Bias, backdoor and subgroups'));
  assert.equal(row(md, 'Bias, backdoor and subgroups', 'ga')[0], '-0.100 ± 0.000 †');
  // Lower is better: ga is fastest; references are never marked.
  assert.ok(bold('ga', 'time s ↓', 'Distance to Retrain and cost'));
  assert.ok(!bold('retrain (target)', 'time s ↓', 'Distance to Retrain and cost'));
  assert.ok(!bold('original', 'RA % →R'), 'the original (99.5) is a reference, not a candidate');
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

/** The hand-made results with GA's UA over the seeds set to `uas`. */
function withGaUa(uas: number[]) {
  const r = handMadeResults();
  for (const c of r.cells) {
    if (c.method === 'ga') c.metrics!.values.ua = { value: uas[c.seed - 1] };
  }
  return r;
}

test('bounded metrics: the shown interval is clipped to the range; the summary keeps it raw', () => {
  // GA UA 0, 0, 0.3 → mean 10.0 %, s = 17.32 pp, half-width 4.302653 · 17.32 / √3 = 43.03 pp:
  // the raw interval is [−33.0, 53.0] %; shown clipped to [0.0, 53.0].
  const r = withGaUa([0, 0, 0.3]);
  const md = renderMarkdown(r);
  const ua = header(md, 'Forgetting and utility').indexOf('UA % →R');
  const plain = (cell: string) => cell.replace(/\*\*/g, ''); // GA's 10 % is now the closest: bold
  assert.equal(plain(row(md, 'Forgetting and utility', 'ga')[ua]), '10.0 [0.0, 53.0]');
  assert.match(md, /clipped to it and shown as \[low, high\]/);
  const [t] = aggregate(r);
  const raw = t.rows.find((x) => x.label === 'ga')!.summaries.ua;
  assert.ok(Math.abs((raw.lo as number) + 0.3303) < 1e-4, `raw lo ${raw.lo}`);
  // The plot's error bar is clipped the same way (in %).
  const spec = metricBarSpec(t, t.columns.find((c) => c.id === 'ua')!) as unknown as {
    data: { values: { method: string; lo: number; hi: number }[] };
  };
  const bar = spec.data.values.find((v) => v.method === 'ga')!;
  assert.equal(bar.lo, 0);
  assert.ok(Math.abs(bar.hi - 53.03) < 0.01, `hi ${bar.hi}`);
  // Same at the top: 1, 1, 0.7 → [47.0, 100.0]; an interval inside the range keeps ± form.
  const top = renderMarkdown(withGaUa([1, 1, 0.7]));
  assert.equal(plain(row(top, 'Forgetting and utility', 'ga')[ua]), '90.0 [47.0, 100.0]');
  assert.equal(row(top, 'Forgetting and utility', 'retrain (target)')[ua], '11.0 ± 2.5');
  assert.match(renderTerminal(r), /10\.0 \[0\.0, 53\.0\]/);
  // Results written before ranges were recorded: the registry's range applies.
  const old = withGaUa([0, 0, 0.3]);
  old.metrics = old.metrics.map(({ min: _min, max: _max, ...m }) => m);
  const oldMd = renderMarkdown(old);
  assert.equal(plain(row(oldMd, 'Forgetting and utility', 'ga')[ua]), '10.0 [0.0, 53.0]');
});

test('formatSummary: a signed range is not clipped at 0; no range, no clipping', () => {
  const s = summarize([-0.05, 0.02, -0.02]); // mean −0.0167, interval about ±0.087
  assert.match(formatSummary(s, 'fraction', 'bias-delta-p', { min: -1, max: 1 }), /^-1\.7 ± 8\.7$/);
  assert.match(formatSummary(s, 'fraction', 'x'), /^-1\.7 ± 8\.7$/);
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
