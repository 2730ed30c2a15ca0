import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256, sha256Json, sha256Portable } from '../../src/core/hash.ts';

test('sha256: the FIPS 180-2 vectors on both routes', () => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  for (const f of [sha256, sha256Portable]) {
    assert.equal(f('abc'), abc);
    assert.equal(f(''), empty);
    assert.equal(f(new Uint8Array([0x61, 0x62, 0x63])), abc);
  }
});

test('sha256: the page route equals Node on UTF-8 text, views and large buffers', () => {
  const text = 'Grüße, 数据 — 🧠 and a lone surrogate \ud800';
  assert.equal(sha256Portable(text), sha256(text));
  const big = new Uint8Array(3_000_001).map((_, i) => (i * 2654435761) >>> 24);
  assert.equal(sha256Portable(big), sha256(big));
  // A view into a larger buffer hashes only its own bytes.
  const f32 = new Float32Array([1, 2, 3, 4, 5]);
  const view = new Float32Array(f32.buffer, 4, 3);
  assert.equal(sha256(view), sha256(new Float32Array([2, 3, 4])));
  assert.equal(sha256Portable(view), sha256(view));
});

test('sha256Json: key order does not matter', () => {
  assert.equal(
    sha256Json({ a: 1, b: [2, { d: 3, c: 4 }] }),
    sha256Json({ b: [2, { c: 4, d: 3 }], a: 1 }),
  );
});
