/**
 * The one place evaluation runs a model: a batched forward pass in inference mode, softmax over the
 * logits, copied into plain arrays the metric functions read. Every batch's tensors are freed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.ts';
import { predictLogits } from '../train/evaluate.ts';
import { argmaxRows } from './accuracy.ts';
import type { SetPredictions } from './types.ts';

export interface PredictOptions {
  /** Samples per forward pass (default 512). */
  batchSize?: number;
}

/**
 * Softmax probabilities of `model` (which outputs logits `[b, numClasses]`) on every sample of
 * `data`, with the labels, argmax predictions and the view's bias / group attributes if its source
 * has them.
 */
export async function predictSet(
  model: LayersModel,
  data: Dataset,
  opts: PredictOptions = {},
): Promise<SetPredictions> {
  const batchSize = opts.batchSize ?? 512;
  const k = data.numClasses;
  const n = data.length;
  const probs = new Float32Array(n * k);
  for (const positions of data.batches(batchSize)) {
    const { xs, ys } = data.tensors(positions);
    const p = tf.tidy(() => {
      const logits = predictLogits(model, xs); // inference mode: BatchNorm uses moving stats
      return tf.softmax(tf.reshape(logits, [positions.length, -1]));
    });
    xs.dispose();
    ys.dispose();
    try {
      const values = (await p.data()) as Float32Array;
      if (values.length !== positions.length * k) {
        throw new Error(
          `predictSet: model outputs ${values.length / positions.length} values per sample; ${data.name} has ${k} classes`,
        );
      }
      probs.set(values, positions[0] * k);
    } finally {
      p.dispose();
    }
  }
  const out: SetPredictions = {
    probs,
    numClasses: k,
    labels: data.labels(),
    predicted: argmaxRows(probs, k),
  };
  const { bias, group } = data.source.meta;
  if (bias) out.bias = Uint8Array.from({ length: n }, (_, i) => bias[data.at(i)]);
  if (group) out.group = Uint8Array.from({ length: n }, (_, i) => group[data.at(i)]);
  return out;
}

/**
 * The model's trainable parameters as flat arrays, in layer order (what `weight-l2` compares).
 * Batch-norm running statistics are not parameters and are left out.
 */
export function flatWeights(model: LayersModel): Float32Array[] {
  // `read()` returns the variable's own tensor: copy its values, never dispose it.
  return model.trainableWeights.map((w) => Float32Array.from(w.read().dataSync()));
}
