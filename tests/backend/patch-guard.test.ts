/**
 * The patches of backend/wasm are written for one tfjs release: this fails on an upgrade until
 * they are rechecked (and PATCHED_FOR updated); on another release they are not installed.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { PATCHED_FOR, patchProblem } from '../../src/backend/patch-guard.ts';

const require = createRequire(import.meta.url);

test('the installed tfjs is the release the patches were written for', () => {
  assert.equal(
    tf.version_core,
    PATCHED_FOR,
    'recheck backend/wasm and backend/native, then update PATCHED_FOR',
  );
  for (const pkg of ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-layers'])
    assert.equal((require(`${pkg}/package.json`) as { version: string }).version, PATCHED_FOR, pkg);
  assert.equal(patchProblem(), null);
});

test('another release, or a replaced function that is not there, is refused with the reason', () => {
  assert.match(String(patchProblem('4.23.0')), /tfjs-core 4\.23\.0 is not the 4\.22\.0/);
  const fake = { ...tf, fused: {} } as unknown as typeof tf;
  assert.match(String(patchProblem(PATCHED_FOR, fake)), /tf\.fused\.conv2d is not a function/);
});

test('a read-only tf.fused (a module namespace of a bundle, a getter) is refused, not patched', () => {
  const conv2d = () => undefined;
  const getterOnly = Object.defineProperty({}, 'conv2d', { get: () => conv2d, enumerable: true });
  const frozen = Object.freeze({ conv2d });
  const moduleLike = { conv2d, [Symbol.toStringTag]: 'Module' };
  for (const fused of [getterOnly, frozen, moduleLike]) {
    const fake = { ...tf, fused } as unknown as typeof tf;
    assert.match(String(patchProblem(PATCHED_FOR, fake)), /tf\.fused is read-only here/);
  }
  assert.equal(
    patchProblem(PATCHED_FOR, { ...tf, fused: { conv2d } } as unknown as typeof tf),
    null,
  );
});
