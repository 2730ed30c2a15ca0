/**
 * Fuzzed experiment-config reader (`loadExperiment`, JSON and YAML): structural mutations (hostile
 * values, deleted and added fields), text damage, and a YAML alias bomb. Accepted or a one-line
 * UsageError naming the file; never a crash, a hang or an oversized allocation.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { EXPERIMENT_MAX_BYTES, loadExperiment } from '../../src/experiments/schema.ts';
import { tempDir } from '../data/helpers.ts';
import {
  checkReader,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  jsonMutationArb,
  mutateJson,
  mutateText,
  mutationArb,
  newTally,
} from './fuzz.ts';

const EXPERIMENT = {
  name: 'bias-fog-tiny',
  description: 'fuzz seed',
  dataset: { name: 'mnist', trainSubset: 200, testSubset: 100 },
  model: { arch: 'mlp', hidden: [16] },
  training: { optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9 }, epochs: 1, batchSize: 32 },
  scenarios: [
    { kind: 'bias', corruption: 'fog', biasClass: 3, rho: 0.9, q: 0.01, testFraction: 0.5 },
    { id: 'rand', kind: 'random', forgetFraction: 0.1 },
  ],
  methods: [{ id: 'ft', params: { epochs: 1 } }, { id: 'ga+uib' }],
  seeds: [1, 2],
  options: { evalBatchSize: 64, exampleImages: 4 },
};

test('the seed experiment is valid, in JSON and YAML', () => {
  const dir = tempDir('exp-seed');
  for (const [name, text] of [
    ['e.json', JSON.stringify(EXPERIMENT)],
    ['e.yaml', YAML.stringify(EXPERIMENT)],
  ]) {
    fs.writeFileSync(path.join(dir, name), text);
    assert.equal(loadExperiment(path.join(dir, name)).scenarios.length, 2);
  }
});

test('fuzz experiment configs: JSON and YAML, structural and text damage', (t) => {
  const dir = tempDir('fuzz-exp');
  const structural = fc
    .array(jsonMutationArb, { minLength: 1, maxLength: 3 })
    .map((m) => mutateJson(EXPERIMENT, m));
  const damage = fc.array(mutationArb, { minLength: 1, maxLength: 3 });
  let k = 0;
  for (const [label, ext, arb] of [
    ['json structural', 'json', structural.map((v) => JSON.stringify(v) ?? '')],
    ['yaml structural', 'yaml', structural.map((v) => YAML.stringify(v))],
    ['json text', 'json', damage.map((m) => mutateText(JSON.stringify(EXPERIMENT, null, 2), m))],
    ['yaml text', 'yaml', damage.map((m) => mutateText(YAML.stringify(EXPERIMENT), m))],
  ] as const) {
    const tally = newTally();
    fc.assert(
      fc.property(arb, (text) => {
        const file = path.join(dir, `x${k++}.${ext}`);
        fs.writeFileSync(file, text);
        checkReader(
          {
            read: () => loadExperiment(file),
            names: path.basename(file),
            inputBytes: Buffer.byteLength(text),
            allocPerByte: 16,
            budgetMs: 1000,
          },
          tally,
        );
        fs.rmSync(file);
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`experiment ${label}`, tally));
  }
});

test('a YAML alias bomb ("billion laughs") is refused quickly', () => {
  const dir = tempDir('exp-bomb');
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('name: *a9');
  const file = path.join(dir, 'bomb.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const tally = newTally();
  checkReader(
    {
      read: () => loadExperiment(file),
      names: 'bomb.yaml',
      inputBytes: fs.statSync(file).size,
      allocPerByte: 16,
      budgetMs: 1000,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});

test('an experiment file past EXPERIMENT_MAX_BYTES is refused from its size; deep YAML in one line', () => {
  const dir = tempDir('exp-cap');
  const big = path.join(dir, 'big.yaml');
  fs.writeFileSync(big, YAML.stringify(EXPERIMENT));
  fs.truncateSync(big, EXPERIMENT_MAX_BYTES + 1);
  const tally = newTally();
  checkReader(
    { read: () => loadExperiment(big), names: 'big.yaml', inputBytes: 0, allocPerByte: 0 },
    tally,
  );
  // Deep enough to overflow the yaml package's recursion: refused from the tokens first.
  for (const [name, text] of [
    ['flow.yaml', `name: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['dash.yml', `${'- '.repeat(100_000)}x\n`],
  ]) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    checkReader(
      {
        read: () => loadExperiment(file),
        names: name,
        inputBytes: text.length,
        allocPerByte: 16,
        budgetMs: 1000,
      },
      tally,
    );
  }
  assert.equal(tally.refused, 3);
});
