/** The fuzz harness itself can fail: it catches crashes, oversized allocations, bad messages. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import {
  AllocationTooLarge,
  applyMutations,
  checkReader,
  mutateJson,
  newTally,
  watchAllocations,
} from './fuzz.ts';

test('watchAllocations sees typed arrays, ArrayBuffer, Array and Buffer.alloc, and restores them', () => {
  const realU8 = Uint8Array;
  for (const [alloc, bytes] of [
    [() => new Float32Array(1000), 4000],
    [() => new ArrayBuffer(777), 777],
    [() => new Array(50), 400],
    [() => Buffer.alloc(123), 123],
    [() => Float64Array.from({ length: 10 }), 80],
    [() => new Uint8Array(new ArrayBuffer(8), 0, 4), 8],
  ] as [() => unknown, number][]) {
    const r = watchAllocations(alloc, 1 << 20);
    assert.equal(r.maxRequest, bytes, String(alloc));
    assert.equal(r.error, undefined);
  }
  const big = watchAllocations(() => new Float32Array(2 ** 30), 1 << 20);
  assert.ok(big.error instanceof AllocationTooLarge);
  assert.equal(big.maxRequest, 2 ** 32);
  assert.equal(Uint8Array, realU8);
  assert.ok(new Uint8Array(2) instanceof realU8);
});

test('checkReader fails on a crash, a multi-line or anonymous UsageError, a slow case, a huge allocation', () => {
  const tally = newTally();
  const base = { names: 'f.bin', inputBytes: 10, allocPerByte: 1, slackBytes: 100 };
  checkReader({ ...base, read: () => 1 }, tally);
  checkReader(
    {
      ...base,
      read: () => {
        throw new UsageError('f.bin', 'bad');
      },
    },
    tally,
  );
  assert.deepEqual([tally.cases, tally.accepted, tally.refused], [2, 1, 1]);
  const fails = [
    () => {
      throw new RangeError('Invalid typed array length');
    },
    () => {
      throw new UsageError('other.bin', 'bad');
    },
    () => new Uint8Array(1000),
    () => {
      const t0 = Date.now();
      while (Date.now() - t0 < 60);
    },
  ];
  for (const read of fails)
    assert.throws(
      () => checkReader({ ...base, budgetMs: 30, read }, newTally()),
      assert.AssertionError,
    );
  // UsageError escapes control characters, so a message stays one line whatever a file holds.
  assert.equal(new UsageError('f', 'got "a\nb\r\x00"').message, 'f: got "a\\x0ab\\x0d\\x00"');
});

test('mutations: truncation, flips, 32-bit sets, inserts and deletes; JSON edits on a copy', () => {
  const b = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...applyMutations(b, [{ kind: 'truncate', at: 0.5 }])], [1, 2, 3, 4]);
  assert.deepEqual([...applyMutations(b, [{ kind: 'flip', at: 0, bit: 7 }])].slice(0, 2), [129, 2]);
  assert.deepEqual(
    [...applyMutations(b, [{ kind: 'set32', at: 0, offset: 4, value: 0xffffffff, le: false }])],
    [1, 2, 3, 4, 255, 255, 255, 255],
  );
  assert.equal(
    applyMutations(b, [{ kind: 'insert', at: 0.25, bytes: new Uint8Array(3) }]).length,
    11,
  );
  assert.deepEqual(
    [...applyMutations(b, [{ kind: 'delete', at: 0.75, len: 10 }])],
    [1, 2, 3, 4, 5, 6],
  );
  const base = { a: { b: [1, 2] }, c: 'x' };
  const m = mutateJson(base, [{ kind: 'replace', path: 3, value: 'NaN' }]);
  assert.deepEqual(base, { a: { b: [1, 2] }, c: 'x' });
  assert.notDeepEqual(m, base);
});
