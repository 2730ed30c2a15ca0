import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu } from './compare.ts';

// [transposeA, transposeB, activation]
const CASES: [boolean, boolean, 'linear' | 'relu'][] = [
  [false, false, 'relu'],
  [true, false, 'linear'],
  [false, true, 'relu'],
  [true, true, 'relu'],
];

for (const [ta, tb, activation] of CASES) {
  test(`_FusedMatMul matches cpu: transposeA ${ta}, transposeB ${tb}, bias, ${activation} (values and gradients)`, async () => {
    const sa = ta ? [6, 5] : [5, 6];
    const sb = tb ? [4, 6] : [6, 4];
    await assertMatchesCpu(
      { a: { shape: sa }, b: { shape: sb }, bias: { shape: [4] }, dy: { shape: [5, 4] } },
      (t) => {
        const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
          tf.fused.matMul({
            a: a as tf.Tensor2D,
            b: b as tf.Tensor2D,
            transposeA: ta,
            transposeB: tb,
            bias,
            activation,
          });
        return [f(t.a, t.b, t.bias), ...tf.grads(f)([t.a, t.b, t.bias], t.dy)];
      },
      { seed: 3 },
    );
  });
}
