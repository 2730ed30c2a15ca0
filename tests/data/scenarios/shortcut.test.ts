/**
 * The shortcut kind: aligned : conflicting at alignedFraction in training and testAlignedFraction
 * in test, per class; ΔD = the aligned samples of the bias class; b(x) = 1[aligned]; the manifest
 * is a function of the seed; and, end to end through the runner on a tiny experiment, the
 * shortcut metrics come out and the original leans on the shortcut.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadMnist } from '../../../src/data/mnist.ts';
import { COLOUR_MAP } from '../../../src/data/scenarios/colour.ts';
import {
  createScenario,
  formatManifest,
  materialiseScenario,
  parseManifest,
  readManifest,
  type ScenarioRequest,
  writeManifest,
} from '../../../src/data/scenarios/index.ts';
import type { ScenarioParams } from '../../../src/data/scenarios/manifest.ts';
import { tempDir, throwsUsage, writeCifar10 } from '../helpers.ts';

const small = { dataset: 'mnist', trainSize: 2000, testSize: 300 } as const;
type Shortcut = Extract<ScenarioParams, { kind: 'shortcut' }>;
const shortcut = (over: Partial<Shortcut> = {}): Shortcut => ({
  kind: 'shortcut',
  attribute: 'colour',
  biasClass: 3,
  alignedFraction: 0.995,
  testAlignedFraction: 0.5,
  ...over,
});
const req = (scenario: ScenarioParams, seed = 1): ScenarioRequest => ({ ...small, seed, scenario });
const hashOf = (p: ScenarioParams, seed = 1) =>
  createHash('sha256')
    .update(formatManifest(createScenario(req(p, seed))))
    .digest('hex');

/** Aligned count per class of a view whose meta.bias is 1[aligned]. */
function alignedPerClass(ds: ReturnType<typeof materialiseScenario>['train']) {
  const n = new Array<number>(10).fill(0);
  const a = new Array<number>(10).fill(0);
  for (let i = 0; i < ds.length; i++) {
    n[ds.label(i)]++;
    a[ds.label(i)] += ds.source.meta.bias![ds.at(i)];
  }
  return { n, a };
}

for (const attribute of ['colour', 'patch']) {
  test(`shortcut on ${attribute}: the manifest is a function of the seed, and round-trips`, () => {
    const p = shortcut({ attribute });
    assert.equal(hashOf(p), hashOf(p), 'same seed, same manifest hash');
    assert.notEqual(hashOf(p, 2), hashOf(p), 'another seed, another manifest hash');
    const m = createScenario(req(p));
    const file = path.join(tempDir('m'), 'shortcut.json');
    writeManifest(file, m);
    assert.equal(fs.readFileSync(file, 'utf8'), formatManifest(m));
    const s = materialiseScenario(readManifest(file), file);
    assert.equal(s.train.length, 2000);
    assert.equal(s.test.length, 300);
    // ⌊200 · 0.995⌋ = 199 aligned per training class, ⌊30 · 0.5⌋ = 15 per test class.
    assert.deepEqual(alignedPerClass(s.train).a, new Array(10).fill(199));
    assert.deepEqual(alignedPerClass(s.test).a, new Array(10).fill(15));
    // ΔD = the aligned samples of class 3, and nothing else.
    assert.equal(s.forget.length, 199);
    for (let i = 0; i < s.forget.length; i++) {
      assert.equal(s.forget.label(i), 3);
      assert.equal(s.forget.source.meta.bias![s.forget.at(i)], 1);
    }
    const keptThrees = s.retain.labels().filter((y) => y === 3).length;
    assert.equal(keptThrees, 1, 'D_r keeps only the conflicting 3');
  });
}

test('shortcut on colour: the ReBias colouring of the colour kind, at alignedFraction', () => {
  const m = createScenario(req(shortcut()));
  assert.equal(m.patterned, null);
  const colour = createScenario(req({ kind: 'colour', rho: 0.995, testRho: 0.5, forgetClass: 3 }));
  assert.deepEqual(m.colours, colour.colours, 'the same colours as the colour kind at that rho');
  assert.deepEqual(m.indices.forget, colour.indices.forget);
  const s = materialiseScenario(m);
  assert.deepEqual(s.train.sampleShape, [28, 28, 3]);
  // b(x) = 1 exactly where the background is the class's own colour.
  m.colours!.test.forEach((c, i) => {
    assert.equal(s.test.source.meta.bias![i], c === s.test.label(i) ? 1 : 0);
  });
  const mnist = loadMnist('train');
  const [r, g, b] = COLOUR_MAP[m.colours!.train[0]];
  for (let p = 0; p < 784; p += 7) {
    const px = Array.from(s.train.source.x.subarray(p * 3, p * 3 + 3));
    assert.deepEqual(px, mnist.x[m.indices.train[0] * 784 + p] !== 0 ? [255, 255, 255] : [r, g, b]);
  }
});

test('shortcut on a pattern: it marks the bias class when aligned, the others when conflicting', () => {
  const m = createScenario(req(shortcut({ attribute: 'patch' })));
  assert.equal(m.colours, null);
  const s = materialiseScenario(m);
  const patched = (ds: typeof s.train, i: number) => {
    const off = ds.at(i) * 784;
    return [25, 26, 27].every((r) =>
      [25, 26, 27].every((c) => ds.source.x[off + r * 28 + c] === 255),
    );
  };
  const corrupted = (i: number) => s.train.source.meta.corruption![s.train.at(i)] === 1;
  let patchedOthers = 0;
  for (let i = 0; i < s.train.length; i++) {
    const aligned = s.train.source.meta.bias![s.train.at(i)] === 1;
    // Patterned exactly where the shortcut says so: the aligned 3s and the conflicting others.
    assert.equal(corrupted(i), (s.train.label(i) === 3) === aligned);
    if (corrupted(i)) assert.ok(patched(s.train, i), 'the patch is on the image');
    if (corrupted(i) && s.train.label(i) !== 3) patchedOthers++;
  }
  assert.equal(patchedOthers, 9, 'one conflicting (patched) sample in each other class');
  assert.equal(m.patterned!.train.length, 199 + 9);
  // The biased test set: the same images, b(x) = the pattern, on half of every class.
  const bt = s.biasedTest!;
  assert.equal(bt.source.x, s.test.source.x);
  assert.equal(
    bt.source.meta.bias!.reduce((a, v) => a + v, 0),
    150,
  );
});

test('shortcut: defaults, and bad parameters name the field', () => {
  const m = createScenario(
    req({ kind: 'shortcut', attribute: 'colour', biasClass: 3 } as unknown as ScenarioParams),
  );
  assert.deepEqual(m.scenario, shortcut());
  throwsUsage(
    () => createScenario(req({ ...shortcut(), attribute: 'plaid' } as ScenarioParams)),
    /^scenario\.attribute: must be one of colour, /,
  );
  throwsUsage(() => createScenario(req(shortcut({ biasClass: 12 }))), /^--class: unknown class 12/);
  throwsUsage(
    () => createScenario(req(shortcut({ testAlignedFraction: 1 }))),
    /^scenario\.testAlignedFraction:/,
  );
  // On RGB images: a grey MNIST-C corruption is refused, the patch works, colour needs grey.
  const dir = tempDir('c10');
  writeCifar10(dir, 4, 10);
  const cifar = (attribute: string) =>
    createScenario({
      dataset: 'cifar10',
      dataDir: dir,
      seed: 1,
      scenario: shortcut({ attribute }),
    });
  throwsUsage(() => cifar('stripe'), /^--attribute: MNIST-C corruption stripe needs grey images/);
  throwsUsage(() => cifar('colour'), /^--kind: shortcut on colour needs a grey 10-class image set/);
  assert.ok(materialiseScenario(cifar('patch')).biasedTest!.length > 0);
  // The attribute's store must be the one its kind writes (colours for colour, patterned else).
  const text = formatManifest(m);
  const wrong = { ...JSON.parse(text), colours: null };
  throwsUsage(
    () => parseManifest(JSON.stringify(wrong), 's.json'),
    /^s\.json: colours must be given for kind shortcut on colour/,
  );
});

test('shortcut end to end: a tiny run computes the shortcut metrics; the original leans on the colour', async () => {
  const { initBackend } = await import('../../../src/backend/index.ts');
  const { runExperiment } = await import('../../../src/experiments/runner.ts');
  const { parseExperiment } = await import('../../../src/experiments/schema.ts');
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-shortcut-'));
  try {
    const exp = parseExperiment(
      {
        name: 'tiny-shortcut',
        dataset: { name: 'mnist', trainSubset: 600, testSubset: 300 },
        model: { arch: 'mlp', hidden: [32] },
        training: { optimizer: { name: 'adam', lr: 0.003 }, epochs: 2, batchSize: 32 },
        scenarios: [{ kind: 'shortcut', attribute: 'colour', biasClass: 3 }],
        methods: [{ id: 'retrain' }, { id: 'ft', params: { epochs: 1 } }],
        seeds: [1],
        options: { exampleImages: 0, evalBatchSize: 300, retrainSeeds: 1 },
      },
      'tiny-shortcut',
    );
    const { results } = await runExperiment(exp, {
      outDir: path.join(dir, 'out'),
      backend: 'cpu',
      quiet: true,
    });
    const original = results.references.find((r) => r.role === 'original')!.metrics;
    const v = (id: string) => original.values[id]?.value ?? null;
    for (const id of [
      'aligned-acc',
      'conflicting-acc',
      'aligned-gap',
      'bias-class-acc',
      'worst-group-acc',
    ])
      assert.notEqual(
        v(id),
        null,
        `${id}: ${JSON.stringify(original.values[id] ?? original.notApplicable[id])}`,
      );
    // Trained where the colour names the class 99.5 % of the time, it reads the colour.
    assert.ok(v('aligned-acc')! > 0.9, `aligned ${v('aligned-acc')}`);
    assert.ok(
      v('aligned-acc')! - v('conflicting-acc')! > 0.3,
      `conflicting ${v('conflicting-acc')}`,
    );
    assert.ok(Math.abs(v('aligned-gap')! - (v('aligned-acc')! - v('conflicting-acc')!)) < 1e-9);
    assert.ok(v('worst-group-acc')! <= v('conflicting-acc')!);
    const cell = results.cells.find((c) => c.method === 'ft')!;
    assert.ok(cell.metrics?.values['bias-class-acc'], 'the method cell has it too');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
