/**
 * Fuzzed scenario-manifest reader: a manifest is read (`readManifest`) and then rebuilt into data
 * (`materialiseScenario`), as `uib unlearn` does. Mutations are structural (a field replaced by a
 * hostile value: wrong types, NaN-as-string, 1e308, 2^53+2, deep nesting; fields deleted or added)
 * and textual (truncation, flipped bytes). Every case is accepted or refused with a one-line
 * UsageError naming the file; never a crash, a hang or an oversized allocation.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../../src/core/errors.ts';
import {
  createScenario,
  formatManifest,
  materialiseScenario,
  readManifest,
} from '../../src/data/scenarios/index.ts';
import {
  MANIFEST_MAX_BYTES,
  type Manifest,
  type ScenarioParams,
} from '../../src/data/scenarios/manifest.ts';
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

const SCENARIOS: ScenarioParams[] = [
  { kind: 'random', forgetFraction: 0.25 },
  { kind: 'pattern', corruption: 'shot_noise', forgetClass: 3, rho: 0.5, testFraction: 0.2 },
  { kind: 'colour', rho: 0.9, testRho: 0.1, forgetClass: 2 },
];

const manifests: Manifest[] = SCENARIOS.map((scenario) =>
  createScenario({ dataset: 'mnist', seed: 7, trainSize: 40, testSize: 20, scenario }),
);

function readAndBuild(file: string): void {
  materialiseScenario(readManifest(file), file);
}

test('the seed manifests are valid (so damage, not the seed, is what the fuzzer refuses)', () => {
  const dir = tempDir('manifest-seed');
  for (const m of manifests) {
    const file = path.join(dir, `${m.scenario.kind}.json`);
    fs.writeFileSync(file, formatManifest(m));
    const s = materialiseScenario(readManifest(file), file);
    assert.equal(s.forget.length, m.counts.forget);
  }
});

test('fuzz scenario manifests: structural JSON mutations, then text damage', (t) => {
  const dir = tempDir('fuzz-manifest');
  let k = 0;
  for (const [label, arb] of [
    [
      'json',
      fc
        .tuple(fc.nat(), fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 }))
        .map(
          ([i, muts]) => `${JSON.stringify(mutateJson(manifests[i % manifests.length], muts))}\n`,
        ),
    ],
    [
      'text',
      fc
        .tuple(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
        .map(([i, muts]) => mutateText(formatManifest(manifests[i % manifests.length]), muts)),
    ],
  ] as const) {
    const tally = newTally();
    fc.assert(
      fc.property(arb, (text) => {
        const file = path.join(dir, `m${k++}.json`);
        fs.writeFileSync(file, text);
        checkReader(
          {
            read: () => readAndBuild(file),
            names: path.basename(file),
            inputBytes: Buffer.byteLength(text),
            // Materialising copies the (40-sample) views and colours them: ~3 KiB per sample.
            allocPerByte: 64,
            slackBytes: 1 << 20,
            budgetMs: 2000,
          },
          tally,
        );
        fs.rmSync(file);
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`manifest ${label}`, tally));
  }
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a manifest index past 2^32 is refused, not wrapped onto another sample', () => {
  const dir = tempDir('manifest-wrap');
  const m = structuredClone(manifests[0]);
  // Replace the last retained index by itself + 2^32: a Uint32 view would wrap it back.
  const last = m.indices.retain.at(-1)!;
  const wrapped = last + 2 ** 32;
  m.indices.retain[m.indices.retain.length - 1] = wrapped;
  m.indices.train[m.indices.train.indexOf(last)] = wrapped;
  m.indices.train.sort((a, b) => a - b);
  const file = path.join(dir, 'wrap.json');
  fs.writeFileSync(file, formatManifest(m));
  assert.throws(
    () => readAndBuild(file),
    (e: unknown) =>
      e instanceof UsageError && e.message.includes('wrap.json') && /indices/.test(e.message),
  );
});

test('a manifest past MANIFEST_MAX_BYTES is refused from its size; 200,000-deep JSON in one line', () => {
  const dir = tempDir('manifest-cap');
  const big = path.join(dir, 'big.json');
  fs.writeFileSync(big, formatManifest(manifests[0]));
  fs.truncateSync(big, MANIFEST_MAX_BYTES + 1);
  const tally = newTally();
  checkReader(
    { read: () => readManifest(big), names: 'big.json', inputBytes: 0, allocPerByte: 0 },
    tally,
  );
  const deep = path.join(dir, 'deep.json');
  const text = `{"schemaVersion": 1, "indices": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
  fs.writeFileSync(deep, text);
  checkReader(
    {
      read: () => readManifest(deep),
      names: 'deep.json',
      inputBytes: text.length,
      allocPerByte: 4,
    },
    tally,
  );
  assert.equal(tally.refused, 2);
});

// Found by `npm run fuzz` (2000 cases): each was another exception, or blamed a flag.
test('a manifest with an unknown dataset, a dir for embedded MNIST, or a kind’s list missing names the manifest', () => {
  const dir = tempDir('manifest-found');
  const colour = manifests[2];
  const cases: [string, Manifest, RegExp][] = [
    [
      'id.json',
      { ...manifests[0], dataset: { id: 'line\nbreak', dir: null } },
      /dataset\.id: unknown/,
    ],
    [
      'dir.json',
      { ...manifests[0], dataset: { id: 'mnist', dir: '/tmp' } },
      /dataset: mnist is embedded/,
    ],
    ['colours.json', { ...colour, colours: null }, /colours must be given for kind colour/],
    [
      'patterned.json',
      { ...manifests[1], patterned: null },
      /patterned must be given for kind pattern/,
    ],
    [
      'extra.json',
      { ...manifests[0], colours: colour.colours },
      /colours must be null for kind random/,
    ],
  ];
  for (const [name, m, pattern] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, formatManifest(m));
    assert.throws(
      () => readAndBuild(file),
      (e: unknown) =>
        e instanceof UsageError && e.message.startsWith(file) && pattern.test(e.message),
      name,
    );
  }
});
