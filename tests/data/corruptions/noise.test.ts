import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, rngFor } from '../../../src/core/rng.ts';
import { applyCorruption, corruptSample } from '../../../src/data/corruptions/index.ts';
import { poisson } from '../../../src/data/corruptions/shot-noise.ts';
import { constantImage, H, mnistImage, W } from './fixtures.ts';

const N = 200; // a 200×200 grey image: 40 000 pixels make the rates sharp

test('impulse_noise sets ~17 % of pixels to 0 or 255, half each, and leaves the rest', () => {
  const img = constantImage(N, N, 128);
  const out = applyCorruption('impulse_noise', img, N, N, new Rng(3));
  let salt = 0;
  let pepper = 0;
  for (const v of out) {
    if (v === 255) salt++;
    else if (v === 0) pepper++;
    else assert.equal(v, 128);
  }
  const rate = (salt + pepper) / out.length;
  assert.ok(Math.abs(rate - 0.17) < 0.01, `rate ${rate}`);
  assert.ok(Math.abs(salt / (salt + pepper) - 0.5) < 0.04, `salt share ${salt / (salt + pepper)}`);
});

test('impulse_noise on a digit only ever writes 0 or 255', () => {
  const img = mnistImage(5);
  const out = corruptSample('impulse_noise', img, H, W, 1, 'train', 5);
  let changed = 0;
  out.forEach((v, i) => {
    if (v !== img[i]) {
      changed++;
      assert.ok(v === 0 || v === 255);
    }
  });
  assert.ok(changed > 20);
});

test('poisson() follows the Poisson pmf for λ = 3', () => {
  const rng = new Rng(8);
  const n = 20000;
  const counts = new Array(12).fill(0);
  for (let i = 0; i < n; i++) counts[Math.min(11, poisson(3, rng))]++;
  let pmf = Math.exp(-3);
  for (let k = 0; k < 8; k++) {
    const sd = Math.sqrt(n * pmf * (1 - pmf));
    assert.ok(Math.abs(counts[k] - n * pmf) < 5 * sd + 1, `k=${k}: ${counts[k]} vs ${n * pmf}`);
    pmf *= 3 / (k + 1);
  }
});

test('shot_noise values lie on the lattice k/3 and the (clipped) mean is preserved', () => {
  const img = constantImage(N, N, 51); // x = 0.2, λ = 0.6
  const out = applyCorruption('shot_noise', img, N, N, new Rng(4));
  const lattice = new Set([0, 85, 170, 255]);
  let sum = 0;
  for (const v of out) {
    assert.ok(lattice.has(v), `value ${v}`);
    sum += v;
  }
  // E[min(K, 3)] / 3 for K ~ Poisson(0.6): clipping at 1 removes a little mass.
  let expected = 0;
  let pmf = Math.exp(-0.6);
  for (let k = 0; k < 30; k++) {
    expected += (Math.min(k, 3) / 3) * pmf;
    pmf *= 0.6 / (k + 1);
  }
  assert.ok(Math.abs(sum / out.length / 255 - expected) < 0.01, `mean ${sum / out.length / 255}`);
  assert.ok(Math.abs(expected - 0.2) < 0.01);

  const digit = mnistImage(6);
  const noisy = applyCorruption('shot_noise', digit, H, W, rngFor(1, 'x'));
  noisy.forEach((v, i) => {
    assert.ok(lattice.has(v));
    if (digit[i] === 0) assert.equal(v, 0);
  });
});
