/**
 * Fuzzed CIFAR-10/100 binary reader: damaged record files (truncated, bytes inserted/deleted,
 * label bytes flipped out of range) and damaged class-name files. Accepted or refused with a
 * one-line UsageError naming the file; never a crash, a hang or an oversized allocation.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { CIFAR_MAX_RECORDS, CIFAR_NAMES_MAX_BYTES, loadCifar } from '../../src/data/cifar.ts';
import { cifarRecord, tempDir } from '../data/helpers.ts';
import {
  applyMutations,
  checkReader,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  mutationArb,
  newTally,
} from './fuzz.ts';

const REC10 = Buffer.concat([0, 1, 2].map((i) => cifarRecord(i, [i * 3])));
const REC100 = Buffer.concat([0, 1, 2].map((i) => cifarRecord(i, [i * 6, i * 33])));
const NAMES10 = `${['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].join('\n')}\n`;

/** Label bytes (the first one or two of each record) are where a flip changes meaning. */
const labelFlip = fc.record({
  kind: fc.constant('flip' as const),
  at: fc.integer({ min: 0, max: 2 }).map((r) => (r * 3074 + 0.5) / REC100.length),
  bit: fc.integer({ min: 0, max: 7 }),
});
const damage = fc.array(fc.oneof(mutationArb, labelFlip), { minLength: 1, maxLength: 3 });

test('fuzz CIFAR-10 and CIFAR-100 binary record files', (t) => {
  const root = tempDir('fuzz-cifar');
  for (const [variant, seed, file, other] of [
    ['cifar10', REC10, 'test_batch.bin', 'data_batch_1.bin'],
    ['cifar100', REC100, 'test.bin', 'train.bin'],
  ] as const) {
    const tally = newTally();
    let k = 0;
    fc.assert(
      fc.property(damage, (muts) => {
        // A fresh directory per case: the loader caches by (path, size, mtime).
        const dir = path.join(root, `${variant}-${k++}`);
        fs.mkdirSync(dir);
        const bytes = applyMutations(seed, muts);
        fs.writeFileSync(path.join(dir, other), seed);
        fs.writeFileSync(path.join(dir, file), bytes);
        checkReader(
          {
            read: () => loadCifar(variant, 'test', dir),
            names: file,
            inputBytes: bytes.length,
            allocPerByte: 4,
            budgetMs: 1000,
          },
          tally,
        );
        assert.deepEqual(fs.readdirSync(dir).sort(), [file, other].sort());
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0 && tally.accepted > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`${variant} records`, tally));
  }
});

test('fuzz CIFAR-10 class-name file (batches.meta.txt)', (t) => {
  const root = tempDir('fuzz-cifar-names');
  const tally = newTally();
  let k = 0;
  fc.assert(
    fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (muts) => {
      const dir = path.join(root, `c${k++}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), REC10);
      fs.writeFileSync(path.join(dir, 'test_batch.bin'), REC10);
      const names = applyMutations(Buffer.from(NAMES10), muts);
      fs.writeFileSync(path.join(dir, 'batches.meta.txt'), names);
      checkReader(
        {
          read: () => loadCifar('cifar10', 'test', dir),
          names: 'batches.meta.txt',
          inputBytes: names.length + REC10.length,
          allocPerByte: 4,
        },
        tally,
      );
      fs.rmSync(dir, { recursive: true });
    }),
    { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
  );
  assert.ok(tally.refused > 0, JSON.stringify(tally));
  t.diagnostic(describeTally('cifar10 names', tally));
});

test('CIFAR: a directory where a record or names file should be is a UsageError naming it', () => {
  const dir = tempDir('cifar-dir');
  fs.mkdirSync(path.join(dir, 'data_batch_1.bin'));
  for (const f of [2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat('test_batch.bin'))
    fs.writeFileSync(path.join(dir, f), REC10);
  const tally = newTally();
  checkReader(
    {
      read: () => loadCifar('cifar10', 'train', dir),
      names: 'data_batch_1.bin',
      inputBytes: 0,
      allocPerByte: 0,
    },
    tally,
  );
  // The same for the class-name file.
  fs.rmdirSync(path.join(dir, 'data_batch_1.bin'));
  fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), REC10);
  fs.mkdirSync(path.join(dir, 'batches.meta.txt'));
  checkReader(
    {
      read: () => loadCifar('cifar10', 'test', dir),
      names: 'batches.meta.txt',
      inputBytes: 0,
      allocPerByte: 0,
    },
    tally,
  );
  assert.equal(tally.refused, 2);
});

test('CIFAR: a record or class-name file past its cap is refused from its size, before it is read', () => {
  const dir = tempDir('cifar-cap');
  fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), REC10);
  const big = path.join(dir, 'test_batch.bin');
  // Sparse, and a whole number of records: only the cap can refuse it.
  fs.writeFileSync(big, '');
  fs.truncateSync(big, (CIFAR_MAX_RECORDS + 1) * 3073);
  const tally = newTally();
  const read = () => loadCifar('cifar10', 'test', dir);
  checkReader({ read, names: 'test_batch.bin', inputBytes: 0, allocPerByte: 0 }, tally);
  fs.writeFileSync(big, REC10);
  const names = path.join(dir, 'batches.meta.txt');
  fs.writeFileSync(names, '');
  fs.truncateSync(names, CIFAR_NAMES_MAX_BYTES + 1);
  checkReader(
    { read, names: 'batches.meta.txt', inputBytes: REC10.length, allocPerByte: 4 },
    tally,
  );
  assert.equal(tally.refused, 2);
});
