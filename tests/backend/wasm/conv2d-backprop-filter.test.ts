import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu, type ConvCase, convOutSize, runKernel } from './compare.ts';

// [batch, h, w, ci, kh, kw, co, stride, pad]; kh·kw·ci ≤ 32 takes the im2col route, more the convolution route
const CASES: ConvCase[] = [
  [2, 7, 7, 1, 3, 3, 4, 1, 'valid'], // first CNN layer
  [3, 8, 8, 5, 3, 3, 6, 1, 'same'], // ResNet 3×3
  [2, 8, 8, 4, 3, 3, 8, 2, 'same'], // stride-2 3×3
  [2, 9, 9, 4, 3, 3, 8, 2, 'same'], // odd input, stride 2
  [2, 8, 8, 4, 1, 1, 8, 2, 'same'], // 1×1 stride-2 projection
  [2, 9, 7, 3, 2, 3, 5, 2, 'valid'], // non-square, trailing rows unused
  [1, 6, 6, 2, 3, 3, 3, 1, 1], // explicit pad 1
  [2, 10, 10, 3, 5, 5, 4, 3, 'same'], // stride 3, 5×5
  [2, 7, 7, 2, 3, 3, 4, 2, 'same'], // few taps (im2col route), stride 2, same
  [2, 7, 7, 4, 3, 3, 8, 1, 'valid'], // many taps (convolution route), valid
];

for (const [b, h, w, ci, kh, kw, co, s, pad] of CASES) {
  test(`Conv2DBackpropFilter matches cpu: x ${b}×${h}×${w}×${ci}, filter ${kh}×${kw}×${ci}×${co}, stride ${s}, pad ${pad}`, async () => {
    const oh = convOutSize(h, kh, s, pad);
    const ow = convOutSize(w, kw, s, pad);
    await assertMatchesCpu({ x: { shape: [b, h, w, ci] }, dy: { shape: [b, oh, ow, co] } }, (t) =>
      runKernel(
        tf.Conv2DBackpropFilter,
        { x: t.x, dy: t.dy },
        { strides: [s, s], pad, dataFormat: 'NHWC', filterShape: [kh, kw, ci, co] },
      ),
    );
  });
}

test('conv2d filter gradient through tf.grads matches cpu (the path training takes)', async () => {
  await assertMatchesCpu(
    { x: { shape: [2, 6, 6, 3] }, f: { shape: [3, 3, 3, 4] }, dy: { shape: [2, 3, 3, 4] } },
    (t) => {
      const g = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'),
      );
      return g([t.x, t.f], t.dy);
    },
  );
});
