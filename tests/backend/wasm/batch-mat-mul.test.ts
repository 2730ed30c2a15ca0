import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu } from './compare.ts';

// [a shape, b shape, transposeA, transposeB]
const CASES: [number[], number[], boolean, boolean][] = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false], // a dense layer's weight gradient, xᵀ·dy
  [[5, 7], [3, 7], false, true], // a dense layer's input gradient, dy·Wᵀ
  [[7, 5], [3, 7], true, true],
  [[2, 4, 6], [2, 6, 3], false, false],
  [[2, 6, 4], [2, 3, 6], true, true], // batched
  [[3, 1, 5, 4], [3, 1, 2, 4], false, true], // rank 4
];

for (const [sa, sb, ta, tb] of CASES) {
  test(`BatchMatMul matches cpu: ${JSON.stringify(sa)}·${JSON.stringify(sb)}, transposeA ${ta}, transposeB ${tb} (values and gradients)`, async () => {
    const outShape = [
      ...(sa.length >= sb.length ? sa : sb).slice(0, -2),
      ta ? sa.at(-1)! : sa.at(-2)!,
      tb ? sb.at(-2)! : sb.at(-1)!,
    ];
    await assertMatchesCpu({ a: { shape: sa }, b: { shape: sb }, dy: { shape: outShape } }, (t) => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
      return [f(t.a, t.b), ...tf.grads(f)([t.a, t.b], t.dy)];
    });
  });
}

test('BatchMatMul with a broadcast batch dimension matches cpu (values)', async () => {
  await assertMatchesCpu({ a: { shape: [2, 6, 4] }, b: { shape: [1, 6, 3] } }, (t) =>
    tf.matMul(t.a, t.b, true, false),
  );
});
