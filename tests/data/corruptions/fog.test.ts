import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, rngFor } from '../../../src/core/rng.ts';
import { plasmaFractal } from '../../../src/data/corruptions/fog.ts';
import { applyCorruption } from '../../../src/data/corruptions/index.ts';
import { H, mnistImage, W } from './fixtures.ts';

/** Mean squared 5-point Laplacian over the variance: ≈ 20 for white noise, small for a smooth field. */
function roughness(f: ArrayLike<number>, n: number, stride: number): number {
  let mean = 0;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) mean += f[r * stride + c]!;
  mean /= n * n;
  let variance = 0;
  let lap = 0;
  let count = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = f[r * stride + c]!;
      variance += (v - mean) ** 2;
      if (r > 0 && c > 0 && r < n - 1 && c < n - 1) {
        const l =
          4 * v -
          f[(r - 1) * stride + c]! -
          f[(r + 1) * stride + c]! -
          f[r * stride + c - 1]! -
          f[r * stride + c + 1]!;
        lap += l * l;
        count++;
      }
    }
  }
  return lap / count / (variance / (n * n));
}

test('the plasma fractal spans [0, 1] on a 256² map and is smooth (low high-frequency energy)', () => {
  for (let s = 0; s < 3; s++) {
    const map = plasmaFractal(new Rng(s));
    assert.equal(map.length, 256 * 256);
    assert.equal(Math.min(...map), 0);
    assert.equal(Math.max(...map), 1);
    assert.ok(roughness(map, 28, 256) < 2, `crop roughness ${roughness(map, 28, 256)}`);
  }
  const noise = new Rng(9);
  const white = Float64Array.from({ length: 28 * 28 }, () => noise.next());
  assert.ok(roughness(white, 28, 28) > 10);
  assert.notDeepEqual(
    plasmaFractal(new Rng(1)).slice(0, 100),
    plasmaFractal(new Rng(2)).slice(0, 100),
  );
});

test('fog adds 3·plasma[:28, :28] and rescales by max(x)/(max(x) + 3)', () => {
  const img = mnistImage(9);
  const max = Math.max(...img) / 255;
  const factor = max / (max + 3);
  const out = applyCorruption('fog', img, H, W, rngFor(4, 'f'));
  const map = plasmaFractal(rngFor(4, 'f'));
  const added = new Float64Array(H * W);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const i = r * W + c;
      const x = img[i]! / 255;
      const expected = Math.min(1, (x + 3 * map[r * 256 + c]!) * factor);
      assert.ok(Math.abs(out[i]! - 255 * expected) <= 0.5 + 1e-9, `(${r}, ${c})`);
      // Independently of the map: the fog term lies in [0, 3·factor].
      assert.ok(out[i]! >= Math.round(255 * x * factor) - 1);
      assert.ok(out[i]! <= Math.round(255 * Math.min(1, (x + 3) * factor)) + 1);
      added[i] = out[i]! / 255 / factor - x;
    }
  }
  // What fog added is a smooth field (up to the uint8 rounding).
  assert.ok(roughness(added, 28, 28) < 3, `added roughness ${roughness(added, 28, 28)}`);
});
