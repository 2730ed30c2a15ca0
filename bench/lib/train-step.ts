/**
 * The project's own models on one fixed random batch, for the step benchmarks that measure uib
 * alone (bench/train-steps.ts, kernel-profile.ts, native-scaling.ts). Not the PyTorch comparison's
 * workloads (./workloads.ts): here the ResNet is the project's ResNet-18 of width 8, with SGD +
 * momentum.
 *
 *   mlp     784-256-256-10, batch 128, Adam
 *   cnn     conv3x3·32 → pool → conv3x3·64 → pool → dense128 → dense10, 28×28×1, batch 128, Adam
 *   resnet  ResNet-18 CIFAR-style, width 8 (8/16/32/64), 28×28×1, batch 64, SGD + momentum
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, type ModelSpec } from '../../src/models/index.ts';
import { fixedBatchStep } from '../../src/train/step.ts';

export type StepOptimizer = 'adam' | 'sgd-momentum';

export interface ModelStepWorkload {
  id: 'mlp' | 'cnn' | 'resnet';
  spec: ModelSpec;
  batch: number;
  optimizer: StepOptimizer;
}

export const MODEL_STEP_WORKLOADS: ModelStepWorkload[] = [
  {
    id: 'mlp',
    spec: { arch: 'mlp', inputShape: [28, 28, 1], numClasses: 10, hidden: [256, 256], seed: 1 },
    batch: 128,
    optimizer: 'adam',
  },
  {
    id: 'cnn',
    spec: { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 1 },
    batch: 128,
    optimizer: 'adam',
  },
  {
    id: 'resnet',
    spec: { arch: 'resnet18', inputShape: [28, 28, 1], numClasses: 10, width: 8, seed: 1 },
    batch: 64,
    optimizer: 'sgd-momentum',
  },
];

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
export function setUpStep(w: ModelStepWorkload, optimizer: StepOptimizer = w.optimizer): StepSetup {
  const model = buildModel(w.spec);
  const opt = optimizer === 'adam' ? tf.train.adam(1e-3) : tf.train.momentum(0.01, 0.9);
  const x = tf.randomNormal([w.batch, ...w.spec.inputShape], 0, 1, 'float32', 7);
  const y = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([w.batch], 0, w.spec.numClasses, 'int32', 8), w.spec.numClasses),
  );
  return {
    model,
    step: fixedBatchStep(model, x, y, opt),
    dispose() {
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    },
  };
}
