/**
 * Standard supervised training: mean softmax cross-entropy on one shuffled `train` stream,
 * through `trainLoop`. `uib train` and Retrain use it; `defaultRecipe` holds the per-architecture
 * defaults that reach the accuracy targets on a 10k MNIST subset.
 */

import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DivergenceError, UsageError } from '../core/errors.ts';
import { rngFor } from '../core/rng.ts';
import type { Dataset } from '../data/dataset.ts';
import { describeModel } from '../models/describe.ts';
import type { Architecture } from '../models/types.ts';
import { modelWeightsProblem, weightScale } from '../models/weight-guard.ts';
import { softmaxCrossEntropy } from './evaluate.ts';
import { trainLoop } from './loop.ts';
import type { LoopOptions, LoopResult, TrainRecipe } from './types.ts';

/** Adam + cosine decay: a few epochs reach ≥ 97 % (CNN) / ≥ 96 % (MLP) on a 10k MNIST subset. */
export function defaultRecipe(arch: Architecture, seed = 0): TrainRecipe {
  switch (arch) {
    case 'mlp':
      // The MLP overfits 10k samples within a few epochs; AdamW decay buys it ~0.5 % test accuracy.
      return {
        optimizer: { name: 'adam', lr: 2e-3, schedule: 'cosine', weightDecay: 0.1 },
        epochs: 10,
        batchSize: 64,
        seed,
      };
    case 'cnn':
      return {
        optimizer: { name: 'adam', lr: 1e-3, schedule: 'cosine' },
        epochs: 4,
        batchSize: 64,
        seed,
      };
    case 'resnet18':
      return {
        optimizer: {
          name: 'adam',
          lr: 2e-3,
          schedule: 'cosine',
          weightDecay: 5e-4,
          warmupSteps: 50,
        },
        epochs: 4,
        batchSize: 64,
        seed,
      };
  }
}

export function validateRecipe(recipe: TrainRecipe, where = 'recipe'): void {
  if (!Number.isFinite(recipe.epochs) || recipe.epochs <= 0) {
    throw new UsageError(`${where}.epochs`, `must be a positive number; got ${recipe.epochs}`);
  }
  if (!Number.isInteger(recipe.batchSize) || recipe.batchSize < 1) {
    throw new UsageError(
      `${where}.batchSize`,
      `must be a positive integer; got ${recipe.batchSize}`,
    );
  }
  if (!(Number.isFinite(recipe.optimizer.lr) && recipe.optimizer.lr > 0)) {
    throw new UsageError(
      `${where}.optimizer.lr`,
      `must be a positive number; got ${recipe.optimizer.lr}`,
    );
  }
}

/** Extra loop options a caller of `trainModel` may set. */
export type TrainModelOptions = Partial<
  Pick<
    LoopOptions,
    | 'rng'
    | 'cost'
    | 'label'
    | 'quiet'
    | 'onEpochEnd'
    | 'penalties'
    | 'masks'
    | 'variables'
    | 'guard'
    | 'clipGradNorm'
  >
>;

/**
 * Train `model` in place on `train` with `recipe`; shuffling is seeded by `recipe.seed`. Ends in a
 * DivergenceError when a weight became non-finite or left the bound around its starting scale
 * (models/weight-guard.ts), which the loss guard alone does not catch.
 */
export async function trainModel(
  model: LayersModel,
  train: Dataset,
  recipe: TrainRecipe,
  opts: TrainModelOptions = {},
): Promise<LoopResult> {
  validateRecipe(recipe);
  const { outputActivation } = describeModel(model);
  // Training here is softmax cross-entropy on logits; a softmax after them would be a second one.
  if (outputActivation !== 'linear')
    throw new UsageError(
      'model',
      `ends in ${outputActivation}; trainModel trains on logits: train logitsTwin(model) and restoreOutputActivation after`,
    );
  const start = weightScale(model);
  const result = await trainLoop({
    ...opts,
    model,
    streams: { train: { data: train, batchSize: recipe.batchSize } },
    epochOver: 'train',
    epochs: recipe.epochs,
    optimizer: recipe.optimizer,
    rng: opts.rng ?? rngFor(recipe.seed, 'train', 'shuffle'),
    loss: (b) =>
      softmaxCrossEntropy(model.apply(b.train.x, { training: true }) as tf.Tensor, b.train.y),
  });
  const problem = modelWeightsProblem(model, start);
  if (problem) throw new DivergenceError(`${opts.label ?? 'training'}: ${problem}`);
  return result;
}
