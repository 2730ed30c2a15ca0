import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.ts';
import { assertMatchesCpu } from './compare.ts';

test('UnsortedSegmentSum matches cpu: 1-D, 2-D and 3-D data, repeated and empty segments', async () => {
  await assertMatchesCpu(
    {
      x1: { shape: [6] },
      ids1: { shape: [6], dtype: 'int32', values: [0, 2, 2, 0, 1, 2] },
      x2: { shape: [5, 3] },
      ids2: { shape: [5], dtype: 'int32', values: [3, 0, 3, 3, 1] }, // segment 2 empty
      x3: { shape: [4, 2, 3] },
      ids3: { shape: [4], dtype: 'int32', values: [1, 1, 0, 1] },
    },
    (t) => [
      tf.unsortedSegmentSum(t.x1, t.ids1 as tf.Tensor1D, 3),
      tf.unsortedSegmentSum(t.x2, t.ids2 as tf.Tensor1D, 5),
      tf.unsortedSegmentSum(t.x3, t.ids3 as tf.Tensor1D, 2),
    ],
  );
});

test('UnsortedSegmentSum sums int32 data exactly', async () => {
  await initBackend('wasm');
  const out = tf.tidy(() =>
    tf.unsortedSegmentSum(
      tf.tensor1d([1, 2, 3, 4], 'int32'),
      tf.tensor1d([1, 0, 1, 1], 'int32'),
      2,
    ),
  );
  assert.equal(out.dtype, 'int32');
  assert.deepEqual(Array.from(out.dataSync()), [2, 8]);
  out.dispose();
});

test("gather gradient (UnsortedSegmentSum) matches cpu: picking each sample's label logit", async () => {
  await assertMatchesCpu(
    { logits: { shape: [4, 5] }, labels: { shape: [4], dtype: 'int32', values: [1, 4, 1, 0] } },
    (t) => {
      const flatIdx = tf.add(tf.mul(tf.range(0, 4, 1, 'int32'), tf.scalar(5, 'int32')), t.labels);
      const f = (l: tf.Tensor) =>
        tf.sum(tf.mul(tf.gather(tf.reshape(l, [-1]), flatIdx), tf.tensor1d([1, 2, 3, 4])));
      return tf.grad(f)(t.logits);
    },
  );
});
