/**
 * One plain optimiser step on a fixed batch (for tests): forward, softmax cross-entropy on the logits, backward,
 * update. Not for training (that is loop.ts); it is the unit that kernel checks compare across
 * backends and that the throughput benchmarks time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** A step function on `x` and one-hot `y`; each call updates `model` and returns the loss before. */
export function fixedBatchStep(
  model: LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  optimizer: tf.Optimizer,
): () => number {
  return () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
      );
      optimizer.applyGradients(grads);
      // Reading the loss also waits for the step to finish (asynchronous backends).
      return value.dataSync()[0];
    });
}
