/**
 * Fuzzed CSV and ARFF readers, through the loader a user's file goes through (`loadTabularFile`:
 * parse, then encode with a data set's spec). Damage is byte-level (truncation, flips, inserted
 * and deleted bytes: broken quotes, ragged rows, stray `@data`) and cell-level (NaN, Infinity,
 * huge numbers, empty and missing values). Accepted or a one-line UsageError naming the file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CPS_WAGES_SPEC,
  cpsWagesFile,
  GERMAN_CREDIT_SPEC,
  loadTabularFile,
  TABULAR_MAX_BYTES,
} from '../../src/data/tabular-sets.ts';
import { tempDir } from '../data/helpers.ts';
import {
  applyMutations,
  checkReader,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  mutationArb,
  newTally,
} from './fuzz.ts';

/** The first 24 rows of the embedded CPS wages CSV. */
const CSV = fs.readFileSync(cpsWagesFile(), 'utf8').split('\n').slice(0, 25).join('\n');

/** A German-credit-shaped ARFF (the attributes GERMAN_CREDIT_SPEC reads, plus two others). */
const ARFF = [
  '% credit-g, shortened',
  "@relation 'german_credit'",
  '@attribute duration numeric',
  "@attribute personal_status { 'male single', 'female div/dep/mar', 'male div/sep'}",
  '@attribute age numeric',
  "@attribute housing { own, rent, 'for free'}",
  '@attribute foreign_worker { yes, no}',
  '@attribute class { good, bad}',
  '@data',
  "6,'male single',67,own,yes,good",
  "48,'female div/dep/mar',22,own,yes,bad",
  "12,'male single',49,own,yes,good",
  "42,'male single',45,'for free',yes,good",
  "24,'male single',53,'for free',no,bad",
  "36,'male div/sep',35,'for free',yes,good",
  "24,'female div/dep/mar',23,rent,yes,good",
  "30,'male single',?,own,no,bad",
  '',
].join('\n');

/** Cell-level poison: values a numeric parser must not take at face value. */
const poisonCell = fc.constantFrom(
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '-1e-400',
  '0x10',
  '',
  '?',
  'NA',
  '"',
  "'",
  ',',
  '%',
  '@data',
  '{',
  '1,2',
);

/** Replace the k-th cell (counted over the data lines) with a poison value. */
function poisonCells(text: string, picks: readonly [number, string][], sep = ','): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^@data/i.test(l)) + 1 || 1;
  for (const [k, v] of picks) {
    const li = start + (k % Math.max(lines.length - start, 1));
    if (li >= lines.length) continue;
    const cells = lines[li].split(sep);
    cells[Math.floor(k / 7) % cells.length] = v;
    lines[li] = cells.join(sep);
  }
  return lines.join('\n');
}

const bytesDamage = fc.array(mutationArb, { minLength: 1, maxLength: 4 });
const cellDamage = fc.array(fc.tuple(fc.nat(), poisonCell), { minLength: 1, maxLength: 4 });

for (const [kind, seed, spec, ext] of [
  ['csv', CSV, CPS_WAGES_SPEC, 'csv'],
  ['arff', ARFF, GERMAN_CREDIT_SPEC, 'arff'],
] as const) {
  test(`fuzz ${kind.toUpperCase()}: byte damage and poisoned cells`, (t) => {
    const dir = tempDir(`fuzz-${kind}`);
    let k = 0;
    for (const [label, arb] of [
      ['bytes', bytesDamage.map((m) => applyMutations(Buffer.from(seed), m))],
      ['cells', cellDamage.map((p) => Buffer.from(poisonCells(seed, p)))],
    ] as const) {
      const tally = newTally();
      fc.assert(
        fc.property(arb, (bytes) => {
          // A new name per case: the loader caches per (path, size, mtime).
          const file = path.join(dir, `t${k++}.${ext}`);
          fs.writeFileSync(file, bytes);
          checkReader(
            {
              read: () => {
                loadTabularFile(file, { ...spec, id: `fuzz-${k}` }, 'train');
              },
              names: path.basename(file),
              inputBytes: bytes.length,
              allocPerByte: 64,
              budgetMs: 1000,
            },
            tally,
          );
          fs.rmSync(file);
        }),
        { numRuns: fuzzRuns(200), seed: FUZZ_SEED },
      );
      assert.ok(tally.refused > 0 && tally.accepted > 0, JSON.stringify(tally));
      t.diagnostic(describeTally(`${kind} ${label}`, tally));
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'no files left behind');
  });
}

test('CSV: an ID-like column with thousands of distinct values is refused, not one-hot encoded', () => {
  // 3000 rows, one distinct string per row: one-hot would be 3000 x 3000 floats (36 MB) from a
  // 60 kB file; a 1 MB file of this kind would ask for tens of GB.
  const dir = tempDir('csv-wide');
  const file = path.join(dir, 'ids.csv');
  const rows = Array.from(
    { length: 3000 },
    (_, i) => `id${i},${i % 2 ? 'male' : 'female'},white,${i}`,
  );
  fs.writeFileSync(file, `person,gender,race,wage\n${rows.join('\n')}\n`);
  const bytes = fs.statSync(file).size;
  const tally = newTally();
  checkReader(
    {
      read: () => loadTabularFile(file, { ...CPS_WAGES_SPEC, id: 'wide' }, 'train'),
      names: 'ids.csv',
      inputBytes: bytes,
      allocPerByte: 64,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});

test('CSV/ARFF: a directory in place of the file is a UsageError naming it', () => {
  const dir = tempDir('tab-dir');
  const file = path.join(dir, 'credit-g.arff');
  fs.mkdirSync(file);
  const tally = newTally();
  checkReader(
    {
      read: () => loadTabularFile(file, GERMAN_CREDIT_SPEC, 'train'),
      names: 'credit-g.arff',
      inputBytes: 0,
      allocPerByte: 0,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});

test('CSV: a file past TABULAR_MAX_BYTES is refused from its size, before it is read', () => {
  const file = path.join(tempDir('tab-cap'), 'big.csv');
  fs.writeFileSync(file, CSV);
  fs.truncateSync(file, TABULAR_MAX_BYTES + 1);
  const tally = newTally();
  checkReader(
    {
      read: () => loadTabularFile(file, CPS_WAGES_SPEC, 'train'),
      names: 'big.csv',
      inputBytes: 0,
      allocPerByte: 0,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});
