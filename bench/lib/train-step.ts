/**
 * The training steps of `npm run bench` (./workloads.ts: the same models, batches and optimiser)
 * on one fixed random batch, for the benchmarks that measure uib alone (bench/train-steps.ts,
 * kernel-profile.ts, native-scaling.ts). A step is trainLoop's (src/train/loop.ts) without its
 * data pipeline: the gradient tape, the one read of the loss and squared gradient norm, and
 * `MaskedOptimizer`.
 *
 *   mlp     784-256-256-10, batch 128, Adam
 *   cnn     conv3x3·32 → pool → conv3x3·64 → pool → dense128 → dense10, 28×28×1, batch 128, Adam
 *   resnet  narrow ResNet, blocks 16/32/64 with BatchNorm (./narrow-resnet.ts), batch 64, Adam
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { trainableVariables } from '../../src/train/loop.ts';
import { MaskedOptimizer } from '../../src/train/optimizer.ts';
import { STEP_WORKLOADS, type StepWorkload } from './workloads.ts';

export type ModelStepWorkload = StepWorkload;

export const MODEL_STEP_WORKLOADS: ModelStepWorkload[] = Object.values(STEP_WORKLOADS);

/** The workload named `id`; an unknown id is an Error listing the known ones. */
export function modelStepWorkload(id: string): ModelStepWorkload {
  const w = MODEL_STEP_WORKLOADS.find((x) => x.id === id);
  if (w === undefined)
    throw new Error(`unknown model ${id}; one of ${MODEL_STEP_WORKLOADS.map((x) => x.id)}`);
  return w;
}

export interface StepSetup {
  model: tfl.LayersModel;
  /** One training step on the fixed batch; returns the loss. */
  step: () => number;
  dispose(): void;
}

/** `w`'s model, optimiser and fixed random batch (seeded) on the current backend. */
export function setUpStep(w: ModelStepWorkload): StepSetup {
  const model = w.build(1);
  const variables = trainableVariables(model);
  const optimizer = new MaskedOptimizer(w.optimizer, variables);
  const x = tf.randomNormal([w.batch, ...w.inputShape], 0, 1, 'float32', 7);
  const y = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([w.batch], 0, w.numClasses, 'int32', 8), w.numClasses),
  );
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.losses.softmaxCrossEntropy(
          y,
          model.apply(x, { training: true }) as tf.Tensor,
        ) as tf.Scalar,
      variables,
    );
    // trainLoop's one read per step: the loss and the squared global gradient norm together.
    const stats = tf.tidy(() => {
      const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
      return tf.stack([value, tf.addN(sq)]);
    });
    const loss = stats.dataSync()[0];
    stats.dispose();
    optimizer.apply(grads, w.optimizer.lr);
    value.dispose();
    tf.dispose(Object.values(grads));
    return loss;
  };
  return {
    model,
    step,
    dispose() {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
