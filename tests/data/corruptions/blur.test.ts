import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Rng, rngFor } from '../../../src/core/rng.ts';
import { gaussianKernel } from '../../../src/data/corruptions/gaussian.ts';
import {
  glassBlur,
  glassPassBlur,
  shufflePixels,
} from '../../../src/data/corruptions/glass-blur.ts';
import { applyCorruption } from '../../../src/data/corruptions/index.ts';
import { motionBlurAt, motionKernel } from '../../../src/data/corruptions/motion-blur.ts';
import { toUnit } from '../../../src/data/corruptions/pixels.ts';
import { constantImage, H, mnistImage, W } from './fixtures.ts';

/** A generator whose coin never comes up: glass_blur's shuffle then swaps nothing. */
const neverSwap = { next: () => 0.99, int: () => 0 } as unknown as Rng;

test('glass_blur blurs down the columns only, with the σ = 0.7 Gaussian (radius 3)', () => {
  const x = new Float64Array(H * W);
  x[14 * W + 9] = 1;
  const y = glassPassBlur(x, H, W);
  const k = gaussianKernel(0.7);
  assert.equal(k.length, 7);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const expected = c === 9 && Math.abs(r - 14) <= 3 ? k[r - 14 + 3]! : 0;
      assert.ok(Math.abs(y[r * W + c]! - expected) < 1e-12, `(${r}, ${c})`);
    }
  }
});

test('glass_blur is blur ∘ (truncate to bytes, shuffle) ∘ blur', () => {
  const x = toUnit(mnistImage(8));
  // Without swaps the middle step is only np.uint8 truncation.
  const first = glassPassBlur(x, H, W);
  const bytes = first.map((v) => Math.floor(v * 255 + 1e-9) / 255);
  const noSwap = glassPassBlur(bytes, H, W);
  const got = glassBlur(x, H, W, neverSwap);
  got.forEach((v, i) => {
    assert.ok(Math.abs(v - noSwap[i]!) < 1e-12);
  });
  // With the seeded shuffle the output differs, yet the total mass stays (a shuffle permutes).
  const out = applyCorruption('glass_blur', mnistImage(8), H, W, rngFor(1, 'g'));
  const sumIn = mnistImage(8).reduce((s, v) => s + v, 0);
  const sumOut = out.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sumOut - sumIn) / sumIn < 0.03, `mass ${sumIn} → ${sumOut}`);
  assert.ok(out.some((v, i) => Math.abs(v - Math.round(255 * noSwap[i]!)) > 2));
});

test('the glass shuffle permutes pixels, swaps with up-left neighbours and spares row 0 and column 0', () => {
  const img = Uint8Array.from({ length: H * W }, (_, i) => i % 251);
  const out = Uint8Array.from(img);
  shufflePixels(out, H, W, 1, 2, rngFor(3, 's'));
  assert.deepEqual([...out].sort(), [...img].sort());
  for (let i = 0; i < W; i++) assert.equal(out[i], img[i]);
  for (let r = 0; r < H; r++) assert.equal(out[r * W], img[r * W]);
  const moved = out.filter((v, i) => v !== img[i]).length;
  assert.ok(moved > 200, `only ${moved} pixels moved`);
  // One swap at a time: a single marked pixel moves by at most one row and column.
  const one = new Uint8Array(H * W);
  one[10 * W + 10] = 255;
  const swapAll = {
    next: () => 0, // coin always up
    int: (lo: number) => lo, // dx = dy = −1
  } as unknown as Rng;
  const single = Uint8Array.from(one);
  // Rows 11…2, descending: (11, 11) swaps with (10, 10) first, and nothing visits (11, 11) again.
  shufflePixels(single, 12, W, 1, 1, swapAll);
  assert.equal(single.indexOf(255), 11 * W + 11);
  assert.equal(single.filter((v) => v === 255).length, 1);
});

test('motion_blur kernel: 21 taps, weights exp(−i²/18) summing to 1, offsets along the angle', () => {
  for (const angle of [-45, -20, 0, 13.7, 45]) {
    const { weights, dx, dy } = motionKernel(10, 3, angle);
    assert.equal(weights.length, 21);
    const sum = weights.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
    const a = (angle * Math.PI) / 180;
    for (let i = 0; i < 21; i++) {
      assert.ok(Math.abs(weights[i]! / weights[0]! - Math.exp(-(i * i) / 18)) < 1e-12);
      assert.ok(Math.abs(dx[i]! - i * Math.cos(a)) <= 0.5 + 1e-9);
      assert.ok(Math.abs(dy[i]! - i * Math.sin(a)) <= 0.5 + 1e-9);
    }
  }
});

test('motion_blur spreads a single bright pixel along a line at the drawn angle', () => {
  const n = 61;
  const img = constantImage(n, n, 0);
  img[30 * n + 30] = 255;
  const angles: number[] = [];
  for (let k = 0; k < 3; k++) {
    const angle = rngFor(7, 'train', k, 'motion_blur').uniform(-45, 45);
    angles.push(angle);
    const out = applyCorruption('motion_blur', img, n, n, rngFor(7, 'train', k, 'motion_blur'));
    const a = (angle * Math.PI) / 180;
    let lit = 0;
    let total = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const v = out[r * n + c]!;
        if (v === 0) continue;
        lit++;
        total += v;
        // Output p reads input p + offset_i, so the light lands at 30 − offset_i: behind the pixel.
        const u = 30 - c;
        const t = 30 - r;
        const along = u * Math.cos(a) + t * Math.sin(a);
        const across = Math.abs(-u * Math.sin(a) + t * Math.cos(a));
        assert.ok(along >= 0 && along <= 20.5, `along ${along}`);
        assert.ok(across <= Math.SQRT1_2 + 1e-9, `(${r}, ${c}) is ${across} px off the line`);
      }
    }
    assert.ok(lit >= 8, `only ${lit} pixels lit`);
    assert.ok(Math.abs(total - 255) <= lit, `mass ${total}`);
    // The same blur, computed directly at the drawn angle.
    const direct = motionBlurAt(toUnit(img), n, n, angle);
    out.forEach((v, i) => {
      assert.ok(Math.abs(v - 255 * direct[i]!) <= 0.5 + 1e-9);
    });
  }
  assert.ok(angles.every((a) => a >= -45 && a < 45));
});
