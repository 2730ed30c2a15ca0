import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../../../src/core/rng.ts';
import { corruptSample } from '../../../src/data/corruptions/index.ts';
import { constantImage, H, mnistImage, W } from './fixtures.ts';

/** Brute-force soft line through (0, r0) and (27, r1): clip(log(1 − d/2.3) + 1), d capped at 2.3. */
function softLine(r0: number, r1: number, r: number, c: number): number {
  const d = Math.min(Math.abs(r - (r0 + ((r1 - r0) * c) / 27)), 2.3 - 1e-10);
  return Math.min(1, Math.max(0, Math.log(1 - d / 2.3) + 1));
}

test('dotted_line draws the soft line only in columns with ⌊c/2⌋ odd (2-3, 6-7, …, 26)', () => {
  const black = constantImage(H, W, 0);
  for (let k = 0; k < 6; k++) {
    const rng = rngFor(3, 'train', k, 'dotted_line');
    const r0 = rng.int(0, 27);
    const r1 = rng.int(0, 27);
    const out = corruptSample('dotted_line', black, H, W, 3, 'train', k);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const on = Math.floor(c / 2) % 2 === 1 && c < 27;
        const expected = on ? Math.round(255 * softLine(r0, r1, r, c)) : 0;
        assert.ok(Math.abs(out[r * W + c]! - expected) <= 1, `(${r}, ${c})`);
      }
    }
    for (const c of [2, 3, 26]) assert.ok(out.some((v, i) => i % W === c && v > 0));
  }
  // On a digit it only adds light, and only in the dotted columns.
  const img = mnistImage(11);
  const out = corruptSample('dotted_line', img, H, W, 3, 'train', 0);
  out.forEach((v, i) => {
    const c = i % W;
    if (Math.floor(c / 2) % 2 === 0 || c === 27) assert.equal(v, img[i]);
    else assert.ok(v >= img[i]!);
  });
});

test('zigzag adds light only within columns 2..25, in a band around its rows r0 → r1', () => {
  const black = constantImage(H, W, 0);
  for (let k = 0; k < 8; k++) {
    const rng = rngFor(5, 'train', k, 'zigzag');
    const r0 = rng.int(0, 27);
    const r1 = r0 + rng.int(-5, 5);
    const out = corruptSample('zigzag', black, H, W, 5, 'train', k);
    let crossings = 0;
    let prevTop = -1;
    let prevDir = 0;
    for (let c = 0; c < W; c++) {
      const rows: number[] = [];
      for (let r = 0; r < H; r++) if (out[r * W + c]! > 0) rows.push(r);
      if (c < 2 || c > 25) {
        assert.equal(rows.length, 0, `column ${c} must stay clean`);
        continue;
      }
      const base = r0 + ((r1 - r0) * (c - 2)) / 23;
      for (const r of rows) assert.ok(Math.abs(r - base) <= 4.5, `(${r}, ${c}) far from ${base}`);
      // It zigzags: the top of the lit run changes direction several times along the way.
      if (rows.length > 0 && prevTop >= 0) {
        const dir = Math.sign(rows[0]! - prevTop);
        if (dir !== 0 && prevDir !== 0 && dir !== prevDir) crossings++;
        if (dir !== 0) prevDir = dir;
      }
      if (rows.length > 0) prevTop = rows[0]!;
    }
    assert.ok(crossings >= 3, `sample ${k}: ${crossings} turns`);
  }
  const img = mnistImage(12);
  const out = corruptSample('zigzag', img, H, W, 5, 'train', 1);
  out.forEach((v, i) => {
    assert.ok(v >= img[i]!);
  });
});
