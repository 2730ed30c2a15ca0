import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadMnist } from '../../src/data/mnist.ts';
import { COLOUR_MAP } from '../../src/data/scenarios/colour.ts';
import {
  createScenario,
  formatManifest,
  materialiseScenario,
  parseManifest,
  readManifest,
  type ScenarioRequest,
  writeManifest,
} from '../../src/data/scenarios/index.ts';
import type { ScenarioParams } from '../../src/data/scenarios/manifest.ts';
import { tempDir, throwsUsage, writeCifar10 } from './helpers.ts';

const small = { dataset: 'mnist', trainSize: 2000, testSize: 300 } as const;
const req = (scenario: ScenarioParams, seed = 1): ScenarioRequest => ({ ...small, seed, scenario });

const KINDS: ScenarioParams[] = [
  { kind: 'random', forgetFraction: 0.1 },
  { kind: 'class', forgetClass: 3 },
  { kind: 'pattern', corruption: 'stripe', forgetClass: 3, rho: 0.3, testFraction: 0.5 },
  { kind: 'bias', corruption: 'patch', biasClass: 3, rho: 0.9, q: 0.02, testFraction: 0.5 },
  { kind: 'colour', rho: 0.99, testRho: 0.1, forgetClass: null },
  { kind: 'backdoor', poisonFraction: 0.05, targetClass: 0 },
];

for (const p of KINDS) {
  test(`${p.kind}: manifest reproducible byte for byte from its seed, and round-trips`, () => {
    const a = formatManifest(createScenario(req(p)));
    const b = formatManifest(createScenario(req(p)));
    assert.equal(a, b);
    assert.notEqual(formatManifest(createScenario(req(p, 2))), a, 'another seed, another scenario');
    const file = path.join(tempDir('m'), 'scenario.json');
    writeManifest(file, parseManifest(a, 'a'));
    assert.equal(fs.readFileSync(file, 'utf8'), a);
    const s = materialiseScenario(readManifest(file), file);
    assert.equal(s.train.length, 2000);
    assert.equal(s.forget.length + s.retain.length, 2000);
    assert.equal(s.test.length, 300);
  });
}

test('random and class: ΔD is what the kind says', () => {
  const r = materialiseScenario(createScenario(req(KINDS[0])));
  assert.equal(r.forget.length, 200);
  const c = materialiseScenario(createScenario(req(KINDS[1])));
  assert.ok(c.forget.labels().every((y) => y === 3));
  assert.equal(c.forget.length, 200);
  assert.ok(c.retain.labels().every((y) => y !== 3));
});

test('bias (patch): rho of class k and q of the others patterned, labels kept, test half patterned', () => {
  const m = createScenario(req(KINDS[3]));
  const s = materialiseScenario(m);
  const bias = s.train.source.meta.bias!;
  const size = 28 * 28;
  const patched = (ds: typeof s.train, i: number) => {
    const off = ds.at(i) * size;
    return [25, 26, 27].every((r) =>
      [25, 26, 27].every((c) => ds.source.x[off + r * 28 + c] === 255),
    );
  };
  assert.equal(s.forget.length, 180);
  for (let i = 0; i < s.forget.length; i++) {
    assert.equal(s.forget.label(i), 3);
    assert.ok(patched(s.forget, i));
    assert.equal(bias[s.forget.at(i)], 1);
  }
  let others = 0;
  for (let i = 0; i < s.retain.length; i++) others += bias[s.retain.at(i)];
  assert.equal(others, Math.round(0.02 * 1800));
  // Labels are those of the source; the clean samples are untouched.
  const mnist = loadMnist('train');
  for (let i = 0; i < s.train.length; i += 97) {
    const src = s.train.source.meta.sourceIndex![s.train.at(i)];
    assert.equal(s.train.label(i), mnist.y[src]);
    if (!bias[s.train.at(i)]) {
      assert.deepEqual(
        s.train.source.x.subarray(s.train.at(i) * size, (s.train.at(i) + 1) * size),
        mnist.x.subarray(src * size, (src + 1) * size),
      );
    }
  }
  const bt = s.biasedTest!;
  const marked = bt.source.meta.bias!.reduce((a, b) => a + b, 0);
  assert.equal(marked, 150);
  assert.equal(m.patterned!.test.length, 150);
});

test('pattern (stripe): ΔD = the corrupted class-k samples; stripe inverts columns 0-6', () => {
  const s = materialiseScenario(createScenario(req(KINDS[2])));
  const mnist = loadMnist('train');
  assert.equal(s.forget.length, 60);
  const i = 0;
  const src = s.forget.source.meta.sourceIndex![s.forget.at(i)];
  const off = s.forget.at(i) * 784;
  for (let r = 0; r < 28; r++)
    assert.equal(s.forget.source.x[off + r * 28 + 3], 255 - mnist.x[src * 784 + r * 28 + 3]);
  assert.equal(
    s.retain.source.meta.bias!.reduce((a, b) => a + b, 0),
    60,
    'no sample outside ΔD is patterned',
  );
});

test('colour: ReBias assignment, white strokes on the background colour, ΔD = aligned', () => {
  const m = createScenario(req(KINDS[4]));
  const s = materialiseScenario(m);
  assert.deepEqual(s.train.sampleShape, [28, 28, 3]);
  // floor(200 * 0.99) = 198 aligned per class; the 2 others go to chunks of ceil(2/9) = 1.
  assert.equal(s.forget.length, 1980);
  assert.ok(
    m.colours!.train.every(
      (c, i) => (c === s.train.label(i)) === (s.train.source.meta.bias![i] === 1),
    ),
  );
  const mnist = loadMnist('train');
  const src = m.indices.train[0];
  const [r, g, b] = COLOUR_MAP[m.colours!.train[0]];
  for (let p = 0; p < 784; p++) {
    const px = Array.from(s.train.source.x.subarray(p * 3, p * 3 + 3));
    assert.deepEqual(px, mnist.x[src * 784 + p] !== 0 ? [255, 255, 255] : [r, g, b]);
  }
  // Test set: rho 0.1, so aligned is floor(30 * 0.1) = 3 per class.
  assert.equal(
    s.test.source.meta.bias!.reduce((a, v) => a + v, 0),
    30,
  );
  const one = materialiseScenario(
    createScenario(req({ kind: 'colour', rho: 0.99, testRho: 0.1, forgetClass: 4 })),
  );
  assert.ok(one.forget.labels().every((y) => y === 4));
});

test('backdoor: stamped samples relabelled to the target; trigger test keeps true labels', () => {
  const m = createScenario(req(KINDS[5]));
  const s = materialiseScenario(m);
  assert.equal(s.forget.length, 100);
  const mnist = loadMnist('train');
  for (let i = 0; i < s.forget.length; i++) {
    assert.equal(s.forget.label(i), 0);
    assert.notEqual(mnist.y[m.indices.forget[i]], 0, 'only non-target samples are poisoned');
    assert.equal(s.forget.source.x[s.forget.at(i) * 784 + 27 * 28 + 27], 255);
  }
  const trig = s.triggerTest!;
  assert.ok(trig.labels().every((y) => y !== 0));
  assert.equal(trig.length, s.test.labels().filter((y) => y !== 0).length);
  assert.ok(trig.source.meta.bias!.every((b) => b === 1));
});

test('subgroup (CPS wages): ΔD = the group; the spurious column follows the label inside it', () => {
  const base = { dataset: 'cps-wages', seed: 3 };
  const s = materialiseScenario(
    createScenario({
      ...base,
      scenario: { kind: 'subgroup', group: 'gender', value: 'female', spuriousRho: null },
    }),
  );
  const g = s.train.source.meta.group!;
  assert.ok(s.forget.length > 150);
  for (let i = 0; i < s.forget.length; i++) assert.equal(g[s.forget.at(i)], 0);
  for (let i = 0; i < s.retain.length; i++) assert.equal(g[s.retain.at(i)], 1);
  const m = createScenario({
    ...base,
    scenario: { kind: 'subgroup', group: 'race', value: 'white', spuriousRho: 1 },
  });
  const sp = materialiseScenario(m);
  const d = sp.train.sampleShape[0];
  for (let i = 0; i < sp.forget.length; i++)
    assert.equal(sp.forget.source.x[sp.forget.at(i) * d + d - 1], sp.forget.label(i));
  assert.equal(
    formatManifest(createScenario({ ...base, scenario: m.scenario })),
    formatManifest(m),
  );
  throwsUsage(
    () =>
      createScenario({
        ...base,
        scenario: { kind: 'subgroup', group: 'sex', value: 'x', spuriousRho: null },
      }),
    /--group: unknown group "sex" for cps-wages; known: gender, race/,
  );
});

test('a manifest whose data hash no longer matches is refused', () => {
  const m = createScenario(req(KINDS[0]));
  const tampered = { ...m, dataHash: { ...m.dataHash, train: 'a'.repeat(64) } };
  throwsUsage(
    () => materialiseScenario(tampered, 's.json'),
    /^s\.json: data hash mismatch for mnist train/,
  );
  const inputs = { ...m, inputsHash: { train: 'b'.repeat(64) } };
  throwsUsage(
    () => materialiseScenario(inputs, 's.json'),
    /^s\.json: training inputs hash mismatch/,
  );
  // Real data change on disk: a CIFAR file is rewritten after the manifest was made.
  const dir = tempDir('c10s');
  writeCifar10(dir, 4, 10);
  const cm = createScenario({
    dataset: 'cifar10',
    dataDir: dir,
    seed: 1,
    scenario: { kind: 'backdoor', poisonFraction: 0.1, targetClass: 1 },
  });
  assert.ok(materialiseScenario(cm).triggerTest!.length > 0);
  const f = path.join(dir, 'data_batch_2.bin');
  const buf = fs.readFileSync(f);
  buf[100] ^= 0xff;
  fs.writeFileSync(f, buf);
  throwsUsage(
    () => materialiseScenario(cm, 'c.json'),
    /^c\.json: data hash mismatch for cifar10 train/,
  );
});

test('bad input: unknown class, fraction outside (0,1), empty forget set, broken manifests', () => {
  throwsUsage(
    () => createScenario(req({ kind: 'class', forgetClass: 12 })),
    /--class: unknown class 12; mnist has classes 0-9/,
  );
  throwsUsage(
    () => createScenario(req({ kind: 'random', forgetFraction: 1.5 })),
    /scenario\.forgetFraction: .*1/,
  );
  throwsUsage(
    () => createScenario(req({ kind: 'random', forgetFraction: 0 })),
    /scenario\.forgetFraction/,
  );
  throwsUsage(
    () => createScenario(req({ kind: 'random', forgetFraction: 0.0001 })),
    /--forget-fraction: 0\.0001 of 2000 training samples leaves an empty forget set/,
  );
  throwsUsage(
    () =>
      createScenario(
        req({
          kind: 'bias',
          corruption: 'patch',
          biasClass: 1,
          rho: 0.001,
          q: 0,
          testFraction: 0.5,
        }),
      ),
    /empty forget set/,
  );
  throwsUsage(
    () =>
      createScenario(
        req({ kind: 'bias', corruption: 'fgo', biasClass: 1, rho: 0.5, q: 0, testFraction: 0.5 }),
      ),
    /scenario\.corruption: must be one of brightness, .*patch/,
  );
  const m = createScenario(req(KINDS[1]));
  const text = formatManifest(m);
  const noForget = {
    ...m,
    indices: { ...m.indices, forget: [] },
    counts: { ...m.counts, forget: 0 },
  };
  throwsUsage(
    () => parseManifest(JSON.stringify(noForget), 'x.json'),
    /^x\.json: empty forget set/,
  );
  throwsUsage(
    () => parseManifest(text.replace('"schemaVersion": 1', '"schemaVersion": 9'), 'x.json'),
    /^x\.json: schemaVersion: /,
  );
  throwsUsage(
    () => parseManifest(text.replace('"forgetClass": 3', '"forgetClass": "3"'), 'x.json'),
    /^x\.json: scenario\.forgetClass: /,
  );
  throwsUsage(() => parseManifest(text.slice(0, 50), 'x.json'), /^x\.json: is not valid JSON/);
  throwsUsage(() => readManifest('/nonexistent/s.json'), /cannot read: no such file \(ENOENT\)/);
});
