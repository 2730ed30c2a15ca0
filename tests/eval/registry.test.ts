import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUsageError } from '../../src/core/errors.ts';
import { avgGap } from '../../src/eval/distance.ts';
import { evaluateAll } from '../../src/eval/evaluate.ts';
import {
  CHART_METRIC_IDS,
  columnName,
  DEFAULT_METRIC_IDS,
  getMetric,
  METRIC_GROUPS,
  METRIC_IDS,
  METRICS,
  TERMINAL_METRIC_IDS,
} from '../../src/eval/registry.ts';
import type { EvalInput, SetPredictions } from '../../src/eval/types.ts';
import { near, setOf } from './helpers.ts';

test('registry: one entry per id, in METRIC_IDS order, kebab-case, each documented', () => {
  assert.deepEqual(
    METRICS.map((m) => m.id),
    [...METRIC_IDS],
  );
  for (const m of METRICS) {
    assert.match(m.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(m.summary.length > 10 && !m.summary.includes('\n'));
    assert.ok(['higher', 'lower', 'match-retrain'].includes(m.direction));
  }
  for (const id of [
    'ua',
    'ra',
    'ta',
    'test-f1',
    'mia-efficacy',
    'bias-correlation',
    'js-test',
    'avg-gap',
  ]) {
    assert.ok(DEFAULT_METRIC_IDS.includes(getMetric(id).id));
  }
  assert.ok(!DEFAULT_METRIC_IDS.includes('mia-entropy')); // optional: one more SVC fit
  assert.throws(
    () => getMetric('mia'),
    (e: unknown) =>
      isUsageError(e) && /unknown metric "mia"; must be one of ua, ra/.test(e.message),
  );
});

test('registry: the report vocabulary (groups, columns, terminal and chart sets) comes from the entries', () => {
  for (const m of METRICS) assert.ok(METRIC_GROUPS.includes(m.group), m.id);
  const columns = METRICS.map((m) => m.column);
  assert.equal(new Set(columns).size, columns.length, 'column headers are unique');
  for (const m of METRICS) {
    assert.ok(m.column.length > 0 && !m.column.includes('\n'), m.id);
    assert.equal(columnName(m.id), m.column);
  }
  assert.deepEqual(
    ['ua', 'mia-efficacy', 'bias-correlation', 'js-forget', 'avg-gap'].map(columnName),
    ['UA', 'MIA', 'ρ', 'JS ΔD', 'Avg.Gap'],
  );
  assert.equal(columnName('not-a-metric'), 'not-a-metric'); // a results file of another version
  // The columns of both the terminal table and the charts, then each one's own.
  const both = [
    'ua',
    'ra',
    'ta',
    'mia-efficacy',
    'bias-correlation',
    'bias-recall',
    'asr',
    'group-acc-gap',
  ];
  assert.deepEqual(TERMINAL_METRIC_IDS, [...both, 'js-test', 'avg-gap', 'time-ms', 'speed-up']);
  assert.deepEqual(CHART_METRIC_IDS, [...both, 'js-forget', 'avg-gap']);
  // Stored values are keyed by metric versions: only the selection score has been bumped.
  assert.deepEqual(
    METRICS.filter((m) => m.version !== undefined).map((m) => [m.id, m.version]),
    [['selection', 2]],
  );
});

test('registry: behaviour metrics target Retrain; distances and costs are lower-better; ranges', () => {
  const dir = Object.fromEntries(METRICS.map((m) => [m.id, m.direction]));
  // Any property of the unlearned model's behaviour is judged by its gap to Retrain: an extreme
  // would reward keeping ΔD (a higher TA / recall(k) on test data that still holds ΔD's class or
  // pattern, a lower group gap than Retrain's) or overshooting (ASR 0 by never predicting it).
  const behaviour = METRICS.filter((m) => m.unit === 'fraction' || m.unit === 'correlation');
  assert.ok(behaviour.length >= 17);
  for (const m of behaviour) assert.equal(m.direction, 'match-retrain', m.id);
  for (const id of ['js-test', 'js-forget', 'weight-l2', 'avg-gap', 'time-ms', 'grad-evals'])
    assert.equal(dir[id], 'lower', id);
  assert.equal(dir['speed-up'], 'higher');
  assert.equal(dir.tow, 'higher');
  assert.deepEqual([getMetric('tow').min, getMetric('tow').max], [0, 1]);
  // Every metric has a least value; rates, JS in bits and correlations also a greatest.
  for (const m of METRICS) assert.ok(m.min !== undefined && m.min <= 0, m.id);
  for (const m of [...behaviour, getMetric('js-test'), getMetric('js-forget')])
    assert.equal(m.max, 1, m.id);
  for (const id of ['bias-correlation', 'bias-delta-p']) assert.equal(getMetric(id).min, -1, id);
  assert.equal(getMetric('ua').min, 0);
  assert.deepEqual([getMetric('avg-gap').min, getMetric('avg-gap').max], [0, 100]);
  assert.equal(getMetric('time-ms').max, undefined);
});

/** Rows that put `p` on the predicted class and spread the rest over the other two. */
const rows = (pred: number[], p = 0.8) =>
  pred.map((c) => [0, 1, 2].map((j) => (j === c ? p : (1 - p) / 2)));

// forget: labels 0 1 2 0, predicted 0 1 0 0 → acc 3/4, UA = 1/4
const forget = setOf(rows([0, 1, 0, 0], 0.9), [0, 1, 2, 0]);
// retain: 8 samples, 6 right → RA = 3/4
const retain = setOf(rows([0, 1, 2, 0, 1, 2, 1, 1], 0.9), [0, 1, 2, 0, 1, 2, 0, 0]);
// test: 5 samples, 3 right → TA = 3/5
const testSet = setOf(rows([0, 1, 2, 2, 2], 0.6), [0, 1, 2, 0, 1]);
// biased test, k = 2: ŷ=2 → 1 1 0 0, b = 1 1 0 0 → ρ = 1, ΔP = 1
const biasedTest = setOf(rows([2, 2, 0, 1]), [2, 0, 0, 1], { bias: [1, 1, 0, 0] });

const base = (sets: Partial<EvalInput['sets']> = {}): EvalInput => ({
  sets: { forget, retain, test: testSet, ...sets },
  seed: 1,
});

test('evaluateAll: accuracy family, attacks with their meaning, not-applicable reasons', async () => {
  const r = await evaluateAll(base());
  near(r.values.ua!.value, 1 / 4);
  near(r.values.ra!.value, 3 / 4);
  near(r.values.ta!.value, 3 / 5);
  const mia = r.values['mia-efficacy']!.value!;
  assert.ok(mia >= 0 && mia <= 1);
  assert.match(String(r.notes['mia-efficacy']!.meaning), /non-member/);
  assert.ok('mia-loss-lr' in r.values);
  assert.equal(r.values['bias-correlation'], undefined);
  assert.match(
    r.notApplicable['bias-correlation']!,
    /no biased test set; scenario names no bias class/,
  );
  assert.match(r.notApplicable['avg-gap']!, /no Retrain/);
  assert.ok(!('mia-entropy' in r.values) && !('mia-entropy' in r.notApplicable));
  assert.deepEqual(r.details.perClassTestAccuracy, [1 / 2, 1 / 2, 1]);
  assert.deepEqual(r.details.testConfusion, [
    [1, 0, 1],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  // Keys follow registry order (the report's column order).
  const order = Object.keys(r.values);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => METRIC_IDS.indexOf(a as never) - METRIC_IDS.indexOf(b as never)),
  );
});

test('evaluateAll: bias, cost, weights and distance to Retrain', async () => {
  const retrainSets = {
    forget: setOf(rows([2, 1, 1, 0], 0.9), [0, 1, 2, 0]), // 2 of 4 right → UA = 1/2
    retain,
    test: testSet,
  };
  const retrainRecord = await evaluateAll({ sets: retrainSets, seed: 1 });
  const input: EvalInput = {
    ...base({ biasedTest }),
    scenario: { biasClass: 2 },
    retrain: { sets: retrainSets, record: retrainRecord },
    weights: { model: [[1, 2], [3]], retrain: [[1, 2], [7]] },
    cost: { timeMs: 50, gradEvals: 400, epochsTouched: 0.25, retrainTimeMs: 1000 },
  };
  const r = await evaluateAll(input);
  near(r.values['bias-correlation']!.value, 1);
  near(r.values['bias-delta-p']!.value, 1);
  near(r.values['bias-recall']!.value, 1); // the one label-2 sample is predicted 2
  near(r.values['bias-pred-share']!.value, 1 / 2);
  near(r.values['js-test']!.value, 0); // same test predictions as Retrain
  const jsForget = r.values['js-forget']!.value!;
  assert.ok(jsForget > 0 && jsForget < 1);
  near(r.values['weight-l2']!.value, 4);
  near(r.values['speed-up']!.value, 20);
  near(r.values['grad-evals']!.value, 400);
  // Avg. Gap from the two records' UA / RA / TA / MIA, in pp
  const four = (rec: typeof r) => ({
    ua: rec.values.ua!,
    ra: rec.values.ra!,
    ta: rec.values.ta!,
    'mia-efficacy': rec.values['mia-efficacy']!,
  });
  near(r.values['avg-gap']!.value, avgGap(four(r), four(retrainRecord)).value!);
  // UA gap alone: |1/4 − 2/4| = 25 pp, so Avg. Gap ≥ 25/4
  assert.ok(r.values['avg-gap']!.value! >= 25 / 4 - 1e-9);
  // ToW = Π (1 − |acc − acc_R|) over ΔD (1 − UA), D_r, test, from the same two records.
  const acc = (rec: typeof r, id: 'ua' | 'ra' | 'ta') =>
    id === 'ua' ? 1 - rec.values.ua!.value! : rec.values[id]!.value!;
  const tow = (['ua', 'ra', 'ta'] as const).reduce(
    (p, id) => p * (1 - Math.abs(acc(r, id) - acc(retrainRecord, id))),
    1,
  );
  near(r.values.tow!.value, tow);
  assert.ok(tow < 0.75 + 1e-9, 'the ΔD accuracy gap of 1/4 alone caps it at 3/4');
});

test('evaluateAll computes what a requested metric depends on without reporting it', async () => {
  const retrainRecord = await evaluateAll({ sets: base().sets, seed: 1 });
  const r = await evaluateAll(
    { ...base(), retrain: { sets: base().sets, record: retrainRecord } },
    { metrics: ['avg-gap'] },
  );
  assert.deepEqual(Object.keys(r.values), ['avg-gap']);
  near(r.values['avg-gap']!.value, 0);
});

test('undefined metrics carry a reason, never NaN', async () => {
  const allTwo: SetPredictions = setOf(rows([0, 0, 0, 0]), [2, 0, 0, 1], { bias: [1, 1, 0, 0] });
  const r = await evaluateAll(
    { ...base({ biasedTest: allTwo }), scenario: { biasClass: 2 } },
    { metrics: ['bias-correlation', 'bias-recall'] },
  );
  assert.equal(r.values['bias-correlation']!.value, null);
  assert.match(r.values['bias-correlation']!.reason!, /never predicts class 2/);
  near(r.values['bias-recall']!.value, 0);
});
