import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu, type ConvCase, convOutSize, runKernel } from './compare.ts';

// [batch, h, w, ci, kh, kw, co, stride, pad]; stride 1 takes the forward-convolution route, more col2im
const CASES: ConvCase[] = [
  [2, 7, 7, 1, 3, 3, 4, 1, 'valid'], // first CNN layer
  [2, 6, 6, 5, 3, 3, 6, 1, 'same'], // ResNet 3×3
  [2, 8, 8, 4, 3, 3, 8, 2, 'same'], // stride-2 3×3
  [2, 9, 9, 4, 3, 3, 8, 2, 'same'], // odd input, stride 2
  [2, 8, 8, 4, 1, 1, 8, 2, 'same'], // 1×1 stride-2 projection
  [2, 9, 7, 3, 2, 3, 5, 2, 'valid'], // non-square, trailing rows unused
  [1, 6, 6, 2, 3, 3, 3, 1, 2], // explicit pad 2
  [2, 5, 8, 3, 2, 4, 2, 1, 'same'], // even filter, asymmetric same padding
  [2, 10, 10, 3, 5, 5, 4, 3, 'same'], // stride 3, 5×5
];

for (const [b, h, w, ci, kh, kw, co, s, pad] of CASES) {
  test(`Conv2DBackpropInput matches cpu: x ${b}×${h}×${w}×${ci}, filter ${kh}×${kw}×${ci}×${co}, stride ${s}, pad ${pad}`, async () => {
    const dyShape = [b, convOutSize(h, kh, s, pad), convOutSize(w, kw, s, pad), co];
    await assertMatchesCpu({ dy: { shape: dyShape }, filter: { shape: [kh, kw, ci, co] } }, (t) =>
      runKernel(
        tf.Conv2DBackpropInput,
        { dy: t.dy, filter: t.filter },
        { strides: [s, s], pad, dataFormat: 'NHWC', inputShape: [b, h, w, ci] },
      ),
    );
  });
}

test('conv2d input gradient and conv2dTranspose match cpu', async () => {
  await assertMatchesCpu(
    { x: { shape: [2, 6, 6, 3] }, f: { shape: [3, 3, 3, 4] }, dy: { shape: [2, 6, 6, 4] } },
    (t) => {
      const [dx] = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'),
      )([t.x, t.f], t.dy);
      const up = tf.conv2dTranspose(
        t.dy as tf.Tensor4D,
        t.f as tf.Tensor4D,
        [2, 12, 12, 3],
        2,
        'same',
      );
      return [dx, up];
    },
  );
});
