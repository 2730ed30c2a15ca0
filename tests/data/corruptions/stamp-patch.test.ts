import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/core/errors.ts';
import { type Corner, stampPatch } from '../../../src/data/corruptions/index.ts';
import { mnistImage } from './fixtures.ts';

function changed(a: Uint8Array, b: Uint8Array): number[] {
  const idx: number[] = [];
  a.forEach((v, i) => {
    if (v !== b[i]) idx.push(i);
  });
  return idx;
}

test('default patch: a 3×3 white square at the bottom right, a new array', () => {
  const img = mnistImage(0);
  const before = Uint8Array.from(img);
  const out = stampPatch(img, 28, 28, 1);
  assert.notEqual(out, img);
  assert.deepEqual(img, before);
  for (let r = 0; r < 28; r++) {
    for (let c = 0; c < 28; c++) {
      const inside = r >= 25 && c >= 25;
      assert.equal(out[r * 28 + c], inside ? 255 : img[r * 28 + c], `(${r}, ${c})`);
    }
  }
});

test('corners, sizes, values and channels', () => {
  const h = 6;
  const w = 8;
  const img = new Uint8Array(h * w * 3).fill(10);
  const where: Record<Corner, [number, number]> = {
    'top-left': [0, 0],
    'top-right': [0, w - 2],
    'bottom-left': [h - 2, 0],
    'bottom-right': [h - 2, w - 2],
  };
  for (const [corner, [top, left]] of Object.entries(where) as [Corner, [number, number]][]) {
    const out = stampPatch(img, h, w, 3, { corner, size: 2, value: 77 });
    const expected: number[] = [];
    for (let r = top; r < top + 2; r++) {
      for (let c = left; c < left + 2; c++)
        for (let k = 0; k < 3; k++) expected.push((r * w + c) * 3 + k);
    }
    assert.deepEqual(changed(img, out), expected, corner);
    for (const i of expected) assert.equal(out[i], 77);
  }
});

test('bad patches are refused with a UsageError', () => {
  const img = new Uint8Array(28 * 28);
  assert.throws(() => stampPatch(img, 28, 28, 3), UsageError);
  assert.throws(() => stampPatch(img, 28, 28, 1, { size: 0 }), UsageError);
  assert.throws(() => stampPatch(img, 28, 28, 1, { size: 29 }), UsageError);
  assert.throws(() => stampPatch(img, 28, 28, 1, { value: 256 }), UsageError);
  assert.throws(() => stampPatch(img, 28, 28, 1, { value: 1.5 }), UsageError);
  assert.throws(() => stampPatch(img, 28, 28, 1, { corner: 'middle' as Corner }), /corner/);
});
