/**
 * Fuzzed run-store records (`RunStore.readCell`, `readReference`, `readSeedScenario`): a stored
 * record that is damaged (structure or text) must be a miss (null) or a record that passes its
 * schema, never an exception, within its time budget. `uib run` then recomputes the miss.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { sealRecord } from '../../src/experiments/artifact-store.ts';
import {
  type Cell,
  CellSchema,
  type Reference,
  ReferenceSchema,
} from '../../src/experiments/results-schema.ts';
import { RunStore, type SeedScenario, SeedScenarioSchema } from '../../src/experiments/store.ts';
import { tempDir } from '../data/helpers.ts';
import { sampleCell, sampleReference, sampleSeedScenario } from '../helpers/records.ts';
import {
  checkReaderAsync,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  jsonMutationArb,
  mutateJson,
  mutateText,
  mutationArb,
  newTally,
} from './fuzz.ts';

const CELL: Cell = sampleCell();
const REF: Reference = sampleReference();
const INFO: SeedScenario = sampleSeedScenario();

/** Each record kind: where the store keeps it, how it reads it, the schema it must pass. */
const KINDS = [
  {
    label: 'cell',
    record: CELL,
    file: path.join('cells', 'random-20pct', 'seed-1', 'ft.json'),
    read: (s: RunStore) => s.readCell('random-20pct', 1, 'ft'),
    schema: CellSchema,
  },
  {
    label: 'reference',
    record: REF,
    file: path.join('cells', 'random-20pct', 'seed-1', '_original.json'),
    read: (s: RunStore) => s.readReference('random-20pct', 1, 'original'),
    schema: ReferenceSchema,
  },
  {
    label: 'scenario info',
    record: INFO,
    file: path.join('cells', 'random-20pct', 'seed-1', '_scenario.json'),
    read: (s: RunStore) => s.readSeedScenario('random-20pct', 1),
    schema: SeedScenarioSchema,
  },
] as const;

test('the seed records read back whole (so damage, not the seed, makes a miss)', async () => {
  const store = new RunStore(tempDir('store-seed'));
  await store.writeCell(CELL);
  await store.writeReference(REF);
  await store.writeSeedScenario(INFO);
  for (const k of KINDS) assert.deepEqual(await k.read(store), k.record);
});

/** A record as the store writes it (with its recordSha256), parsed: what the damage starts from. */
const sealed = (v: unknown) => JSON.parse(Buffer.from(sealRecord(v as object)).toString('utf8'));

test('fuzz stored records: damaged structure and text are a miss or a valid record, never thrown', async (t) => {
  const root = tempDir('fuzz-store');
  // Each damaged record is named in a warning; hundreds of them here say nothing.
  const store = new RunStore(root, { warn: () => {} });
  for (const [label, damage] of [
    [
      'json',
      fc
        .array(jsonMutationArb, { minLength: 1, maxLength: 3 })
        .map((m) => (v: unknown) => `${JSON.stringify(mutateJson(sealed(v), m))}\n`),
    ],
    [
      'text',
      fc
        .array(mutationArb, { minLength: 1, maxLength: 3 })
        .map((m) => (v: unknown) => mutateText(JSON.stringify(sealed(v), null, 2), m)),
    ],
  ] as const) {
    const tally = newTally();
    let misses = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), damage, async (i, write) => {
        const kind = KINDS[i % KINDS.length];
        const file = path.join(root, kind.file);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const text = write(kind.record);
        fs.writeFileSync(file, text);
        let got: unknown;
        await checkReaderAsync(
          {
            read: async () => {
              got = await kind.read(store);
            },
            names: path.basename(file),
            inputBytes: Buffer.byteLength(text),
            allocPerByte: 16,
            budgetMs: 1000,
          },
          tally,
        );
        if (got === null) misses++;
        else
          assert.ok(kind.schema.safeParse(got).success, `${kind.label}: invalid record returned`);
        fs.rmSync(file);
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    // A miss is a return, not a refusal: the store never throws on a record it cannot use.
    assert.equal(tally.refused, 0, JSON.stringify(tally));
    assert.ok(misses > 0, 'no damage made a miss');
    t.diagnostic(`${describeTally(`store records ${label}`, tally)}; ${misses} misses`);
  }
});
