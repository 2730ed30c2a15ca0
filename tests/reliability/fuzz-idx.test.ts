/**
 * Fuzzed IDX reader (MNIST / Fashion-MNIST files, raw and gzip): truncation, bit flips, header
 * fields set to huge or zero values, inserted and deleted bytes, damaged gzip streams. Every case
 * is accepted or refused with a one-line UsageError naming the file, within its time budget and
 * without an allocation beyond what the file's bytes justify.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { UsageError } from '../../src/core/errors.ts';
import { IDX_MAX_INFLATED_BYTES, readIdxFile } from '../../src/data/idx.ts';
import { loadIdxPair } from '../../src/data/mnist.ts';
import { idxImages, idxLabels, tempDir } from '../data/helpers.ts';
import {
  applyMutations,
  checkReader,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  headerMutationArb,
  mutationArb,
  newTally,
  watchAllocations,
} from './fuzz.ts';

const N = 6;
const IMAGES = idxImages(N, 5, 4, (i) => (i * 37) & 255);
const LABELS = idxLabels([0, 1, 2, 9, 4, 5]);

/** Decompressed size when the bytes inflate, else the raw size: what the reader may allocate on. */
function justified(bytes: Buffer): number {
  try {
    return Math.max(bytes.length, gunzipSync(bytes).length);
  } catch {
    return bytes.length;
  }
}

/** No stray files: a reader never writes, so the directory holds exactly what the test wrote. */
function assertOnly(dir: string, names: string[]): void {
  assert.deepEqual(fs.readdirSync(dir).sort(), [...names].sort());
}

function fuzzPair(
  t: { diagnostic: (s: string) => void },
  label: string,
  which: 'images' | 'labels',
  gzip: 'none' | 'content' | 'stream',
  arb: fc.Arbitrary<Parameters<typeof applyMutations>[1]>,
  runs: number,
): void {
  const dir = tempDir(`fuzz-idx-${which}`);
  const img = path.join(dir, 'images-idx3-ubyte');
  const lab = path.join(dir, 'labels-idx1-ubyte');
  const tally = newTally();
  fc.assert(
    fc.property(arb, (muts) => {
      const seed = which === 'images' ? IMAGES : LABELS;
      // 'content': valid gzip around damaged IDX; 'stream': damage to the gzip bytes themselves.
      const bytes =
        gzip === 'none'
          ? applyMutations(seed, muts)
          : gzip === 'content'
            ? gzipSync(applyMutations(seed, muts))
            : applyMutations(gzipSync(seed), muts);
      fs.writeFileSync(img, which === 'images' ? bytes : IMAGES);
      fs.writeFileSync(lab, which === 'labels' ? bytes : LABELS);
      const target = which === 'images' ? img : lab;
      checkReader(
        {
          read: () => loadIdxPair('fuzz', img, lab),
          names: path.basename(target),
          inputBytes: justified(bytes) + IMAGES.length + LABELS.length,
          allocPerByte: 8,
          budgetMs: 1000,
        },
        tally,
      );
      assertOnly(dir, [path.basename(img), path.basename(lab)]);
    }),
    { numRuns: runs, seed: FUZZ_SEED },
  );
  assert.ok(tally.refused > 0, 'the fuzzer never produced a refused file');
  t.diagnostic(describeTally(label, tally));
}

const damage = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

test('fuzz IDX images, raw: truncation, bit flips, inserted/deleted bytes', (t) => {
  fuzzPair(t, 'idx images raw', 'images', 'none', damage, fuzzRuns(300));
});

test('fuzz IDX images, raw: header fields (magic, n, rows, cols) set to edge values', (t) => {
  fuzzPair(
    t,
    'idx images header',
    'images',
    'none',
    fc.array(headerMutationArb(16), { minLength: 1, maxLength: 3 }),
    fuzzRuns(300),
  );
});

test('fuzz IDX labels, raw: damage and header fields', (t) => {
  fuzzPair(
    t,
    'idx labels raw',
    'labels',
    'none',
    fc.array(fc.oneof(mutationArb, headerMutationArb(8)), { minLength: 1, maxLength: 4 }),
    fuzzRuns(300),
  );
});

test('fuzz IDX gzip: valid gzip around damaged IDX, and damaged gzip streams', (t) => {
  fuzzPair(
    t,
    'idx images gzip content',
    'images',
    'content',
    fc.array(fc.oneof(mutationArb, headerMutationArb(16)), { minLength: 1, maxLength: 4 }),
    fuzzRuns(150),
  );
  fuzzPair(t, 'idx images gzip stream', 'images', 'stream', damage, fuzzRuns(150));
  fuzzPair(t, 'idx labels gzip stream', 'labels', 'stream', damage, fuzzRuns(100));
});

test('IDX declaring 2^32-1 images of 4096x4096 (or 2^32-1 labels) is refused before allocating', () => {
  const dir = tempDir('idx-huge');
  const img = path.join(dir, 'img');
  const lab = path.join(dir, 'lab');
  const head = Buffer.alloc(16 + 64);
  head.writeUInt32BE(2051, 0);
  head.writeUInt32BE(0xffffffff, 4);
  head.writeUInt32BE(4096, 8);
  head.writeUInt32BE(4096, 12);
  fs.writeFileSync(img, head);
  fs.writeFileSync(lab, LABELS);
  const r = watchAllocations(() => loadIdxPair('huge', img, lab), 1 << 20);
  assert.ok(r.error instanceof UsageError, String(r.error));
  assert.match(
    r.error.message,
    /^.*img: declared size 4294967295x4096x4096 needs \d+ bytes but the file has 80/,
  );
  assert.ok(r.maxRequest < 1 << 20, `allocated ${r.maxRequest} bytes`);

  const labHead = Buffer.alloc(8);
  labHead.writeUInt32BE(2049, 0);
  labHead.writeUInt32BE(0xffffffff, 4);
  fs.writeFileSync(img, IMAGES);
  fs.writeFileSync(lab, labHead);
  const r2 = watchAllocations(() => loadIdxPair('huge', img, lab), 1 << 20);
  assert.ok(r2.error instanceof UsageError, String(r2.error));
  assert.match(r2.error.message, /lab: declared 4294967295 labels need/);
});

test('gzip IDX whose trailer declares a multi-GiB inflated size is refused without inflating it', () => {
  const dir = tempDir('idx-bomb');
  const img = path.join(dir, 'img.gz');
  const lab = path.join(dir, 'lab');
  // A gzip stream of 4 MiB of zeros (4 KiB compressed) whose trailer (ISIZE, the inflated size
  // mod 2^32) claims 3.9 GiB: the reader must trust neither, and refuse on the declared size.
  const z = gzipSync(Buffer.alloc(4 << 20));
  z.writeUInt32LE(0xf0000000, z.length - 4);
  fs.writeFileSync(img, z);
  fs.writeFileSync(lab, LABELS);
  const t0 = performance.now();
  const r = watchAllocations(() => loadIdxPair('bomb', img, lab), 1 << 20);
  assert.ok(r.error instanceof UsageError, String(r.error));
  assert.match(r.error.message, /img\.gz: gzip data declares 4026531840 bytes inflated/);
  assert.ok(performance.now() - t0 < 500);
});

test('an IDX file past IDX_MAX_INFLATED_BYTES is refused from its size, before anything is read', () => {
  const file = path.join(tempDir('idx-cap'), 'big-images-idx3-ubyte');
  // Sparse: the size is real, the disk blocks are not.
  fs.writeFileSync(file, '');
  fs.truncateSync(file, IDX_MAX_INFLATED_BYTES + 1);
  const tally = newTally();
  checkReader(
    {
      read: () => readIdxFile(file),
      names: 'big-images-idx3-ubyte',
      inputBytes: 0,
      allocPerByte: 0,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});
