/**
 * The same numbers as Node: with the cpu backend and the same seed, UIB-IF on a tiny case run by
 * the browser bundle in Chromium gives the weights Node gets from the same function (web/run.ts)
 * to 1e-5.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { parseMnistSubset, TINY } from '../../web/run.ts';
import { ensureBuilt, selftest, serve, withPage } from './page.ts';

// An MLP: the cpu backend's pure-JS convolutions would take minutes; UIB-IF's code path is the same.
const MICRO = { ...TINY, trainSize: 200, testSize: 100, epochs: 2, arch: 'mlp' as const };

test('UIB-IF on cpu: browser weights equal Node weights to 1e-5', {
  timeout: 120_000,
}, async () => {
  ensureBuilt();
  const server = await serve();
  let browser: Float32Array;
  try {
    browser = await withPage(server.url, async (page, log) => {
      await selftest(
        page,
        `${server.url}/index.html?selftest&backend=cpu&train=${MICRO.trainSize}&test=${MICRO.testSize}&epochs=${MICRO.epochs}&arch=mlp`,
        60_000,
      );
      assert.deepEqual(log.errors, []);
      return Float32Array.from(
        await page.evaluate(() =>
          Array.from((window as unknown as { __uibWeights: Float32Array }).__uibWeights),
        ),
      );
    });
  } finally {
    server.stop();
  }
  await initBackend('cpu');
  const { runDeletion } = await import('../../web/run.ts');
  const bytes = fs.readFileSync(
    path.join(import.meta.dirname, '..', '..', 'web', 'dist', 'mnist-subset.bin'),
  );
  const { model, original } = await runDeletion(parseMnistSubset(new Uint8Array(bytes)), MICRO);
  const node = tf.tidy(() =>
    tf.concat(model.getWeights().map((w) => tf.reshape(w, [-1]))).dataSync(),
  );
  model.dispose();
  original.dispose();
  assert.equal(browser.length, node.length);
  let worst = 0;
  for (let i = 0; i < node.length; i++) worst = Math.max(worst, Math.abs(browser[i] - node[i]));
  console.log(`max |browser − node| over ${node.length} weights: ${worst}`);
  assert.ok(worst <= 1e-5, `max weight difference ${worst} > 1e-5`);
});
