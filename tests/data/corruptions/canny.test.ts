import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.ts';
import { applyCorruption } from '../../../src/data/corruptions/index.ts';
import { constantImage, H, mnistImage, W } from './fixtures.ts';

const canny = (img: Uint8Array): Uint8Array =>
  applyCorruption('canny_edges', img, H, W, new Rng(0));

/** Pixels on either side of a stroke boundary (value ≥ 128 next to a 4-neighbour < 128). */
function boundary(img: Uint8Array): Uint8Array {
  const b = new Uint8Array(H * W);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const on = img[r * W + c]! >= 128;
      for (const [dr, dc] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr < H && cc < W && img[rr * W + cc]! >= 128 !== on) {
          b[r * W + c] = 1;
          b[rr * W + cc] = 1;
        }
      }
    }
  }
  return b;
}

function nearBoundary(b: Uint8Array, r: number, c: number, radius: number): boolean {
  for (let rr = Math.max(0, r - radius); rr <= Math.min(H - 1, r + radius); rr++) {
    for (let cc = Math.max(0, c - radius); cc <= Math.min(W - 1, c + radius); cc++) {
      if (b[rr * W + cc]) return true;
    }
  }
  return false;
}

test('canny_edges outlines a filled square: a closed ring on its boundary, nothing else', () => {
  const img = constantImage(H, W, 0);
  for (let r = 9; r <= 18; r++) for (let c = 8; c <= 19; c++) img[r * W + c] = 255;
  const out = canny(img);
  const b = boundary(img);
  out.forEach((v, i) => {
    assert.ok(v === 0 || v === 255);
    if (v) assert.ok(b[i], `edge at (${Math.floor(i / W)}, ${i % W}) is off the boundary`);
  });
  // Every side is marked along its whole length.
  for (let r = 10; r <= 17; r++) {
    assert.ok(out[r * W + 7] || out[r * W + 8], `left side, row ${r}`);
    assert.ok(out[r * W + 19] || out[r * W + 20], `right side, row ${r}`);
  }
  for (let c = 9; c <= 18; c++) {
    assert.ok(out[8 * W + c] || out[9 * W + c], `top side, column ${c}`);
    assert.ok(out[18 * W + c] || out[19 * W + c], `bottom side, column ${c}`);
  }
});

test('canny_edges on digits is binary and marks the strokes’ outline', () => {
  assert.ok(
    canny(constantImage(H, W, 90)).every((v) => v === 0),
    'a flat image has no edges',
  );
  for (const index of [0, 1, 2, 3, 4]) {
    const img = mnistImage(index);
    const out = canny(img);
    const b = boundary(img);
    let edges = 0;
    out.forEach((v, i) => {
      assert.ok(v === 0 || v === 255);
      if (!v) return;
      edges++;
      assert.ok(nearBoundary(b, Math.floor(i / W), i % W, 1), `digit ${index}: stray edge ${i}`);
    });
    // Most of the outline is found.
    let outline = 0;
    let covered = 0;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        if (!b[r * W + c]) continue;
        outline++;
        let hit = false;
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            const rr = r + dr;
            const cc = c + dc;
            if (rr >= 0 && rr < H && cc >= 0 && cc < W && out[rr * W + cc]) hit = true;
          }
        }
        if (hit) covered++;
      }
    }
    assert.ok(edges > 20);
    assert.ok(covered / outline > 0.8, `digit ${index}: ${covered}/${outline} of the outline`);
  }
});
