/**
 * Loss and evaluation on logits. `evaluate` runs the model in inference mode over a dataset in
 * batches, each in its own `tidy`, so it holds at most one batch of tensors at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.ts';
import { describeModel } from '../models/describe.ts';
import type { CostCounter } from './cost.ts';

/** Softmax cross-entropy of logits `[b, k]` against integer labels `[b]`: the batch mean. */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar;
/** ... or one value per example with `reduction: 'none'`. */
export function softmaxCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor1D,
  reduction: 'none',
): tf.Tensor1D;
export function softmaxCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor1D,
  reduction: 'mean' | 'none' = 'mean',
): tf.Tensor {
  return tf.tidy(() => {
    const k = logits.shape[logits.shape.length - 1] as number;
    const y = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
    const perExample = tf.neg(tf.sum(tf.mul(tf.oneHot(y, k), tf.logSoftmax(logits)), -1));
    return reduction === 'mean' ? tf.mean(perExample) : perExample;
  });
}

// Output activation per model, read off its graph once.
const outputActivations = new WeakMap<LayersModel, string>();

/**
 * Logits of `x` in inference mode (BatchNorm uses its moving statistics). A model of the user's
 * own that ends in softmax gives log p (whose softmax is p again), one sigmoid unit
 * [log(1 − p), log p]: evaluation never applies a second softmax to probabilities.
 */
export function predictLogits(model: LayersModel, x: tf.Tensor): tf.Tensor {
  let act = outputActivations.get(model);
  if (act === undefined) {
    act = describeModel(model).outputActivation;
    outputActivations.set(model, act);
  }
  if (act === 'linear') return model.apply(x, { training: false }) as tf.Tensor;
  return tf.tidy(() => {
    const y = model.apply(x, { training: false }) as tf.Tensor;
    // p below 1e-30 (float32 rounding of a confident softmax) counts as 1e-30: −69 nats.
    const log = (p: tf.Tensor) => tf.log(tf.maximum(p, 1e-30));
    return act === 'sigmoid' ? tf.concat([log(tf.sub(1, y)), log(y)], -1) : log(y);
  });
}

export interface EvalResult {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction correct, in 0..1. */
  accuracy: number;
  n: number;
  /** Softmax probabilities, sample-major `[n, k]`, when asked for. */
  probs?: Float32Array;
}

export interface EvalOptions {
  /** Keep the softmax probabilities (`[n, k]`). */
  probs?: boolean;
  cost?: CostCounter;
  /** Set name for the cost counter (default: the dataset's name). */
  set?: string;
}

export async function evaluate(
  model: LayersModel,
  dataset: Dataset,
  batchSize = 256,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const n = dataset.length;
  const k = dataset.numClasses;
  const probs = opts.probs ? new Float32Array(n * k) : undefined;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const positions = Uint32Array.from({ length: end - start }, (_, i) => start + i);
    const out = tf.tidy(() => {
      const { xs, ys } = dataset.tensors(positions);
      const logits = predictLogits(model, xs);
      const loss = tf.sum(softmaxCrossEntropy(logits, ys, 'none'));
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'float32'));
      return {
        stats: tf.stack([loss, hits]),
        probs: opts.probs ? tf.softmax(logits) : tf.scalar(0),
      };
    });
    const [l, c] = await out.stats.data();
    lossSum += l;
    correct += c;
    if (probs) probs.set(await out.probs.data(), start * k);
    tf.dispose([out.stats, out.probs]);
    opts.cost?.addForward(end - start, opts.set ?? dataset.name);
  }
  return { loss: n ? lossSum / n : Number.NaN, accuracy: n ? correct / n : Number.NaN, n, probs };
}
