import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSeed, Rng, rngFor } from '../../src/core/rng.ts';

test('same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 8 }, () => a.nextUint32());
  const sb = Array.from({ length: 8 }, () => b.nextUint32());
  const sc = Array.from({ length: 8 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('rngFor is keyed on its parts, not on call order', () => {
  const x1 = rngFor(1, 'train', 5, 'fog').next();
  rngFor(1, 'train', 6, 'fog').next();
  const x2 = rngFor(1, 'train', 5, 'fog').next();
  assert.equal(x1, x2);
  assert.notEqual(hashSeed(1, 'train', 5), hashSeed(1, 'train', 6));
});

test('int() follows numpy randint (hi exclusive) and covers the range', () => {
  const r = new Rng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(-2, 2);
    assert.ok(v >= -2 && v < 2);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [-1, -2, 0, 1].sort());
});

test('normal() has mean ≈ 0 and variance ≈ 1', () => {
  const r = new Rng(3);
  const n = 20000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.05);
});

test('permutation is a permutation', () => {
  const p = new Rng(9).permutation(100);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
});
