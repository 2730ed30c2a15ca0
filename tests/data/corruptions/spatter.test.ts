import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corruptSample } from '../../../src/data/corruptions/index.ts';
import { constantImage, H, mnistImage, W } from './fixtures.ts';

const MUD = 63;

test('spatter only blends pixels toward 63 with weight ≥ 0.8, or leaves them', () => {
  const img = mnistImage(10);
  let changed = 0;
  for (let k = 0; k < 20; k++) {
    const out = corruptSample('spatter', img, H, W, 1, 'train', k);
    out.forEach((v, i) => {
      const x = img[i]!;
      if (v === x) return;
      changed++;
      // v = x·(1 − m) + 63·m with m ∈ [0.8, 1]: between x and 63, within 20 % of |x − 63| of 63.
      assert.ok(Math.abs(v - MUD) <= 0.2 * Math.abs(x - MUD) + 1, `${x} → ${v}`);
      assert.ok(Math.min(x, MUD) - 1 <= v && v <= Math.max(x, MUD) + 1);
    });
  }
  assert.ok(changed > 50, `only ${changed} pixels spattered in 20 images`);
});

test('spatter on a black image writes only values in [0.8·63, 63]', () => {
  const img = constantImage(H, W, 0);
  const values = new Set<number>();
  for (let k = 0; k < 20; k++) {
    for (const v of corruptSample('spatter', img, H, W, 2, 'test', k)) values.add(v);
  }
  values.delete(0);
  assert.ok(values.size > 0);
  for (const v of values) assert.ok(v >= 50 && v <= MUD, `value ${v}`);
});
