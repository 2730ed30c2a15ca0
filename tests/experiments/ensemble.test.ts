/**
 * Methods read against the Retrain ensemble: a hand-made results object with three Retrain
 * members per seed, checked by hand — z-scores, seeds inside the band, the one-sided reading of
 * distances, and the table in every report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate } from '../../src/experiments/aggregate.ts';
import { ensembleCell } from '../../src/experiments/report/format.ts';
import { renderHtml } from '../../src/experiments/report/html.ts';
import { renderMarkdown, renderTerminal } from '../../src/experiments/report/markdown.ts';
import type { Reference, Results } from '../../src/experiments/results-schema.ts';
import { handMadeResults } from './fixture.ts';

/** The hand-made results with Retrain members 1 and 2 per seed: UA +0.02 and +0.04, JS to member 0 0.02 and 0.04. */
function withEnsemble(): Results {
  const r = handMadeResults();
  const extra: Reference[] = [];
  for (const ref of r.references.filter((x) => x.role === 'retrain')) {
    for (const member of [1, 2]) {
      const copy = structuredClone(ref);
      copy.member = member;
      copy.metrics.values.ua = { value: (ref.metrics.values.ua.value as number) + 0.02 * member };
      copy.metrics.values['js-test'] = { value: 0.02 * member };
      extra.push(copy);
    }
  }
  r.references.push(...extra);
  return r;
}

const near = (a: number | null | undefined, b: number, what: string) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test('z against each seed’s ensemble, by hand; inside counts; distances one-sided', () => {
  const [t] = aggregate(withEnsemble());
  assert.equal(t.retrainMembers, 3);
  const row = (label: string) => t.rows.find((x) => x.label === label)!;
  // Per seed i the members' UA are 0.10 + 0.01i + {0, 0.02, 0.04}: mean 0.12 + 0.01i, sd 0.02.
  // UIB-IF's UA 0.12: z = 0, −0.5, −1 → mean −0.5, all inside ±2 sd.
  near(row('uib-if').ensemble!.z.ua.mean, -0.5, 'uib-if z(UA)');
  assert.deepEqual(row('uib-if').ensemble!.inside.ua, { inside: 3, of: 3 });
  // FT's UA 0.02: z = −5, −5.5, −6 → mean −5.5, none inside.
  near(row('ft').ensemble!.z.ua.mean, -5.5, 'ft z(UA)');
  assert.deepEqual(row('ft').ensemble!.inside.ua, { inside: 0, of: 3 });
  assert.equal(
    ensembleCell(row('ft'), t.ensembleColumns.find((c) => c.id === 'ua')!),
    '−5.5 (0/3)',
  );
  // JS to member 0: members 1, 2 give 0.02, 0.04 (mean 0.03, sd 0.01414); one-sided band up to
  // 0.0583. GA's 0.3 is outside; FT's 0.02 and UIB-IF's 0.01 (closer than another Retrain) inside.
  assert.deepEqual(row('ga').ensemble!.inside['js-test'], { inside: 0, of: 3 });
  assert.deepEqual(row('ft').ensemble!.inside['js-test'], { inside: 3, of: 3 });
  near(row('uib-if').ensemble!.z['js-test'].mean, -0.02 / (0.02 / Math.SQRT2), 'uib-if z(JS)');
  assert.deepEqual(row('uib-if').ensemble!.inside['js-test'], { inside: 3, of: 3 });
  // Cost columns are not read against Retrain; Retrain's own row has no ensemble reading.
  assert.ok(!t.ensembleColumns.some((c) => ['time-ms', 'speed-up', 'grad-evals'].includes(c.id)));
  assert.equal(row('retrain').ensemble, undefined);
  // The Retrain row's spread is the ensemble's: UA over 3 members × 3 seeds.
  assert.equal(row('retrain').summaries.ua.n, 9);
});

test('every report shows the ensemble table; one Retrain (K = 1) shows none', async () => {
  const r = withEnsemble();
  const md = renderMarkdown(r);
  assert.match(md, /### Against the Retrain ensemble \(3 retrained models per seed\)/);
  assert.match(md, /\| ft \| −5\.5 \(0\/3\) \|/);
  assert.match(renderTerminal(r), /against the Retrain ensemble \(3 per seed\)/);
  assert.match(await renderHtml(r), /<table class="results ensemble">/);
  const single = handMadeResults();
  assert.doesNotMatch(renderMarkdown(single), /Against the Retrain ensemble/);
});

test('paired: ft+uib against ft seed by seed; →R columns as the change of the distance to the target', async () => {
  const r = handMadeResults();
  for (const c of r.cells.filter((x) => x.method === 'ft')) {
    const v = structuredClone(c);
    v.method = 'ft+uib';
    v.methodId = 'ft+uib';
    v.metrics!.values.ua = { value: 0.08 };
    v.metrics!.values['js-test'] = { value: 0.03 };
    r.cells.push(v);
  }
  r.methods.push('ft+uib');
  const [t] = aggregate(r);
  assert.equal(t.paired.length, 1);
  const p = t.paired[0];
  assert.deepEqual([p.variant, p.base, p.seeds], ['ft+uib', 'ft', 3]);
  // Targets 0.10, 0.11, 0.12 (Retrain per seed): |0.08 − t| − |0.02 − t| = −0.06 on every seed.
  near(p.diffs.ua.mean, -0.06, 'Δ|gap| UA');
  near(p.diffs.ua.sd, 0, 'sd');
  near(p.diffs['js-test'].mean, 0.01, 'Δ JS');
  assert.equal(p.diffs.ra.mean, 0, 'unchanged columns differ by 0');
  const md = renderMarkdown(r);
  assert.match(md, /### Paired: each \+uib variant against its base method/);
  assert.match(md, /\| ft\+uib − ft \(3 seeds\) \| −6\.0 ± 0\.0 \|/);
  assert.match(renderTerminal(r), /paired, variant − base/);
  assert.match(await renderHtml(r), /<table class="results paired">/);
});
