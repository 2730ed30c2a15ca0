import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu } from './compare.ts';

// [batch, h, w, c, filter, stride, pad]
const CASES: [number, number, number, number, number, number, 'valid' | 'same'][] = [
  [2, 8, 8, 3, 2, 2, 'valid'], // the CNN's pools
  [2, 7, 7, 4, 2, 2, 'valid'], // odd side: last row/column dropped
  [1, 7, 5, 2, 3, 2, 'same'], // overlapping windows, padding
  [2, 6, 6, 5, 3, 1, 'same'], // stride 1: a pixel is the max of several windows
];

for (const [b, h, w, c, f, s, pad] of CASES) {
  test(`MaxPoolGrad matches cpu through tf.grad: ${b}×${h}×${w}×${c}, pool ${f}, stride ${s}, ${pad}`, async () => {
    const oh = pad === 'valid' ? Math.ceil((h - f + 1) / s) : Math.ceil(h / s);
    const ow = pad === 'valid' ? Math.ceil((w - f + 1) / s) : Math.ceil(w / s);
    await assertMatchesCpu({ x: { shape: [b, h, w, c] }, dy: { shape: [b, oh, ow, c] } }, (t) =>
      tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, f, s, pad))(t.x, t.dy),
    );
  });
}

test('MaxPoolGrad: ties go to the first maximum of the window, as on cpu', async () => {
  const values = [1, 1, 0, 3, 2, 3, 3, 3, 5, 5, 5, 5, 0, 0, 0, 0];
  await assertMatchesCpu({ x: { shape: [1, 4, 4, 1], values }, dy: { shape: [1, 2, 2, 1] } }, (t) =>
    tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'))(t.x, t.dy),
  );
});
