/**
 * The experiment file: every file in experiments/ validates (schema, method ids and their
 * hyper-parameters in the registry); experiments/demo.json is the demo's built-in experiment;
 * bad files fail with one line naming the file and the field; YAML reads like JSON.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { DEMO_EXPERIMENT, DEMO_FULL_EXPERIMENT } from '../../src/experiments/demo.ts';
import { parseResults } from '../../src/experiments/results-schema.ts';
import {
  type ExperimentInput,
  loadExperiment,
  parseExperiment,
} from '../../src/experiments/schema.ts';
import { getMethod, parseParams } from '../../src/unlearn/registry.ts';
import { handMadeResults } from './fixture.ts';

const DIR = 'experiments';

test('every experiment file in experiments/ validates, methods and hyper-parameters included', () => {
  const files = fs.readdirSync(DIR).filter((f) => /\.(json|ya?ml)$/.test(f));
  for (const must of [
    'demo.json',
    'demo-full.json',
    'mnist-bias.json',
    'mnist-c.json',
    'fashion-mnist-class.json',
    'fashion-mnist-bias.json',
    'biased-mnist-colour.json',
    'tabular-subgroup.json',
  ])
    assert.ok(files.includes(must), `experiments/${must} exists`);
  for (const f of files) {
    const exp = loadExperiment(path.join(DIR, f));
    assert.equal(`${exp.name}.json`, f, 'file named after the experiment');
    for (const m of exp.methods) {
      const method = getMethod(m.id, `${f}: ${m.id}`);
      if (method.id !== 'retrain') parseParams(method, m.params);
    }
  }
  const mnistC = loadExperiment(path.join(DIR, 'mnist-c.json'));
  const corruptions = new Set(
    mnistC.scenarios.map((s) => (s.params as { corruption: string }).corruption),
  );
  assert.ok(corruptions.size >= 4, 'MNIST-C covers several corruptions');
});

test('experiments/demo.json and demo-full.json are the built-in experiments of `uib demo` [--full]', () => {
  for (const [name, builtIn] of [
    ['demo.json', DEMO_EXPERIMENT],
    ['demo-full.json', DEMO_FULL_EXPERIMENT],
  ] as const) {
    const file = JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(builtIn)), name);
  }
  const short = parseExperiment(DEMO_EXPERIMENT, 'demo');
  const full = parseExperiment(DEMO_FULL_EXPERIMENT, 'demo-full');
  assert.deepEqual(
    short.methods.map((m) => m.id),
    ['retrain', 'ft', 'ga', 'salun', 'scrub', 'uib-if'],
  );
  assert.deepEqual(
    full.methods.map((m) => m.id),
    ['retrain', 'ft', 'ga', 'l1-sparse', 'salun', 'scrub', 'iu', 'uib-if', 'ft+uib'],
  );
  for (const exp of [short, full]) {
    // The whole training set: Retrain costs what it costs in practice.
    assert.equal(exp.dataset.name, 'mnist');
    assert.equal(exp.dataset.trainSubset, undefined);
    assert.equal(exp.model.arch, 'cnn');
    assert.equal(exp.scenarios[0].params.kind, 'bias');
  }
  assert.deepEqual([short.options.retrainSeeds, full.options.retrainSeeds], [1, 3]);
});

const BASE: ExperimentInput = {
  name: 'x',
  dataset: { name: 'mnist', trainSubset: 100 },
  model: { arch: 'mlp' },
  training: { optimizer: { name: 'adam', lr: 0.001 }, epochs: 1, batchSize: 32 },
  scenarios: [{ kind: 'class', forgetClass: 3 }],
  methods: [{ id: 'ft' }],
  seeds: [1],
};

function failure(value: unknown): string {
  try {
    parseExperiment(value, 'experiments/x.json');
  } catch (e) {
    const msg = (e as Error).message;
    assert.equal(msg.split('\n').length, 1, 'one line');
    return msg;
  }
  throw new Error('expected a UsageError');
}

test('bad experiment files: one line naming the file, the field, what is allowed and what came', () => {
  assert.equal(
    failure({ ...BASE, scenarios: [{ kind: 'class', forgetClass: -1 }] }),
    'experiments/x.json: scenarios[0].forgetClass: must be ≥ 0; got -1',
  );
  assert.equal(
    failure({ ...BASE, model: { arch: 'vgg' } }),
    'experiments/x.json: model.arch: must be one of "mlp", "cnn", "resnet18"; got "vgg"',
  );
  assert.equal(
    failure({ ...BASE, seeds: [] }),
    'experiments/x.json: seeds: the number of entries must be ≥ 1; got 0 entries',
  );
  assert.equal(failure({ ...BASE, colour: 1 }), 'experiments/x.json: unknown field "colour"');
  assert.equal(
    failure({ ...BASE, training: undefined }),
    'experiments/x.json: training: missing (must be an object)',
  );
  assert.match(
    failure({
      ...BASE,
      scenarios: [
        { kind: 'bias', corruption: 'smoke', biasClass: 3, rho: 0.9, q: 0.02, testFraction: 0.5 },
      ],
    }),
    /^experiments\/x\.json: scenarios\[0\]\.corruption: must be one of .*stripe.*; got "smoke"$/,
  );
  assert.match(
    failure({ ...BASE, scenarios: [{ kind: 'forget-all' }] }),
    /scenarios\[0\]\.kind: .*; got "forget-all"$/,
  );
  assert.equal(
    failure({ ...BASE, methods: [{ id: 'ft' }, { id: 'ft', params: { lr: 0.1 } }] }),
    'experiments/x.json: methods[1]: duplicate method label "ft"; give each a distinct label',
  );
  assert.match(
    failure({ ...BASE, methods: [{ id: 'FT' }] }),
    /methods\[0\]\.id: must be a method id .*; got "FT"$/,
  );
  assert.equal(
    failure({ ...BASE, seeds: [1, 1.5] }),
    'experiments/x.json: seeds[1]: must be an integer; got 1.5',
  );
});

test('defaults fill in; scenario ids default to kind and parameters; labels allow one method twice', () => {
  const exp = parseExperiment(
    {
      ...BASE,
      scenarios: [
        { kind: 'class', forgetClass: 3 },
        { kind: 'random', forgetFraction: 0.1 },
      ],
      methods: [{ id: 'ft' }, { id: 'ft', label: 'ft-long', params: { epochs: 5 } }],
    },
    'x',
  );
  assert.deepEqual(
    exp.scenarios.map((s) => s.id),
    ['class-3', 'random-10pct'],
  );
  assert.deepEqual(exp.methods[0].params, {});
  assert.equal(exp.options.evalBatchSize, 256);
});

test('YAML experiment files read the same as JSON; other extensions are refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-exp-'));
  try {
    const y = path.join(dir, 'x.yaml');
    fs.writeFileSync(y, YAML.stringify(BASE));
    assert.deepEqual(loadExperiment(y), parseExperiment(BASE, 'x'));
    const t = path.join(dir, 'x.toml');
    fs.writeFileSync(t, 'name = "x"');
    assert.throws(
      () => loadExperiment(t),
      /x\.toml: must end in \.json, \.yaml or \.yml; got "\.toml"/,
    );
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"name": ');
    assert.throws(() => loadExperiment(broken), /broken\.json: is not valid JSON/);
    assert.throws(
      () => loadExperiment(path.join(dir, 'none.json')),
      /none\.json: no such experiment file/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('results files: the hand-made results validate; another schemaVersion is refused', () => {
  const r = handMadeResults();
  assert.deepEqual(
    parseResults(JSON.parse(JSON.stringify(r)), 'results.json').cells.length,
    r.cells.length,
  );
  assert.throws(
    () => parseResults({ ...r, schemaVersion: 2 }, 'results.json'),
    /results\.json: schemaVersion must be 1; got 2/,
  );
});
