import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.ts';
import { applyCorruption } from '../../../src/data/corruptions/index.ts';
import { H, mnistImage, W } from './fixtures.ts';

/** A digit with a ramp added so every column, stripes included, has varied values. */
function digitWithRamp(): Uint8Array {
  const img = mnistImage(0);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) img[r * W + c] = Math.max(img[r * W + c]!, (r * 9 + c * 3) % 256);
  }
  return img;
}

test('brightness is min(x + 0.5, 1) per pixel, to the uint8 rounding', () => {
  const img = digitWithRamp();
  const out = applyCorruption('brightness', img, H, W, new Rng(1));
  for (let i = 0; i < img.length; i++) {
    const expected = Math.min(255, img[i]! + 127.5);
    assert.ok(Math.abs(out[i]! - expected) <= 0.5, `pixel ${i}: ${img[i]} → ${out[i]}`);
  }
});

test('stripe inverts exactly columns 0-6 and 21-27 and nothing else', () => {
  const img = digitWithRamp();
  const out = applyCorruption('stripe', img, H, W, new Rng(1));
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const i = r * W + c;
      const inverted = c <= 6 || c >= 21;
      assert.equal(out[i], inverted ? 255 - img[i]! : img[i], `(${r}, ${c})`);
    }
  }
});
