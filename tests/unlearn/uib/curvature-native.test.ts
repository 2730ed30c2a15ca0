/**
 * The diagonal Fisher and gradient of the convolution layers on the wasm backend, on each route
 * (wasm kernels alone: patches unfolded in tfjs; native: the squared per-example filter gradients
 * summed in one call, and the filter gradient from Conv2DBackpropFilter) against a loop of
 * single-example gradients.
 */

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.ts';
import { nativeConvSquaredGrad } from '../../../src/backend/native/conv-squared-grad.ts';
import { useNativeKernels } from '../../../src/backend/native/route.ts';
import { buildModel } from '../../../src/models/index.ts';
import { nativeRoutes } from '../../backend/native/routes.ts';
import { checkAgainstBrute, synthetic, tinyCnn } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});
const { addon, routes } = nativeRoutes();

for (const route of routes) {
  test(`${route.name}: conv layers' gradient and diagonal Fisher exact (strided/same, valid, 3×3·32)`, () => {
    useNativeKernels(route.native);
    addon?.setThreads(route.threads, 0);
    // The route really is the one named: the native call answers only on the native route.
    const probe = tf.tidy(() =>
      nativeConvSquaredGrad(
        tf.ones([2, 5, 5, 2]),
        tf.ones([2, 5, 5, 3]),
        [3, 3, 2, 3],
        [1, 1],
        'same',
        [1, 1],
      ),
    );
    assert.equal(probe !== undefined, route.native);
    probe?.dispose();
    const before = tf.memory().numTensors;
    const small = tinyCnn(2);
    checkAgainstBrute(small, synthetic(11, [6, 6, 2], 3, 5), 4);
    small.dispose();
    const cnn = buildModel({ arch: 'cnn', inputShape: [12, 12, 1], numClasses: 3, seed: 1 });
    checkAgainstBrute(cnn, synthetic(5, [12, 12, 1], 3, 9), 3);
    cnn.dispose();
    tf.disposeVariables();
    if (tf.memory().numTensors !== before) throw new Error('tensors leaked');
  });
}
