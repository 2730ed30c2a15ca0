import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.ts';
import { gaussianBlur, gaussianKernel } from '../../../src/data/corruptions/gaussian.ts';
import { lineFromPoints } from '../../../src/data/corruptions/line.ts';
import { quantise } from '../../../src/data/corruptions/pixels.ts';
import { aboutCentre, sampleBilinear } from '../../../src/data/corruptions/warp.ts';

test('gaussianKernel: radius ⌊4σ + 0.5⌋, symmetric, sums to 1', () => {
  for (const [sigma, radius] of [
    [0.7, 3],
    [1, 4],
    [1.5, 6],
  ] as const) {
    const k = gaussianKernel(sigma);
    assert.equal(k.length, 2 * radius + 1);
    assert.ok(Math.abs(k.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    for (let i = 0; i < k.length; i++) assert.ok(Math.abs(k[i]! - k[k.length - 1 - i]!) < 1e-15);
    assert.ok(Math.abs(k[radius + 1]! / k[radius]! - Math.exp(-0.5 / (sigma * sigma))) < 1e-12);
  }
});

test('gaussianBlur equals a brute-force 2-D convolution with clamped (nearest) or zero borders', () => {
  const h = 9;
  const w = 7;
  const rng = new Rng(1);
  const x = Float64Array.from({ length: h * w }, () => rng.next());
  const sr = 1.2;
  const sc = 0.8;
  const kr = gaussianKernel(sr);
  const kc = gaussianKernel(sc);
  const rr = (kr.length - 1) / 2;
  const rc = (kc.length - 1) / 2;
  for (const mode of ['nearest', 'constant'] as const) {
    const y = gaussianBlur(x, h, w, [sr, sc], mode);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let s = 0;
        for (let i = -rr; i <= rr; i++) {
          for (let j = -rc; j <= rc; j++) {
            let a = r + i;
            let b = c + j;
            const outside = a < 0 || a >= h || b < 0 || b >= w;
            if (outside && mode === 'constant') continue;
            a = Math.min(h - 1, Math.max(0, a));
            b = Math.min(w - 1, Math.max(0, b));
            s += kr[i + rr]! * kc[j + rc]! * x[a * w + b]!;
          }
        }
        assert.ok(Math.abs(y[r * w + c]! - s) < 1e-12, `${mode} (${r}, ${c})`);
      }
    }
  }
});

test('aboutCentre keeps (13.5, 13.5) fixed; bilinear sampling is exact at pixels, zero outside', () => {
  const m = aboutCentre(Math.cos(0.4), -Math.sin(0.4), Math.sin(0.4), Math.cos(0.4), 28, 28);
  const [a, b, tx, d, e, ty] = m;
  assert.ok(Math.abs(a * 13.5 + b * 13.5 + tx - 13.5) < 1e-12);
  assert.ok(Math.abs(d * 13.5 + e * 13.5 + ty - 13.5) < 1e-12);
  const x = Float64Array.from([1, 2, 3, 4]);
  assert.equal(sampleBilinear(x, 2, 2, 1, 0), 2);
  assert.equal(sampleBilinear(x, 2, 2, 0.5, 0.5), 2.5);
  assert.equal(sampleBilinear(x, 2, 2, -0.5, 0), 0.5);
  assert.equal(sampleBilinear(x, 2, 2, 3, 3), 0);
});

test('lineFromPoints: intensity 1 on the line, log fall-off, nothing beyond ~1.45 px or outside [⌊c0⌋, ⌈c1⌉)', () => {
  const line = lineFromPoints(2.5, 10, 20, 10, 28, 28);
  for (let c = 0; c < 28; c++) {
    for (let r = 0; r < 28; r++) {
      const v = line[r * 28 + c]!;
      if (c < 2 || c >= 20) assert.equal(v, 0);
      else {
        const d = Math.min(Math.abs(r - 10), 2.3 - 1e-10);
        assert.ok(Math.abs(v - Math.max(0, Math.log(1 - d / 2.3) + 1)) < 1e-12);
      }
    }
  }
  assert.equal(line[10 * 28 + 5], 1);
  assert.equal(line[12 * 28 + 5], 0); // d = 2 > 2.3·(1 − 1/e)
  assert.ok(lineFromPoints(5, 1, 5, 9, 28, 28).every((v) => v === 0));
});

test('quantise rounds 255·v and clips to [0, 255]', () => {
  assert.deepEqual(
    [...quantise(Float64Array.from([-0.2, 0, 0.5, 1 / 255, 0.999, 1, 7]))],
    [0, 0, 128, 1, 255, 255, 255],
  );
});
