/**
 * dataset.validationSubset beside a test set that is a transformed copy (colour, shortcut): drawn
 * from the raw test split outside the test set and transformed as the test set is (same colouring
 * or alignment rule at the test share, draws of its own), class-balanced and seeded; the bias
 * kind's validation set is what it was before the pool existed; and a tiny colour run with UIB-IF's
 * evidence rule finds its twin there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { hashSeed } from '../../../src/core/rng.ts';
import type { Dataset } from '../../../src/data/dataset.ts';
import { viewDigest } from '../../../src/data/digest.ts';
import { loadMnist } from '../../../src/data/mnist.ts';
import { COLOUR_MAP } from '../../../src/data/scenarios/colour.ts';
import { createScenario, materialiseScenario } from '../../../src/data/scenarios/index.ts';
import type { ScenarioParams } from '../../../src/data/scenarios/manifest.ts';
import { heldOutBeside } from '../../../src/data/subset.ts';
import { throwsUsage } from '../helpers.ts';

const WHERE = 'dataset.validationSubset (t)';
const build = (scenario: ScenarioParams, seed = 0, testSize = 300) =>
  materialiseScenario(
    createScenario({ dataset: 'mnist', seed, trainSize: 200, testSize, scenario }),
  );
const validation = (s: ReturnType<typeof build>, n: number, seed = 0) =>
  heldOutBeside(s.test, n, hashSeed(seed, 'validation'), WHERE, s.heldOut);

/** Raw test-split index of each position of a compact copy. */
const rawIndices = (ds: Dataset) =>
  Array.from(ds.sourceIndices(), (i) => ds.source.meta.sourceIndex![i]);
const meta = (ds: Dataset, key: 'bias' | 'group' | 'corruption', i: number) =>
  ds.source.meta[key]![ds.at(i)];
const perClass = (ds: Dataset, f: (i: number) => number) => {
  const n = new Array<number>(10).fill(0);
  for (let i = 0; i < ds.length; i++) n[ds.label(i)] += f(i);
  return n;
};

const KINDS: { name: string; scenario: ScenarioParams; share: number }[] = [
  {
    name: 'colour',
    scenario: { kind: 'colour', rho: 0.99, testRho: 0.3, forgetClass: 3 },
    share: 0.3,
  },
  {
    name: 'shortcut on colour',
    scenario: {
      kind: 'shortcut',
      attribute: 'colour',
      biasClass: 3,
      alignedFraction: 0.995,
      testAlignedFraction: 0.5,
    },
    share: 0.5,
  },
  {
    name: 'shortcut on patch',
    scenario: {
      kind: 'shortcut',
      attribute: 'patch',
      biasClass: 3,
      alignedFraction: 0.995,
      testAlignedFraction: 0.5,
    },
    share: 0.5,
  },
];

for (const { name, scenario, share } of KINDS) {
  test(`${name}: validationSubset is class-balanced, beside the test set, transformed as it, seeded`, () => {
    const s = build(scenario);
    const testBefore = viewDigest(s.test);
    const v = validation(s, 400);
    assert.equal(v.length, 400);
    assert.deepEqual(
      perClass(v, () => 1),
      new Array(10).fill(40),
      'class-balanced',
    );
    assert.deepEqual(v.sampleShape, s.test.sampleShape);
    // Disjoint from the test set by raw test-split index, and the samples are those images.
    const raw = rawIndices(v);
    const inTest = new Set(rawIndices(s.test));
    assert.equal(new Set(raw).size, 400);
    for (const i of raw) assert.ok(!inTest.has(i), `raw test index ${i} is in the test set`);
    const mnist = loadMnist('test');
    for (const [i, r] of raw.entries()) assert.equal(v.label(i), mnist.y[r]);
    // The test share of aligned samples, per class (⌊40 · share⌋): the test set's rule.
    const aligned = Math.floor(40 * share);
    assert.deepEqual(
      perClass(v, (i) => meta(v, 'bias', i)),
      new Array(10).fill(aligned),
    );
    if (scenario.kind === 'shortcut' && scenario.attribute === 'patch') {
      // Patched exactly where the shortcut says so: aligned 3s and conflicting others.
      for (let i = 0; i < v.length; i++)
        assert.equal(
          meta(v, 'corruption', i),
          (v.label(i) === 3) === (meta(v, 'bias', i) === 1) ? 1 : 0,
        );
    } else {
      for (let i = 0; i < v.length; i++) {
        const c = meta(v, 'group', i);
        assert.equal(meta(v, 'bias', i), c === v.label(i) ? 1 : 0);
        // White strokes on the colour's background, as colouredCopy draws the test set.
        const off = v.at(i) * 784 * 3;
        for (let p = 0; p < 784; p += 13) {
          const px = Array.from(v.source.x.subarray(off + p * 3, off + p * 3 + 3));
          assert.deepEqual(
            px,
            mnist.x[raw[i] * 784 + p] !== 0 ? [255, 255, 255] : [...COLOUR_MAP[c]],
          );
        }
      }
    }
    // Seeded: the same seed gives the same set, another seed another; the test set is untouched.
    assert.equal(viewDigest(validation(build(scenario), 400)), viewDigest(v));
    assert.notEqual(viewDigest(validation(s, 400, 1)), viewDigest(v));
    assert.equal(viewDigest(s.test), testBefore);
    assert.equal(v.name, `${s.test.source.name}/validation[400]`);
  });
}

test('colour: too few test-split images beside the test set is refused, naming the field', () => {
  const s = build({ kind: 'colour', rho: 0.99, testRho: 0.1, forgetClass: 3 }, 0, 9950);
  throwsUsage(
    () => validation(s, 100),
    /^dataset\.validationSubset \(t\): asks for 100 validation samples .* has 50 outside it/,
  );
  assert.equal(validation(s, 50).length, 50);
});

test('bias, pattern: no pool; the validation set is the one drawn before pools existed', () => {
  const pinned = {
    digest: 'f6041c7805c419e9fc9eea4378fbfc2bca4b952f53f6f6138436fb3d388b8c1b',
    indices: 'bcf9708c34dd39d7f0d4454ec92d367157a4b42371798b533e5759863b733241',
  };
  for (const scenario of [
    { kind: 'bias', corruption: 'stripe', biasClass: 3, rho: 0.9, q: 0.05, testFraction: 0.5 },
    { kind: 'pattern', corruption: 'fog', forgetClass: 3, rho: 0.5, testFraction: 0.2 },
  ] as const) {
    const s = materialiseScenario(
      createScenario({ dataset: 'mnist', seed: 0, trainSize: 200, testSize: 100, scenario }),
    );
    assert.equal(s.heldOut, undefined, `${scenario.kind}: its test set is a view over the split`);
    const v = validation(s, 60);
    assert.equal(v.name, 'mnist/test/validation[60]');
    assert.equal(viewDigest(v), pinned.digest, scenario.kind);
    const idx = Array.from(v.sourceIndices()).join(',');
    assert.equal(createHash('sha256').update(idx).digest('hex'), pinned.indices, scenario.kind);
  }
});

test('colour end to end: UIB-IF with the evidence rule finds its twin in validationSubset', async () => {
  const { initBackend } = await import('../../../src/backend/index.ts');
  const { runExperiment } = await import('../../../src/experiments/runner.ts');
  const { parseExperiment } = await import('../../../src/experiments/schema.ts');
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-validation-pool-'));
  try {
    const exp = parseExperiment(
      {
        name: 'tiny-colour-evidence',
        dataset: { name: 'mnist', trainSubset: 400, testSubset: 200, validationSubset: 200 },
        model: { arch: 'mlp', hidden: [32] },
        training: { optimizer: { name: 'adam', lr: 0.003 }, epochs: 1, batchSize: 32 },
        scenarios: [{ kind: 'colour', rho: 0.99, testRho: 0.1, forgetClass: 3 }],
        methods: [
          { id: 'retrain' },
          {
            id: 'uib-if',
            params: { alphaRule: 'evidence', steps: 5, fisherSamples: 100, searchSamples: 64 },
          },
        ],
        seeds: [0],
        options: {
          exampleImages: 0,
          evalBatchSize: 200,
          retrainSeeds: 1,
          metrics: ['ua', 'ra', 'ta'],
        },
      },
      'tiny-colour-evidence',
    );
    const { results } = await runExperiment(exp, {
      outDir: path.join(dir, 'out'),
      backend: 'cpu',
      quiet: true,
    });
    const cell = results.cells.find((c) => c.methodId === 'uib-if')!;
    assert.equal(cell.status, 'ok', cell.error);
    const prior = cell.details.prior as { rule: string; evidence: { twinSize: number } | null };
    assert.equal(prior.rule, 'evidence');
    // The twin: the validation samples of class 3 (200 / 10 classes).
    assert.equal(prior.evidence?.twinSize, 20);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
