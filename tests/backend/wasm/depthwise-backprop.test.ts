import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu } from './compare.ts';

// [batch, h, w, channels, k, multiplier, stride, pad]
const CASES: [number, number, number, number, number, number, number, 'same' | 'valid'][] = [
  [2, 7, 7, 3, 3, 1, 1, 'same'],
  [2, 8, 8, 2, 3, 2, 2, 'same'],
  [1, 9, 7, 4, 2, 1, 2, 'valid'],
];

for (const [b, h, w, c, k, m, s, pad] of CASES) {
  test(`depthwise conv gradients (input and filter) on wasm match cpu: x ${b}×${h}×${w}×${c}, ${k}×${k}×${m}, stride ${s}, ${pad}`, async () => {
    await assertMatchesCpu({ x: { shape: [b, h, w, c] }, f: { shape: [k, k, c, m] } }, (t) => {
      const g = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, pad))),
      );
      return g([t.x, t.f]);
    });
  });
}

test('separable conv gradients on wasm match cpu (depthwise then pointwise, as SeparableConv2D)', async () => {
  await assertMatchesCpu(
    { x: { shape: [2, 6, 6, 3] }, d: { shape: [3, 3, 3, 2] }, p: { shape: [1, 1, 6, 4] } },
    (t) => {
      const g = tf.grads((x: tf.Tensor, d: tf.Tensor, p: tf.Tensor) =>
        tf.sum(
          tf.square(
            tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
          ),
        ),
      );
      return g([t.x, t.d, t.p]);
    },
  );
});
