/**
 * The pieces of the ascent methods' guard (src/unlearn/methods/common.ts), against brute force:
 * the capped mean that bounds GA's, NegGrad+'s and SCRUB's ascended loss, and the clone that a
 * failed run frees.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { buildModel } from '../../src/models/index.ts';
import { capMean, disposeOnThrow } from '../../src/unlearn/methods/common.ts';

const ready = initBackend(process.env.UIB_BACKEND ?? 'wasm');

test('capMean is the mean of min(x_i, c); capped samples pass no gradient', async () => {
  await ready;
  const x = [0.2, 3, 0.9, 7.5, 1];
  const c = 1;
  const want = x.reduce((s, v) => s + Math.min(v, c), 0) / x.length;
  const xt = tf.tensor1d(x);
  const got = capMean(xt, c);
  assert.ok(Math.abs(got.dataSync()[0] - want) < 1e-6, `${got.dataSync()[0]} vs ${want}`);
  // d/dx_i = 1/n below the cap, 0 above it (at the cap either is a valid subgradient).
  const g = tf.grad((v: tf.Tensor) => capMean(v as tf.Tensor1D, c))(xt);
  const gv = Array.from(g.dataSync());
  assert.deepEqual(gv.slice(0, 4), [0.2, 0, 0.2, 0].map(Math.fround));
  tf.dispose([xt, got, g]);
});

test('capMean keeps a NaN or infinite loss visible (NaN), so the loop guard still fires', async () => {
  await ready;
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const v = capMean(tf.tensor1d([0.5, bad, 2]), 1);
    assert.ok(Number.isNaN(v.dataSync()[0]), `capMean with ${bad} gave ${v.dataSync()[0]}`);
    v.dispose();
  }
});

test('disposeOnThrow frees the model when the run throws, and returns its value otherwise', async () => {
  await ready;
  const spec = {
    arch: 'mlp' as const,
    hidden: [4],
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 1,
  };
  const n0 = tf.memory().numTensors;
  const failing = buildModel(spec);
  await assert.rejects(
    disposeOnThrow(failing, async () => {
      throw new Error('diverged');
    }),
    /diverged/,
  );
  assert.equal(tf.memory().numTensors, n0, 'the failed run left its model behind');
  const fine = buildModel(spec);
  assert.equal(await disposeOnThrow(fine, async () => 42), 42);
  assert.ok(tf.memory().numTensors > n0, 'a successful run must keep its model');
  fine.dispose();
  assert.equal(tf.memory().numTensors, n0);
});
