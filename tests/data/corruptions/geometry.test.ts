import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corruptSample } from '../../../src/data/corruptions/index.ts';
import { boundingBox, H, mnistImage, W } from './fixtures.ts';

/**
 * Brute-force reference, written independently of warp.ts: compose the 3×3 homogeneous maps
 * T(centre)·L·T(−centre) and sample bilinearly as a sum over the four integer neighbours with
 * tent weights (1 − |Δr|)(1 − |Δc|), zero outside the image.
 */
type M3 = number[][];
const mul = (a: M3, b: M3): M3 =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const shift = (tx: number, ty: number): M3 => [
  [1, 0, tx],
  [0, 1, ty],
  [0, 0, 1],
];

function referenceWarp(img: Uint8Array, linear: M3): Float64Array {
  const m = mul(mul(shift(13.5, 13.5), linear), shift(-13.5, -13.5));
  const out = new Float64Array(H * W);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const sc = m[0]![0]! * c + m[0]![1]! * r + m[0]![2]!;
      const sr = m[1]![0]! * c + m[1]![1]! * r + m[1]![2]!;
      let v = 0;
      for (const rr of [Math.floor(sr), Math.floor(sr) + 1]) {
        for (const cc of [Math.floor(sc), Math.floor(sc) + 1]) {
          const wgt = Math.max(0, 1 - Math.abs(sr - rr)) * Math.max(0, 1 - Math.abs(sc - cc));
          if (wgt > 0 && rr >= 0 && rr < H && cc >= 0 && cc < W) v += wgt * img[rr * W + cc]!;
        }
      }
      out[r * W + c] = v;
    }
  }
  return out;
}

const close = (out: Uint8Array, ref: Float64Array): boolean =>
  ref.every((v, i) => Math.abs(out[i]! - v) <= 0.5 + 1e-6);

const rotation = (t: number): M3 => [
  [Math.cos(t), -Math.sin(t), 0],
  [Math.sin(t), Math.cos(t), 0],
  [0, 0, 1],
];
const shearing = (s: number): M3 => [
  [1, -Math.sin(s), 0],
  [0, Math.cos(s), 0],
  [0, 0, 1],
];

for (const [name, linear] of [
  ['rotate', rotation],
  ['shear', shearing],
] as const) {
  test(`${name} is the inverse map at +0.4 or −0.4 about (13.5, 13.5); both signs occur`, () => {
    const img = mnistImage(4);
    const signs = new Set<number>();
    for (let k = 0; k < 12; k++) {
      const out = corruptSample(name, img, H, W, 1, 'train', k);
      const plus = close(out, referenceWarp(img, linear(0.4)));
      const minus = close(out, referenceWarp(img, linear(-0.4)));
      assert.ok(plus !== minus, `sample ${k}: must match exactly one sign`);
      signs.add(plus ? 1 : -1);
    }
    assert.equal(signs.size, 2);
  });
}

test('scale is the inverse map scaled by 1/0.7 and shrinks the bounding box to ~70 %', () => {
  const s = 1 / 0.7;
  for (const index of [0, 1, 2, 5]) {
    const img = mnistImage(index);
    const out = corruptSample('scale', img, H, W, 1, 'train', index);
    const ref = referenceWarp(img, [
      [s, 0, 0],
      [0, s, 0],
      [0, 0, 1],
    ]);
    assert.ok(close(out, ref));
    const [r0, r1, c0, c1] = boundingBox(img, H, W, 127);
    const [q0, q1, p0, p1] = boundingBox(out, H, W, 127);
    const ratioH = (q1 - q0 + 1) / (r1 - r0 + 1);
    const ratioW = (p1 - p0 + 1) / (c1 - c0 + 1);
    assert.ok(ratioH > 0.6 && ratioH < 0.8, `height ratio ${ratioH}`);
    assert.ok(ratioW > 0.55 && ratioW < 0.85, `width ratio ${ratioW}`);
  }
});

test('translate shifts by exactly 3 px in x and y with zero fill; all four directions occur', () => {
  const img = mnistImage(2);
  const seen = new Set<string>();
  for (let k = 0; k < 24; k++) {
    const out = corruptSample('translate', img, H, W, 9, 'train', k);
    const matches: string[] = [];
    for (const dx of [-3, 3]) {
      for (const dy of [-3, 3]) {
        let ok = true;
        for (let r = 0; r < H && ok; r++) {
          for (let c = 0; c < W && ok; c++) {
            const sr = r - dy;
            const sc = c - dx;
            const expected = sr >= 0 && sr < H && sc >= 0 && sc < W ? img[sr * W + sc]! : 0;
            ok = out[r * W + c] === expected;
          }
        }
        if (ok) matches.push(`${dx},${dy}`);
      }
    }
    assert.equal(matches.length, 1, `sample ${k} matched ${matches.join(' ')}`);
    seen.add(matches[0]!);
  }
  assert.equal(seen.size, 4);
});
