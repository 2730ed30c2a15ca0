import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/core/errors.ts';
import { Rng } from '../../../src/core/rng.ts';
import {
  applyCorruption,
  CORRUPTIONS,
  type CorruptionName,
  corruptSample,
  isCorruptionName,
} from '../../../src/data/corruptions/index.ts';
import { bytesEqual, H, mnistImage, W } from './fixtures.ts';

test('the 15 MNIST-C corruptions, alphabetical and unique', () => {
  assert.equal(CORRUPTIONS.length, 15);
  assert.deepEqual([...CORRUPTIONS], [...CORRUPTIONS].sort());
  assert.equal(new Set(CORRUPTIONS).size, 15);
  for (const n of CORRUPTIONS) assert.ok(isCorruptionName(n));
  for (const n of ['identity', 'Fog', 'gaussian_noise', 'toString', ''])
    assert.ok(!isCorruptionName(n));
});

test('every corruption returns a new 28×28 array, leaves its input alone and changes the image', () => {
  const img = mnistImage(13);
  const copy = Uint8Array.from(img);
  for (const name of CORRUPTIONS) {
    const out = applyCorruption(name, img, H, W, new Rng(1));
    assert.ok(out instanceof Uint8Array);
    assert.equal(out.length, H * W);
    assert.notEqual(out, img);
    assert.ok(bytesEqual(img, copy), `${name} mutated its input`);
    assert.ok(!bytesEqual(out, img), `${name} left the image unchanged`);
  }
});

test('bad input is refused with a one-line UsageError', () => {
  const img = mnistImage(0);
  assert.throws(
    () => applyCorruption('fog', img, 32, 32, new Rng(1)),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /32×32 = 1024 bytes; got 784/);
      return true;
    },
  );
  assert.throws(
    () => corruptSample('frost' as CorruptionName, img, H, W, 1, 'train', 0),
    /must be one of brightness, .*zigzag; got "frost"/,
  );
  assert.throws(
    () => applyCorruption('toString' as CorruptionName, img, H, W, new Rng(1)),
    UsageError,
  );
  assert.throws(
    () => applyCorruption('fog', new Uint8Array(300 * 300), 300, 300, new Rng(1)),
    UsageError,
  );
});

test('corruptions work on other image sizes (non-square)', () => {
  const h = 20;
  const w = 33;
  const img = Uint8Array.from({ length: h * w }, (_, i) => (i * 37) % 256);
  for (const name of CORRUPTIONS) {
    const out = applyCorruption(name, img, h, w, new Rng(2));
    assert.equal(out.length, h * w, name);
  }
});
