/**
 * The tuning protocol: the grid and its seeded subsample, the rules of the experiment file
 * (development cells never reported), the choice by the lowest mean score, and one in-process run
 * (tiny MLP) in which the reported cell runs the chosen trial's parameters and no Retrain is
 * trained on the development cells under the Retrain-free rule.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseExperiment } from '../../src/experiments/schema.ts';
import { chooseTrials, gridOf, planTuning } from '../../src/experiments/tuning.ts';

const BIAS = {
  kind: 'bias',
  corruption: 'stripe',
  biasClass: 3,
  rho: 0.9,
  q: 0.02,
  testFraction: 0.5,
};
const DEV = {
  kind: 'bias',
  corruption: 'patch',
  biasClass: 5,
  rho: 0.9,
  q: 0.02,
  testFraction: 0.5,
};

const TINY = {
  name: 'tiny-tuned',
  dataset: { name: 'mnist', trainSubset: 400, testSubset: 200 },
  model: { arch: 'mlp', hidden: [16] },
  training: { optimizer: { name: 'adam', lr: 0.003 }, epochs: 1, batchSize: 32 },
  scenarios: [BIAS],
  methods: [{ id: 'retrain' }, { id: 'ga', params: { epochs: 1 }, search: { lr: [1e-5, 1e-3] } }],
  seeds: [1],
  options: { exampleImages: 0, evalBatchSize: 200, retrainSeeds: 1 },
  tuning: { budget: 2, seeds: [101], scenarios: [DEV] },
};

test('gridOf: the product of the listed values, in the order they are written', () => {
  assert.deepEqual(gridOf({ a: [1, 2], b: ['x', 'y'] }), [
    { a: 1, b: 'x' },
    { a: 1, b: 'y' },
    { a: 2, b: 'x' },
    { a: 2, b: 'y' },
  ]);
  assert.deepEqual(gridOf({}), [{}]);
});

test('planTuning: a grid larger than the budget is subsampled, the same draw every time', () => {
  const exp = parseExperiment(
    {
      ...TINY,
      methods: [{ id: 'ft', search: { lr: [1e-4, 1e-3, 1e-2], epochs: [1, 2] } }],
      tuning: { ...TINY.tuning, budget: 4 },
    },
    'x',
  );
  const methods = [{ label: 'ft', id: 'ft', params: {} }];
  const a = planTuning(exp, methods, 'x')!;
  const b = planTuning(exp, methods, 'x')!;
  const trials = a.trials.get('ft')!;
  assert.equal(trials.length, 4);
  assert.equal(a.gridSizes.get('ft'), 6);
  assert.deepEqual(
    trials.map((t) => t.params),
    b.trials.get('ft')!.map((t) => t.params),
  );
  assert.equal(new Set(trials.map((t) => JSON.stringify(t.params))).size, 4, 'no repeats');
  assert.equal(trials[0].label, 'ft.trial-0');
});

test('the experiment file: development seeds and scenarios must not be reported; search needs tuning', () => {
  const bad = (over: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => parseExperiment({ ...TINY, ...over }, 'e.json'), pattern);
  bad(
    { tuning: { ...TINY.tuning, seeds: [1] } },
    /tuning\.seeds\[0\]: seed 1 is also a reported seed/,
  );
  bad(
    { tuning: { ...TINY.tuning, scenarios: [BIAS] } },
    /tuning\.scenarios\[0\]: scenario "bias-stripe-3" is also reported/,
  );
  bad({ tuning: undefined }, /methods\[1\]\.search: needs a `tuning` block/);
  bad(
    { methods: [{ id: 'ga', params: { lr: 1e-3 }, search: { lr: [1e-5] } }] },
    /methods\[0\]\.search\.lr: is also fixed in params\.lr/,
  );
  bad({ methods: [{ id: 'ga' }] }, /tuning: no method has a `search`/);
  // A value the method's schema refuses is named where it is, before any work.
  const exp = parseExperiment({ ...TINY, methods: [{ id: 'ga', search: { lr: [-1] } }] }, 'e.json');
  assert.throws(
    () => planTuning(exp, [{ label: 'ga', id: 'ga', params: {} }], 'e.json'),
    /e\.json: methods\[0\]\.search\.lr: /,
  );
});

test('chooseTrials: lowest mean score wins; a trial with a failed cell is out; ties go to the first', () => {
  const exp = parseExperiment(
    {
      ...TINY,
      methods: [{ id: 'ft', search: { lr: [1e-4, 1e-3, 1e-2] } }],
      tuning: { ...TINY.tuning, budget: 3, seeds: [101, 102] },
    },
    'x',
  );
  const methods = [{ label: 'ft', id: 'ft', params: { lr: 5e-3 } }];
  const plan = planTuning(exp, methods, 'x')!;
  // Trial scores per seed: t0 (0.5, 0.25) → 0.375; t1 (0.1, failed) → out; t2 (0.25, 0.5) → 0.375.
  const table: Record<string, (number | 'fail')[]> = {
    'ft.trial-0': [0.5, 0.25],
    'ft.trial-1': [0.1, 'fail'],
    'ft.trial-2': [0.25, 0.5],
  };
  const { summary, methods: chosen } = chooseTrials(plan, methods, (t, scenario, seed) => {
    const v = table[t.label][seed - 101];
    return {
      scenario,
      seed,
      method: t.label,
      methodId: 'ft',
      params: t.params,
      key: 'k',
      status: v === 'fail' ? 'failed' : 'ok',
      ...(v === 'fail' && { error: 'diverged' }),
      metrics:
        v === 'fail'
          ? null
          : {
              values: { selection: { value: v } },
              notApplicable: {},
              notes: {},
              details: { perClassTestAccuracy: [], perClassForgetAccuracy: [], testConfusion: [] },
            },
      retrain: {},
      cost: null,
      details: {},
      finishedAt: '',
    };
  });
  const m = summary.methods[0];
  assert.equal(m.trials[0].score, 0.375);
  assert.equal(m.trials[1].score, null, 'a failed cell takes the trial out');
  assert.equal(m.trials[2].score, 0.375);
  assert.equal(m.chosen, 0, 'the tie goes to the earlier trial');
  assert.deepEqual(chosen[0].params, plan.trials.get('ft')![0].params);
  assert.equal(m.trials[1].cells[1].reason, 'diverged');
});

test('runExperiment with a tuning block: trials on the development cells, no Retrain there, the chosen params reported', async () => {
  const { initBackend } = await import('../../src/backend/index.ts');
  const { runExperiment } = await import('../../src/experiments/runner.ts');
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-tune-'));
  try {
    const out = path.join(dir, 'out');
    const exp = parseExperiment(TINY, 'tiny');
    const r = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
    const tuning = r.results.tuning!;
    assert.equal(tuning.rule, 'retrain-free');
    const ga = tuning.methods[0];
    assert.equal(ga.trials.length, 2);
    for (const t of ga.trials) assert.equal(typeof t.score, 'number', 'each trial scored');
    assert.notEqual(ga.chosen, null);
    const cell = r.results.cells.find((c) => c.method === 'ga')!;
    assert.deepEqual(cell.params, ga.trials[ga.chosen!].params, 'the reported cell ran the choice');
    assert.equal(ga.params.lr, ga.trials[ga.chosen!].params.lr);
    // Development cells: the original and the trials, no Retrain member.
    const devDir = path.join(out, 'tuning', 'cells', 'bias-patch-5', 'seed-101');
    const files = fs.readdirSync(devDir).sort();
    assert.deepEqual(files, [
      '_original.json',
      '_scenario.json',
      'ga.trial-0.json',
      'ga.trial-1.json',
    ]);
    assert.ok(fs.existsSync(path.join(out, 'tuning.json')));
    // Reported seeds are never in the development store, and the report says how it was tuned.
    assert.ok(!fs.existsSync(path.join(out, 'tuning', 'cells', 'bias-stripe-3')));
    const md = fs.readFileSync(r.files.markdown, 'utf8');
    assert.match(md, /## Tuning/);
    assert.match(md, /Retrain-free/);
    // Resumed: nothing recomputed, the same choice.
    const again = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
    assert.equal(again.computed, 0);
    assert.deepEqual(again.results.tuning, tuning);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
